// SPDX-License-Identifier: Apache-2.0
// Paths and helpers shared by the broker tests: where the build put the
// shim and the plugins, and leak checks for descriptors and children.
#pragma once

#include <thread>

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <bulkhead/host.hpp>

#include "../proc_support.hpp"

namespace bulkhead::test {

inline std::string plugin(const char *name)
{
	// The example plugins are built in shim/, the test ones in tests/plugins.
	const std::string_view n = name;
	std::string dir = n == "faulty" || n == "chatty" ? BULKHEAD_TEST_FAULTY_DIR
							 : BULKHEAD_TEST_PLUGIN_DIR;
	return dir + "/bulkhead-plugin-" + name + ".so";
}

inline HostOptions options(std::string shim = BULKHEAD_TEST_SHIM)
{
	HostOptions o;
	o.shim_path = std::move(shim);
	o.development_mode = true; // these tests load bare .so files
	// Crash tests look at the dead instance; supervision_test restarts.
	o.restart.enabled = false;
	return o;
}

inline int open_fds()
{
	int n = 0;
	if (DIR *d = ::opendir("/proc/self/fd")) {
		while (::readdir(d))
			++n;
		::closedir(d);
	}
	return n;
}

// True when this process has no child at all, running or zombie.
inline bool no_children()
{
	siginfo_t info{};
	return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

// This process's children, running or zombie, from /proc.
inline std::vector<pid_t> children()
{
	std::vector<pid_t> out;
	DIR *d = ::opendir("/proc");
	if (!d)
		return out;
	while (auto *e = ::readdir(d)) {
		const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
		if (pid <= 0)
			continue;
		if (parent_of(pid) == ::getpid())
			out.push_back(pid);
	}
	::closedir(d);
	return out;
}

// The descriptor numbers open in process `pid`.
inline std::set<int> open_fds_of(pid_t pid)
{
	std::set<int> out;
	if (DIR *d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
		while (auto *e = ::readdir(d))
			if (e->d_name[0] != '.')
				out.insert(std::atoi(e->d_name));
		::closedir(d);
	}
	return out;
}

// True when `pid` is an idle spare shim (broker/spare_shim.hpp): started
// as `bulkhead-shim --spare` and holding only stdio, its control socket
// and its lifeline — nothing of any plugin.
inline bool idle_spare(pid_t pid)
{
	const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
	const std::string tail = std::string("\0--spare\0", 9);
	return cmdline.size() > tail.size() &&
	       cmdline.compare(cmdline.size() - tail.size(), tail.size(), tail) == 0 &&
	       open_fds_of(pid) == std::set<int>{0, 1, 2, 3, 7};
}

// The children of a live host once its plugins are gone: none, or the one
// idle spare shim it keeps for the next start.
inline bool no_children_but_a_spare()
{
	const auto left = children();
	return left.empty() || (left.size() == 1 && idle_spare(left.front()));
}

// Polls `done` every 5 ms for up to 10 s: for what happens on another
// thread or process. Not a timing assertion: the bound only ends a hang.
template <typename F>
bool eventually(F done)
{
	for (auto until = Clock::now() + std::chrono::seconds(10); Clock::now() < until;
	     std::this_thread::sleep_for(std::chrono::milliseconds(5)))
		if (done())
			return true;
	return done();
}

} // namespace bulkhead::test

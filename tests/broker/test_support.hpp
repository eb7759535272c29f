// SPDX-License-Identifier: Apache-2.0
// Paths and helpers shared by the broker tests: where the build put the
// shim and the plugins, and leak checks for descriptors and children.
#pragma once

#include <thread>

#include <cerrno>
#include <dirent.h>
#include <string>
#include <sys/wait.h>

#include <bulkhead/host.hpp>

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

// SPDX-License-Identifier: Apache-2.0
// Shared by the hostile-plugin suite: where the hostile plugins are, a host
// with the default sandbox, the verdict checks, the leak checks (process,
// cgroup, mount, descriptor) and visible skips (exit 77 when all skipped).
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include <bulkhead/host.hpp>

#include "../proc_support.hpp"

namespace bulkhead::test {

using namespace std::chrono_literals;

inline std::string hostile(const char *name = "hostile")
{
	return std::string(BULKHEAD_TEST_SANDBOX_DIR) + "/bulkhead-plugin-" + name + ".so";
}

inline HostOptions options()
{
	HostOptions o;
	o.shim_path = BULKHEAD_TEST_SHIM;
	o.development_mode = true; // the hostile plugins are bare .so files
	return o;
}

inline constexpr bool kAsan =
#if defined(__SANITIZE_ADDRESS__)
	true;
#else
	false;
#endif

// Visible skips. doctest has no skip at run time, so the suite keeps its
// own record: each SANDBOX_SKIP names its test case and reason, and
// run_suite() exits 77 (meson's SKIP) when every case that ran skipped. A
// case that may skip gets a meson test of its own (tests/sandbox/meson.build
// runs it alone with --test-case), so a skip is never counted as a pass.
struct Skip {
	std::string test_case;
	std::string reason;
};
inline std::vector<Skip> skips;
inline std::set<std::string> cases_run;
inline std::string current_case;

class SkipListener : public doctest::IReporter {
public:
	explicit SkipListener(const doctest::ContextOptions &) {}
	void report_query(const doctest::QueryData &) override {}
	void test_run_start() override {}
	void test_run_end(const doctest::TestRunStats &) override {}
	void test_case_start(const doctest::TestCaseData &d) override
	{
		current_case = d.m_name;
		cases_run.insert(current_case);
	}
	void test_case_reenter(const doctest::TestCaseData &) override {}
	void test_case_end(const doctest::CurrentTestCaseStats &) override {}
	void test_case_exception(const doctest::TestCaseException &) override {}
	void subcase_start(const doctest::SubcaseSignature &) override {}
	void subcase_end() override {}
	void log_assert(const doctest::AssertData &) override {}
	void log_message(const doctest::MessageData &) override {}
	void test_case_skipped(const doctest::TestCaseData &) override {}
};
REGISTER_LISTENER("bulkhead-skips", 1, SkipListener);

// Records a skip of the current test case; the caller returns (or, in a
// loop over independent attempts, moves on to the next).
inline void skip(const std::string &reason)
{
	skips.push_back({current_case, reason});
	MESSAGE("SKIP: " << reason);
	std::fprintf(stderr, "SKIP: %s: %s\n", current_case.c_str(), reason.c_str());
}

// A missing kernel feature: say so, loudly, and leave the case (never a pass).
#define SANDBOX_SKIP(reason)                                                           \
	do {                                                                           \
		::bulkhead::test::skip(reason);                                        \
		return;                                                                \
	} while (0)

inline int count_entries(const char *dir)
{
	int n = 0;
	if (DIR *d = ::opendir(dir)) {
		while (::readdir(d))
			++n;
		::closedir(d);
	}
	return n;
}

inline int count_lines(const char *path)
{
	std::ifstream in(path);
	std::string line;
	int n = 0;
	while (std::getline(in, line))
		++n;
	return n;
}

inline bool no_children()
{
	siginfo_t info{};
	return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

inline std::string text(const Bytes &b) { return std::string(b.begin(), b.end()); }

// A sandboxed shim's processes, seen from the plugin process `plugin`: it,
// its parent (the spawned process that mirrors it) and that one's other
// child (pid 1 of the plugin's namespace).
inline std::vector<pid_t> shim_processes(pid_t plugin)
{
	std::vector<pid_t> tree = {plugin};
	const pid_t mirror =
		std::atoi(field(slurp("/proc/" + std::to_string(plugin) + "/status"), "PPid").c_str());
	if (mirror <= 0)
		return tree;
	tree.push_back(mirror);
	const std::string m = std::to_string(mirror);
	std::istringstream children(slurp("/proc/" + m + "/task/" + m + "/children"));
	for (pid_t child; children >> child;)
		if (child != plugin)
			tree.push_back(child);
	return tree;
}

// Not running and not a zombie: reaped by the shim's own processes, not
// left to the host's init.
inline bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Snapshots the host's descriptors and mounts; check() asserts that
// nothing of a sandboxed plugin is left once its host is gone.
class Leaks {
public:
	Leaks() : fds_(count_entries("/proc/self/fd")), mounts_(count_lines("/proc/self/mountinfo")) {}

	void check(const sandbox::SandboxReport &report) const
	{
		CHECK(count_entries("/proc/self/fd") == fds_);
		CHECK(count_lines("/proc/self/mountinfo") == mounts_);
		CHECK(no_children());
		for (const auto &c : report.cgroups) {
			INFO("cgroup " << c);
			CHECK(::access(c.c_str(), F_OK) != 0);
		}
	}

private:
	int fds_, mounts_;
};

// One host, one hostile plugin, and the clean-up check at the end.
struct Sandboxed {
	explicit Sandboxed(HostOptions o = options(), LoadOptions load = {},
			   const std::string &plugin = hostile())
		: host(std::move(Host::create(std::move(o)).value()))
	{
		auto p = host->load(plugin, std::move(load));
		REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
		this->plugin = std::make_unique<Plugin>(p.value());
		report = this->plugin->sandbox();
		processes = shim_processes(this->plugin->info().pid);
	}
	std::string call(std::string_view op, std::string_view payload = {},
			 std::chrono::milliseconds deadline = 10s)
	{
		auto r = plugin->call(op, as_bytes(payload), Deadline::after(deadline));
		REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
		return text(r.value());
	}
	// Ends the host, then asserts nothing is left behind.
	void finish()
	{
		plugin.reset();
		host.reset();
		leaks.check(report);
		CHECK(processes.size() == 3); // plugin, mirror, pid 1
		for (pid_t p : processes) {
			CAPTURE(p);
			CHECK(gone(p));
		}
	}

	Leaks leaks; // before the host exists
	std::unique_ptr<Host> host;
	std::unique_ptr<Plugin> plugin;
	sandbox::SandboxReport report;
	std::vector<pid_t> processes; // the shim's, taken at load
};

// A call that must kill the plugin for a sandbox violation naming `syscall`.
inline void check_violation(const Result<Bytes> &r, const Plugin &p, std::string_view syscall)
{
	REQUIRE_FALSE_MESSAGE(r.has_value(), "the call succeeded: " << text(r.value()));
	const Error &e = r.error();
	INFO(e.to_string());
	CHECK(e.code == ErrorCode::PluginCrashed);
	CHECK(e.termination == Termination::SandboxViolation);
	CHECK(e.syscall == syscall);
	CHECK(e.plugin == "hostile");
	REQUIRE(p.wait_exit(10s));
	CHECK_FALSE(p.alive());
	REQUIRE(p.exit_error().has_value());
	CHECK(p.exit_error()->termination == Termination::SandboxViolation);
	CHECK(p.exit_error()->syscall == syscall);
}

// Runs the cases; exits 77 with the reasons when each one that ran was
// skipped, and lists the skips of a partly skipped run.
inline int run_suite(int argc, char **argv)
{
	doctest::Context context(argc, argv);
	const int rc = context.run();
	if (context.shouldExit() || skips.empty())
		return rc;
	std::set<std::string> skipped;
	for (const auto &s : skips) {
		skipped.insert(s.test_case);
		std::printf("SKIP: %s: %s\n", s.test_case.c_str(), s.reason.c_str());
	}
	if (rc == 0 && skipped == cases_run) {
		std::printf("every test case that ran was skipped (%zu): exit 77, SKIP\n", skipped.size());
		return 77;
	}
	std::printf("%zu of %zu test case(s) SKIPPED, not passed: see the SKIP lines above\n", skipped.size(),
		    cases_run.size());
	return rc;
}

} // namespace bulkhead::test

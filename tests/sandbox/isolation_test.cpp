// SPDX-License-Identifier: Apache-2.0
// What a sandboxed plugin is: every layer reported, an unprivileged uid with
// no capabilities, no_new_privs and seccomp, only its channel's descriptors,
// none of the host's environment; capabilities only when the host grants.
#define DOCTEST_CONFIG_IMPLEMENT
#include "sandbox_support.hpp"

#include <cstdlib>
#include <sstream>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <vector>

using namespace bulkhead;
using namespace std::chrono_literals;

using test::field;
using test::slurp;

TEST_CASE("every_layer_is_reported_and_each_missing_feature_says_why")
{
	test::Sandboxed s;
	INFO(s.report.to_string());
	for (const char *layer : {"memory", "tasks", "cpu", "kill", "uid", "namespaces", "filesystem",
				  "descriptors", "rlimits", "no-new-privs", "capabilities", "landlock",
				  "seccomp"}) {
		INFO(std::string(layer));
		const auto *l = s.report.find(layer);
		REQUIRE(l != nullptr);
		CHECK_FALSE(l->detail.empty());
		if (l->state != sandbox::LayerState::Enforced)
			MESSAGE("layer " << std::string(layer) << " is " << sandbox::to_string(l->state) << ": "
					 << l->detail);
	}
	for (const char *must : {"uid", "namespaces", "filesystem", "descriptors", "no-new-privs",
				 "capabilities", "seccomp"})
		CHECK(s.report.find(must)->state == sandbox::LayerState::Enforced);
	CHECK_FALSE(s.report.cgroups.empty());
	s.finish();
}

TEST_CASE("the_plugin_runs_with_an_unprivileged_uid_no_capabilities_and_seccomp")
{
	test::Sandboxed s;
	const std::string status = s.call("status");
	REQUIRE(status.starts_with("ok:"));
	CHECK(field(status, "CapEff") == "0000000000000000");
	CHECK(field(status, "CapPrm") == "0000000000000000");
	CHECK(field(status, "CapBnd") == "0000000000000000");
	CHECK(field(status, "CapAmb") == "0000000000000000");
	CHECK(field(status, "NoNewPrivs") == "1");
	CHECK(field(status, "Seccomp") == "2");
	CHECK(field(status, "Pid") == "2"); // pid 2 of its own pid namespace

	// Seen from the host: the plugin process is the only one in its
	// groups; it, the spawned process that mirrors it (its parent) and
	// pid 1 (their other child) all run under a uid that is not root, and
	// not the host's.
	const std::string plugin = std::to_string(s.plugin->info().pid);
	std::string procs;
	for (const auto &c : s.report.cgroups)
		if (c.find("/pids/") != std::string::npos || c.find("/memory/") != std::string::npos)
			procs = slurp(c + "/cgroup.procs");
	CHECK(procs == plugin + "\n");
	const std::string mirror = field(slurp("/proc/" + plugin + "/status"), "PPid");
	std::istringstream in(slurp("/proc/" + mirror + "/task/" + mirror + "/children"));
	std::vector<std::string> tree = {mirror};
	for (std::string child; in >> child;)
		tree.push_back(child);
	CHECK(tree.size() == 3); // mirror, pid 1, plugin
	for (const auto &pid : tree) {
		const std::string status = slurp("/proc/" + pid + "/status");
		const std::string uid = field(status, "Uid");
		CAPTURE(pid);
		CHECK_FALSE(uid.empty());
		CHECK(std::atoll(uid.c_str()) != 0);
		CHECK(std::atoll(uid.c_str()) != static_cast<long long>(::getuid()));
		if (pid != mirror) // pid 1 and pid 2 of the plugin's namespace
			CHECK((field(status, "NSpid").ends_with("\t1") ||
			       field(status, "NSpid").ends_with("\t2")));
	}
	s.finish();
}

TEST_CASE("the_plugin_holds_only_its_channel_descriptors")
{
	test::Sandboxed s;
	// 4 and 5 (the regions) are closed once mapped; 8 is the payload.
	CHECK(s.call("fds") == "0,1,2,3,6,7,8");
	CHECK(s.call("dup_high") == "errno:EBADF"); // RLIMIT_NOFILE
	s.finish();
}

TEST_CASE("the_host_environment_does_not_reach_the_plugin")
{
	for (const char *v : {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GLIBC_TUNABLES"})
		::setenv(v, "/tmp/evil.so", 1);
	test::Sandboxed s;
	// Nothing in environ; /proc/self/environ empty or unreadable.
	const std::string env = s.call("environ");
	CHECK((env == "proc:ok:" || env.starts_with("proc:errno:")));
	s.finish();
	for (const char *v : {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GLIBC_TUNABLES"})
		::unsetenv(v);
}

TEST_CASE("capabilities_are_granted_only_when_the_host_allows_them")
{
	char dir[] = "/tmp/bulkhead-grant-XXXXXX";
	REQUIRE(::mkdtemp(dir) != nullptr);
	::chmod(dir, 0755); // the plugin's uid is not ours: DAC applies too
	const std::string file = std::string(dir) + "/data";
	std::ofstream(file) << "granted";

	LoadOptions load;
	load.capabilities = {{sandbox::Capability::ReadPath, dir}};
	{
		test::Leaks leaks;
		auto host = std::move(Host::create(test::options()).value());
		auto p = host->load(test::hostile(), load);
		REQUIRE_FALSE(p.has_value());
		CHECK(p.error().code == ErrorCode::PermissionDenied);
		CHECK(p.error().message.find("read_path") != std::string::npos);
		host.reset();
		leaks.check({});
	}
	{
		HostOptions o = test::options();
		o.sandbox.grantable = {{sandbox::Capability::ReadPath, "/tmp"}};
		test::Sandboxed s(o, load);
		CHECK(s.call("open", file) == "ok:granted");
		CHECK(s.call("write", file).starts_with("errno:"));
		CHECK(s.call("open", "/etc/passwd").starts_with("errno:"));
		s.finish();
	}
	{
		HostOptions o = test::options();
		o.sandbox.grantable = {{sandbox::Capability::Network, ""}};
		LoadOptions net;
		net.capabilities = {{sandbox::Capability::Network, ""}};
		test::Sandboxed s(o, net);
		CHECK(s.call("syscall", "socket").starts_with("ok:"));
		CHECK(s.report.find("namespaces")->state == sandbox::LayerState::Degraded);
		s.finish();
	}
	::unlink(file.c_str());
	::rmdir(dir);
}

TEST_CASE("sandbox_policy_limits_are_validated")
{
	HostOptions o = test::options();
	o.sandbox.memory_limit = 3ull << 30;
	auto h = Host::create(o);
	REQUIRE_FALSE(h.has_value());
	CHECK(h.error().code == ErrorCode::InvalidArgument);
	o.sandbox.memory_limit = sandbox::kMaxMemoryLimit;
	CHECK(Host::create(o).has_value());
}

namespace {

// A host in a child process that loads a plugin, prints its cgroups and
// waits to be killed: what a crashed database leaves behind.
int run_doomed_host()
{
	auto host = std::move(Host::create(test::options()).value());
	auto p = host->load(test::hostile());
	if (!p.has_value())
		return 1;
	for (const auto &c : p->sandbox().cgroups)
		std::printf("%s\n", c.c_str());
	std::printf("end\n");
	std::fflush(stdout);
	for (;;)
		::pause();
}

} // namespace

TEST_CASE("cgroups_left_by_a_crashed_host_are_removed_when_a_host_starts")
{
	int out[2];
	REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char arg0[] = "isolation_test", arg1[] = "--doomed-host";
	char *argv[] = {arg0, arg1, nullptr};
	pid_t doomed;
	REQUIRE(::posix_spawn(&doomed, "/proc/self/exe", &fa, nullptr, argv, environ) == 0);
	posix_spawn_file_actions_destroy(&fa);
	::close(out[1]);
	std::vector<std::string> cgroups;
	{
		FILE *in = ::fdopen(out[0], "r");
		char line[512];
		while (std::fgets(line, sizeof line, in) && std::string_view(line) != "end\n")
			cgroups.emplace_back(line, std::strlen(line) - 1);
		std::fclose(in);
	}
	REQUIRE_FALSE(cgroups.empty());
	::kill(doomed, SIGKILL);
	::waitpid(doomed, nullptr, 0);
	// Left behind by the dead host (unless a host starting in another
	// test process already removed them: suites run in parallel).
	int left = 0;
	for (const auto &c : cgroups)
		left += ::access(c.c_str(), F_OK) == 0;
	MESSAGE(left << " of " << cgroups.size() << " cgroups left behind by the killed host");

	auto host = Host::create(test::options()); // cleans up at start
	REQUIRE(host.has_value());
	for (const auto &c : cgroups) {
		INFO(c);
		CHECK(::access(c.c_str(), F_OK) != 0);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && std::strcmp(argv[1], "--doomed-host") == 0)
		return run_doomed_host();
	return bulkhead::test::run_suite(argc, argv);
}

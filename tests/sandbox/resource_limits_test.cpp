// SPDX-License-Identifier: Apache-2.0
// Task, CPU and time limits: a memory bomb by a helper process, fork and
// thread bombs, a CPU cap, an endless loop, and a plugin under its memory
// cap. The plugin dies whole with its verdict, the host carries on, nothing
// is left behind.
// The memory bombs, which need a memory cgroup, are memory_limit_test.
#define DOCTEST_CONFIG_IMPLEMENT
#include "sandbox_support.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kLimit = 64ull << 20;

HostOptions capped()
{
	HostOptions o = test::options();
	o.sandbox.memory_limit = kLimit;
	return o;
}

// Periods in which the kernel throttled the plugin's cgroup to its CPU
// quota (cpu.stat nr_throttled, cgroup v1 and v2 alike).
std::uint64_t throttled_periods(const sandbox::SandboxReport &report)
{
	std::uint64_t n = 0;
	for (const auto &c : report.cgroups) {
		std::ifstream in(c + "/cpu.stat");
		std::string key;
		std::uint64_t value;
		while (in >> key >> value)
			if (key == "nr_throttled")
				n += value;
	}
	return n;
}

} // namespace

TEST_CASE("a_plugin_under_its_cap_is_not_reported_as_over_it")
{
	test::Sandboxed s(capped());
	CHECK(s.call("ok", "fine") == "fine");
	CHECK(s.call("threads") == "4");
	s.host->unload(*s.plugin);
	REQUIRE(s.plugin->exit_error().has_value());
	CHECK(s.plugin->exit_error()->termination == Termination::HostRequest);
	s.finish();
}

TEST_CASE("a_helper_process_or_a_fork_bomb_is_stopped_at_the_first_fork")
{
	for (std::string op : {"helper_memory_bomb", "fork_bomb"}) {
		INFO(std::string(op));
		test::Sandboxed s(capped());
		test::check_violation(s.plugin->call(op, {}, Deadline::after(10s)), *s.plugin, "clone");
		s.finish();
	}
}

TEST_CASE("a_thread_bomb_stops_at_the_task_cap_and_the_plugin_lives_on")
{
	HostOptions o = capped();
	o.sandbox.max_tasks = 32;
	test::Sandboxed s(o);
	const int made = std::atoi(s.call("thread_bomb").c_str());
	MESSAGE("threads made before the cap: " << made);
	CHECK(made > 0);
	CHECK(made < 32);
	CHECK(s.call("ok", "still") == "still");
	s.finish();
}

TEST_CASE("a_cpu_capped_plugin_gets_its_share_and_no_more")
{
	HostOptions o = test::options();
	o.sandbox.cpu_percent = 20;
	test::Sandboxed s(o);
	const auto *layer = s.report.find("cpu");
	REQUIRE(layer != nullptr);
	INFO(layer->detail);
	if (layer->state != sandbox::LayerState::Enforced)
		SANDBOX_SKIP("the CPU cap is not enforced here: " + layer->detail);
	CHECK(layer->detail.find("20% of a CPU") != std::string::npos);
	long cpu_ms = -1, wall_ms = -1;
	const std::string spun = s.call("burn", "1000");
	REQUIRE(std::sscanf(spun.c_str(), "%ld %ld", &cpu_ms, &wall_ms) == 2);
	MESSAGE("spun " << wall_ms << " ms of wall time on " << cpu_ms << " ms of CPU, capped at 20%");
	CHECK(wall_ms >= 1000);
	// The quota is 20 ms in each 100 ms period: at most one period's
	// worth beyond the share, whatever else the machine is doing.
	CHECK(cpu_ms <= wall_ms / 5 + 100);
	// And the kernel, not a busy machine, is what held it back.
	CHECK(throttled_periods(s.report) > 0);
	CHECK(s.call("ok", "still") == "still");
	s.finish();
}

TEST_CASE("an_endless_loop_is_killed_at_its_deadline")
{
	test::Sandboxed s;
	auto r = s.plugin->call("loop", {}, Deadline::after(300ms));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::DeadlineExceeded);
	REQUIRE(s.plugin->wait_exit(10s));
	CHECK(s.plugin->exit_error()->termination == Termination::Deadline);
	s.finish();
}

int main(int argc, char **argv) { return bulkhead::test::run_suite(argc, argv); }

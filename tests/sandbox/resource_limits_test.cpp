// SPDX-License-Identifier: Apache-2.0
// Memory, task and time limits: bombs by malloc, mmap, memfd, threads and a
// helper process; fork and thread bombs; an endless loop. The plugin dies
// whole with its verdict, the host carries on, nothing is left behind.
#define DOCTEST_CONFIG_IMPLEMENT
#include "sandbox_support.hpp"

#include <chrono>

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

} // namespace

TEST_CASE("memory_bombs_kill_the_whole_plugin_with_memory_limit_exceeded")
{
	if (test::kAsan)
		SANDBOX_SKIP("ASan build: its shadow memory and quarantine make the memory cap "
			     "measure ASan, not the plugin");
	for (std::string op : {"malloc_bomb", "mmap_bomb", "memfd_bomb", "thread_memory_bomb"}) {
		INFO(std::string(op));
		test::Sandboxed s(capped());
		const auto *memory = s.report.find("memory");
		REQUIRE(memory != nullptr);
		if (memory->state != sandbox::LayerState::Enforced)
			SANDBOX_SKIP("no memory cgroup on this machine: " + memory->detail);
		const auto start = std::chrono::steady_clock::now();
		auto r = s.plugin->call(op, {}, Deadline::after(20s));
		REQUIRE(s.plugin->wait_exit(20s));
		const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
					std::chrono::steady_clock::now() - start)
					.count();
		REQUIRE_FALSE(r.has_value());
		INFO(r.error().to_string());
		CHECK(r.error().code == ErrorCode::PluginCrashed);
		CHECK(r.error().termination == Termination::MemoryLimit);
		CHECK(s.plugin->exit_error()->termination == Termination::MemoryLimit);
		// Dead whole: its groups were emptied and removed before the
		// instance reported its end.
		for (const auto &c : s.report.cgroups)
			CHECK(::access(c.c_str(), F_OK) != 0);
		MESSAGE(op << ": call to verdict " << ms << " ms (64 MiB cap, allocation included)");
		CHECK(ms < 2000);
		s.finish();
	}
}

TEST_CASE("without_cgroups_the_memory_cap_is_polled_and_reported_degraded")
{
	if (test::kAsan)
		SANDBOX_SKIP("ASan build: RLIMIT_AS and resident memory would measure ASan's "
			     "shadow memory, not the plugin");
	HostOptions o = capped();
	o.sandbox.cgroups = false; // the last resort, as without writable cgroups
	test::Sandboxed s(o);
	CHECK(s.report.cgroups.empty());
	REQUIRE(s.report.find("memory") != nullptr);
	CHECK(s.report.find("memory")->state == sandbox::LayerState::Degraded);
	CHECK_FALSE(s.report.fully_enforced());
	const auto start = std::chrono::steady_clock::now();
	auto r = s.plugin->call("malloc_bomb", {}, Deadline::after(20s));
	REQUIRE(s.plugin->wait_exit(20s));
	const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
				std::chrono::steady_clock::now() - start)
				.count();
	REQUIRE_FALSE(r.has_value());
	INFO(r.error().to_string());
	CHECK(r.error().termination == Termination::MemoryLimit);
	MESSAGE("polled memory cap: call to verdict " << ms << " ms");
	CHECK(ms < 2000);
	s.finish();
}

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

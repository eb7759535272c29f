// SPDX-License-Identifier: Apache-2.0
// Supervision with real shims: a plugin that dies is restarted after its
// back-off; one that keeps dying is quarantined until a reload.
// The back-off is read from the supervisor's log lines, never timed.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <bulkhead/log.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Host> make_host(unsigned max_crashes)
{
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 20ms;
	o.restart.max_crashes = max_crashes;
	o.restart.crash_window = 60s;
	return std::move(Host::create(std::move(o)).value());
}


bool answers(const Plugin &p) { return p.call("ok", {}, Deadline::after(2s)).has_value(); }

// The supervisor's "plugin faulty: restart N in D ms" lines, while alive.
class RestartLog {
public:
	struct Line {
		unsigned restart;
		long long delay_ms;
	};
	RestartLog()
	{
		log::set_sink([this](log::Level, std::string_view line) {
			// "... plugin faulty: restart N in D ms ..."
			constexpr std::string_view marker = "plugin faulty: restart ";
			const auto at = line.find(marker);
			if (at == std::string_view::npos)
				return;
			unsigned restart = 0;
			long long delay_ms = 0;
			const char *p = line.data() + at + marker.size();
			const char *end = line.data() + line.size();
			auto r1 = std::from_chars(p, end, restart);
			if (r1.ec != std::errc{} || std::string_view(r1.ptr, end - r1.ptr).substr(0, 4) != " in ")
				return;
			auto r2 = std::from_chars(r1.ptr + 4, end, delay_ms);
			if (r2.ec != std::errc{} || std::string_view(r2.ptr, end - r2.ptr).substr(0, 3) != " ms")
				return;
			std::lock_guard lock(mutex_);
			lines_.push_back({restart, delay_ms});
		});
	}
	~RestartLog() { log::set_sink({}); }
	std::vector<Line> lines() const
	{
		std::lock_guard lock(mutex_);
		return lines_;
	}

private:
	mutable std::mutex mutex_;
	std::vector<Line> lines_;
};

// Crashes the plugin `n` times, each after the restart before it answers.
void crash_times(const Plugin &plugin, int n)
{
	const auto before = plugin.info().restarts;
	for (int i = 0; i < n; ++i) {
		REQUIRE(test::eventually([&] { return plugin.info().state == PluginState::Ready && answers(plugin); }));
		REQUIRE_FALSE(plugin.call("segfault", {}, Deadline::after(5s)).has_value());
	}
	REQUIRE(test::eventually([&] { return plugin.info().restarts == before + static_cast<std::uint64_t>(n); }));
}

} // namespace

TEST_CASE("a_plugin_that_crashes_is_restarted_and_answers_again")
{
	auto host = make_host(5);
	auto plugin = host->load(test::plugin("faulty")).value();
	const int first_pid = plugin.info().pid;
	auto crash = plugin.call("segfault", {}, Deadline::after(5s));
	REQUIRE_FALSE(crash.has_value());
	CHECK(crash.error().code == ErrorCode::PluginCrashed);
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::Ready && answers(plugin); }));
	CHECK(plugin.info().restarts == 1);
	CHECK(plugin.info().pid != first_pid);
	CHECK(::kill(first_pid, 0) != 0); // reaped, not a zombie
}

TEST_CASE("a_plugin_that_keeps_crashing_is_quarantined_until_a_reload")
{
	auto host = make_host(3);
	auto plugin = host->load(test::plugin("faulty")).value();
	for (int i = 0; i < 3; ++i) {
		REQUIRE(test::eventually([&] { return plugin.info().state == PluginState::Ready && answers(plugin); }));
		CHECK_FALSE(plugin.call("segfault", {}, Deadline::after(5s)).has_value());
	}
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::Quarantined; }));
	CHECK(plugin.info().restarts == 2);
	std::this_thread::sleep_for(200ms); // no restart comes
	CHECK(plugin.info().state == PluginState::Quarantined);
	auto r = plugin.call("ok", {}, Deadline::after(1s));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PluginCrashed);

	REQUIRE(host->reload(plugin, test::plugin("faulty")).has_value());
	CHECK(plugin.info().state == PluginState::Ready);
	CHECK(answers(plugin));
}

TEST_CASE("a_plugin_unloaded_while_its_restart_waits_is_not_restarted")
{
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 300ms;
	o.restart.jitter = 0;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	CHECK_FALSE(plugin.call("segfault", {}, Deadline::after(5s)).has_value());
	host->unload(plugin);
	std::this_thread::sleep_for(500ms);
	CHECK(plugin.info().state == PluginState::Stopped);
	CHECK(plugin.info().restarts == 0);
	CHECK(test::no_children_but_a_spare());
}

TEST_CASE("a_plugin_that_stops_answering_health_pings_is_killed_and_restarted")
{
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 20ms;
	o.health_interval = 50ms;
	o.health_timeout = 300ms;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	const int frozen = plugin.info().pid;
	// A stopped process answers nothing, like a hung one.
	REQUIRE(::kill(frozen, SIGSTOP) == 0);
	CHECK(test::eventually([&] { return plugin.info().restarts == 1 && answers(plugin); }));
	CHECK(plugin.info().pid != frozen);
	CHECK(test::eventually([&] { return ::kill(frozen, 0) != 0; }));
}

TEST_CASE("restart_back_off_doubles_from_the_initial_delay_and_stops_at_the_cap")
{
	RestartLog restarts;
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 5ms;
	o.restart.max_backoff = 20ms;
	o.restart.jitter = 0;
	o.restart.max_crashes = 10;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	crash_times(plugin, 5);
	const auto lines = restarts.lines();
	REQUIRE(lines.size() == 5);
	const long long expected[] = {5, 10, 20, 20, 20};
	for (std::size_t i = 0; i < lines.size(); ++i) {
		CHECK(lines[i].restart == i + 1);
		CHECK(lines[i].delay_ms == expected[i]);
	}
}

TEST_CASE("restart_back_off_with_jitter_stays_within_its_bounds")
{
	RestartLog restarts;
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 8ms;
	o.restart.max_backoff = 32ms;
	o.restart.jitter = 0.5;
	o.restart.max_crashes = 10;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	crash_times(plugin, 6);
	const auto lines = restarts.lines();
	REQUIRE(lines.size() == 6);
	for (std::size_t i = 0; i < lines.size(); ++i) {
		const double base = std::min(8.0 * std::pow(2.0, static_cast<double>(i)), 32.0);
		CHECK(lines[i].restart == i + 1);
		CHECK(lines[i].delay_ms >= static_cast<long long>(std::floor(base * 0.5)));
		CHECK(lines[i].delay_ms <= static_cast<long long>(std::ceil(base * 1.5)));
	}
}

TEST_CASE("crashes_older_than_the_window_no_longer_count_toward_the_circuit_breaker")
{
	RestartLog restarts;
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 5ms;
	o.restart.jitter = 0;
	o.restart.max_crashes = 2;
	o.restart.crash_window = 300ms;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	crash_times(plugin, 1);
	// Past the window (a longer sleep on a slow machine only helps).
	std::this_thread::sleep_for(600ms);
	crash_times(plugin, 1); // within a window: this one would open the circuit
	CHECK(plugin.info().state != PluginState::Quarantined);
	const auto lines = restarts.lines();
	REQUIRE(lines.size() == 2);
	CHECK(lines[0].restart == 1);
	CHECK(lines[1].restart == 1); // counted afresh, not the 2nd death
	CHECK(answers(plugin));
}

TEST_CASE("a_reload_clears_the_crash_record_so_the_new_version_is_not_quarantined_for_the_old")
{
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 5ms;
	o.restart.max_crashes = 2;
	o.restart.crash_window = 60s;
	o.reload_grace = 0ms;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("faulty")).value();
	crash_times(plugin, 1); // one death on the record: one more opens the circuit
	REQUIRE(host->reload(plugin, test::plugin("faulty")).has_value());
	// No standby left to roll back to: the next death goes to the supervisor.
	REQUIRE(test::eventually([&] { return plugin.info().standby_version.empty(); }));
	crash_times(plugin, 1);
	CHECK(plugin.info().state != PluginState::Quarantined);
	CHECK(answers(plugin));
}

// SPDX-License-Identifier: Apache-2.0
// Supervision with real shims: a plugin that dies is restarted after its
// back-off; one that keeps dying is quarantined until a reload.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

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
	CHECK(test::no_children());
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

// SPDX-License-Identifier: Apache-2.0
// Hot reload with real shims: the router swaps under callers without losing
// a call, in-flight calls drain on the old instance, a failed start swaps
// nothing, and a new version that dies in its grace period is rolled back.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

std::string versioned(const char *version)
{
	return fmt::format("{}/bulkhead-plugin-versioned-{}.so", BULKHEAD_TEST_FAULTY_DIR, version);
}

std::unique_ptr<Host> make_host(std::chrono::milliseconds grace)
{
	HostOptions o = test::options();
	o.reload_grace = grace;
	return std::move(Host::create(std::move(o)).value());
}

std::string who(const Plugin &p)
{
	auto r = p.call("who", {}, Deadline::after(5s));
	return r.has_value() ? std::string(as_string(r.value())) : "error: " + r.error().to_string();
}


} // namespace

TEST_CASE("fifty_reloads_under_calling_threads_lose_no_call")
{
	constexpr int kThreads = 3, kReloads = 50;
	{
		auto host = make_host(20ms);
		auto plugin = host->load(versioned("1.0.0")).value();
		std::atomic<bool> stop{false};
		std::atomic<int> failed{0}, wrong{0};
		std::vector<std::map<std::string, int>> by_version(kThreads);
		std::vector<std::string> first_failure(kThreads);
		std::vector<std::thread> callers;
		for (int t = 0; t < kThreads; ++t)
			callers.emplace_back([&, t] {
				for (int n = 0; !stop.load(); ++n) {
					const std::string in = fmt::format("t{}-{}", t, n);
					auto r = plugin.call("echo", as_bytes(in), Deadline::after(10s));
					if (!r.has_value()) {
						if (failed++ == 0)
							first_failure[t] = r.error().to_string();
						continue;
					}
					std::string out(as_string(r.value()));
					auto colon = out.find(':');
					std::string version = out.substr(0, colon);
					if (colon == std::string::npos || out.substr(colon + 1) != in ||
					    (version != "1.0.0" && version != "2.0.0"))
						++wrong;
					++by_version[t][version];
				}
			});
		for (int i = 0; i < kReloads; ++i) {
			auto r = host->reload(plugin, versioned(i % 2 ? "1.0.0" : "2.0.0"));
			REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
			CHECK(plugin.info().version == (i % 2 ? "1.0.0" : "2.0.0"));
		}
		std::this_thread::sleep_for(50ms);
		stop = true;
		for (auto &c : callers)
			c.join();
		std::string failures;
		for (const auto &f : first_failure)
			failures += f + "\n";
		CHECK_MESSAGE(failed.load() == 0, failures);
		CHECK(wrong.load() == 0);
		int v1 = 0, v2 = 0;
		for (auto &m : by_version)
			v1 += m["1.0.0"], v2 += m["2.0.0"];
		MESSAGE(fmt::format("answered by 1.0.0: {}, by 2.0.0: {}", v1, v2));
		CHECK(v1 > 0);
		CHECK(v2 > 0);
		CHECK(host->plugins().size() == 1);
	}
	CHECK(test::no_children());
}

TEST_CASE("a_call_in_flight_during_a_reload_finishes_on_the_old_version")
{
	auto host = make_host(0ms);
	auto plugin = host->load(versioned("1.0.0")).value();
	const std::uint8_t ms = 200;
	auto pending = plugin.submit("slow", ByteView(&ms, 1), Deadline::after(10s));
	REQUIRE(pending.has_value());
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	CHECK(who(plugin) == "2.0.0");
	auto r = pending->wait();
	REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
	CHECK(as_string(r.value()).starts_with("1.0.0:"));
	CHECK(test::eventually([&] { return plugin.info().standby_version.empty(); }));
}

TEST_CASE("a_version_that_fails_init_is_not_swapped_in")
{
	auto host = make_host(1s);
	auto plugin = host->load(versioned("1.0.0")).value();
	auto r = host->reload(plugin, versioned("0.0.0"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().message.find("this release is broken") != std::string::npos);
	CHECK(who(plugin) == "1.0.0");
	CHECK(plugin.info().state == PluginState::Ready);

	auto missing = host->reload(plugin, "/nonexistent/plugin.so");
	REQUIRE_FALSE(missing.has_value());
	CHECK(missing.error().code == ErrorCode::NotFound);
	auto other = host->reload(plugin, test::plugin("echo"));
	REQUIRE_FALSE(other.has_value());
	CHECK(other.error().message.find("not versioned") != std::string::npos);
	CHECK(who(plugin) == "1.0.0");
}

TEST_CASE("a_new_version_that_dies_within_its_grace_period_is_rolled_back")
{
	auto host = make_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	CHECK(who(plugin) == "2.0.0");
	CHECK(plugin.info().standby_version == "1.0.0");
	const int new_pid = plugin.info().pid;
	plugin.kill();
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::RolledBack; }));
	CHECK(who(plugin) == "1.0.0");
	CHECK(plugin.info().pid != new_pid);
	CHECK(plugin.info().standby_version.empty());
}

TEST_CASE("rollback_on_request_returns_to_the_standby_once")
{
	auto host = make_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	auto none = host->rollback(plugin);
	REQUIRE_FALSE(none.has_value());
	CHECK(none.error().code == ErrorCode::FailedPrecondition);
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	const int replaced = plugin.info().pid;
	REQUIRE(host->rollback(plugin).has_value());
	CHECK(who(plugin) == "1.0.0");
	CHECK(plugin.info().state == PluginState::RolledBack);
	CHECK_FALSE(host->rollback(plugin).has_value());
	// The version rolled back from is stopped.
	CHECK(test::eventually([&] { return ::kill(replaced, 0) != 0; }));
}

TEST_CASE("after_the_grace_period_the_old_version_is_stopped")
{
	auto host = make_host(100ms);
	auto plugin = host->load(versioned("1.0.0")).value();
	const int old_pid = plugin.info().pid;
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	CHECK(::kill(old_pid, 0) == 0);
	CHECK(test::eventually([&] { return plugin.info().standby_version.empty() && ::kill(old_pid, 0) != 0; }));
	CHECK(who(plugin) == "2.0.0");
	host->unload(plugin);
	auto after = plugin.call("who", {}, Deadline::after(1s));
	REQUIRE_FALSE(after.has_value());
	CHECK(after.error().code == ErrorCode::Unavailable);
	CHECK_FALSE(host->reload(plugin, versioned("1.0.0")).has_value());
}

TEST_CASE("an_init_past_its_per_plugin_deadline_is_killed_and_nothing_swapped")
{
	auto host = make_host(1s);
	auto plugin = host->load(versioned("1.0.0")).value();
	LoadOptions slow;
	slow.init_deadline = 300ms;
	auto r = host->reload(plugin, versioned("0.0.1"), slow);
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::DeadlineExceeded);
	CHECK(r.error().message.find("300 ms") != std::string::npos);
	CHECK(who(plugin) == "1.0.0");
	auto fresh = host->load(versioned("0.0.1"), slow);
	REQUIRE_FALSE(fresh.has_value());
	CHECK(fresh.error().code == ErrorCode::DeadlineExceeded);
	CHECK(host->plugins().size() == 1);
}

// SPDX-License-Identifier: Apache-2.0
// State hand-off at a reload, with real shims: the replaced version's
// exported state reaches the new version's init whole, whatever its size;
// an export that fails or passes the reload hook's deadline swaps nothing.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

std::string versioned(const char *version)
{
	return fmt::format("{}/bulkhead-plugin-versioned-{}.so", BULKHEAD_TEST_FAULTY_DIR, version);
}

Bytes call(const Plugin &p, const char *op, std::string_view in = {})
{
	auto r = p.call(op, as_bytes(in), Deadline::after(10s));
	REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
	return std::move(r).value();
}

} // namespace

TEST_CASE("a_reload_hands_the_old_versions_state_to_the_new_versions_init")
{
	auto host = Host::create(test::options()).value();
	auto plugin = host->load(versioned("1.0.0")).value();
	call(plugin, "remember", "warm cache");
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	CHECK(as_string(call(plugin, "who")) == "2.0.0");
	CHECK(as_string(call(plugin, "recall")) == "warm cache");
	// And on again, to a third instance.
	REQUIRE(host->reload(plugin, versioned("1.0.0")).has_value());
	CHECK(as_string(call(plugin, "recall")) == "warm cache");
}

TEST_CASE("state_larger_than_a_ring_slot_arrives_whole")
{
	auto host = Host::create(test::options()).value();
	auto plugin = host->load(versioned("1.0.0")).value();
	constexpr std::size_t kSize = 3 * 1024 * 1024 + 17;
	REQUIRE(kSize > plugin.info().max_payload);
	call(plugin, "remember", fmt::format("big:{}", kSize));
	const std::string before(as_string(call(plugin, "digest")));
	CHECK(before.starts_with(fmt::format("{}:", kSize)));
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	CHECK(as_string(call(plugin, "who")) == "2.0.0");
	CHECK(as_string(call(plugin, "digest")) == before);
}

TEST_CASE("an_export_that_fails_swaps_nothing_and_names_the_reason")
{
	auto host = Host::create(test::options()).value();
	auto plugin = host->load(versioned("1.0.0")).value();
	call(plugin, "remember", "kept");
	call(plugin, "export_fails");
	auto r = host->reload(plugin, versioned("2.0.0"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().message.find("version 1.0.0 could not export its state") != std::string::npos);
	CHECK(r.error().message.find("the cache is inconsistent") != std::string::npos);
	CHECK(as_string(call(plugin, "who")) == "1.0.0");
	CHECK(as_string(call(plugin, "recall")) == "kept");
	CHECK(plugin.info().state == PluginState::Ready);
}

TEST_CASE("an_export_past_the_reload_hooks_deadline_kills_that_instance_and_swaps_nothing")
{
	auto host = Host::create(test::options()).value();
	LoadOptions load;
	load.reload_deadline = 300ms;
	auto plugin = host->load(versioned("1.0.0"), load).value();
	const std::uint64_t instance = plugin.info().instance;
	call(plugin, "export_hangs");
	auto r = host->reload(plugin, versioned("2.0.0"), load);
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().message.find("the reload hook (export_state) of version 1.0.0 did not finish "
				     "within 300 ms") != std::string::npos);
	CHECK(plugin.wait_exit(10s));
	CHECK(plugin.info().instance == instance); // nothing was swapped in
	CHECK(plugin.info().state == PluginState::Crashed);
}

TEST_CASE("state_over_the_hosts_limit_refuses_the_reload")
{
	HostOptions o = test::options();
	o.max_handed_state = 1000;
	auto host = Host::create(o).value();
	auto plugin = host->load(versioned("1.0.0")).value();
	call(plugin, "remember", "big:5000");
	auto r = host->reload(plugin, versioned("2.0.0"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::ResourceExhausted);
	CHECK(r.error().message.find("exported 5000 bytes of state, over the limit of 1000") != std::string::npos);
	CHECK(as_string(call(plugin, "who")) == "1.0.0");
}

TEST_CASE("a_restart_after_a_crash_starts_without_handed_state")
{
	HostOptions o = test::options();
	o.restart.enabled = true;
	o.restart.initial_backoff = 10ms;
	auto host = Host::create(o).value();
	auto plugin = host->load(versioned("1.0.0")).value();
	call(plugin, "remember", "lost with the process");
	const std::uint64_t first = plugin.info().instance;
	plugin.kill();
	REQUIRE(test::eventually([&] { return plugin.info().instance != first && plugin.alive(); }));
	CHECK(call(plugin, "recall").empty());
}

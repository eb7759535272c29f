// SPDX-License-Identifier: Apache-2.0
// Hot reload with real shims: the router swaps under callers without losing
// a call, in-flight calls drain on the old instance, a failed start swaps
// nothing, and a new version that dies in its grace period is rolled back.
// What the supervisor restarts after a rollback is the version rolled back to.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>

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

// Restarts on: for what the supervisor starts after a rollback.
std::unique_ptr<Host> make_restarting_host(std::chrono::milliseconds grace)
{
	HostOptions o = test::options();
	o.reload_grace = grace;
	o.restart.enabled = true;
	o.restart.initial_backoff = 10ms;
	o.restart.max_crashes = 10;
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

TEST_CASE("a_call_failed_by_a_crash_within_the_grace_period_finds_the_standby_already_serving")
{
	auto host = make_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	const std::uint8_t ms = 250;
	auto pending = plugin.submit("slow", ByteView(&ms, 1), Deadline::after(10s));
	REQUIRE(pending.has_value());
	plugin.kill();
	auto r = pending->wait();
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PluginCrashed);
	// The swap came before the failure: no wait, no retry loop.
	CHECK(who(plugin) == "1.0.0");
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::RolledBack; }));
}

// The kernel marks the plugin process's death notice as it dies; the swap
// does not wait for its reaping. With the process that reaps it stopped,
// no pidfd can say it died, yet the standby serves.
TEST_CASE("the_standby_serves_on_the_death_notice_before_the_dead_version_is_reaped")
{
	auto host = make_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	const int doomed = plugin.info().pid;
	// The shim the broker spawned, which reaps the plugin process and
	// then mirrors its end (docs/sandbox.md).
	const pid_t reaper = test::parent_of(doomed);
	REQUIRE(reaper > 0);
	REQUIRE(reaper != ::getpid());
	REQUIRE(::kill(reaper, SIGSTOP) == 0);
	// Stopped before the plugin dies: a waitpid woken by both reaps first.
	REQUIRE(test::eventually([&] { return test::state_of(reaper) == 'T'; }));
	plugin.kill();
	CHECK(test::eventually([&] { return plugin.info().version == "1.0.0"; }));
	CHECK(who(plugin) == "1.0.0");
	CHECK(test::eventually([&] { return test::state_of(doomed) == 'Z'; }));
	// Its end is recorded once it is reaped.
	CHECK(plugin.info().state != PluginState::RolledBack);
	REQUIRE(::kill(reaper, SIGCONT) == 0);
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::RolledBack; }));
	CHECK(test::eventually([&] { return ::kill(doomed, 0) != 0; }));
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

namespace {

// Kills what serves `plugin` and waits for the supervisor's restart.
void kill_and_wait_for_restart(const Plugin &plugin)
{
	const auto restarts = plugin.info().restarts;
	const int pid = plugin.info().pid;
	plugin.kill();
	REQUIRE(test::eventually([&] {
		const auto i = plugin.info();
		return i.restarts == restarts + 1 && i.state == PluginState::Ready && i.pid != pid;
	}));
}

} // namespace

TEST_CASE("a_restart_after_a_requested_rollback_starts_the_version_rolled_back_to")
{
	auto host = make_restarting_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	REQUIRE(host->rollback(plugin).has_value());
	REQUIRE(who(plugin) == "1.0.0");
	kill_and_wait_for_restart(plugin);
	CHECK(plugin.info().version == "1.0.0");
	CHECK(who(plugin) == "1.0.0");
}

TEST_CASE("a_restart_after_an_automatic_rollback_starts_the_version_rolled_back_to")
{
	auto host = make_restarting_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	plugin.kill(); // 2.0.0 dies within its grace period
	REQUIRE(test::eventually([&] { return plugin.info().state == PluginState::RolledBack; }));
	REQUIRE(who(plugin) == "1.0.0");
	CHECK(plugin.info().restarts == 0); // a rollback, not a restart
	kill_and_wait_for_restart(plugin);
	CHECK(plugin.info().version == "1.0.0");
	CHECK(who(plugin) == "1.0.0");
}

TEST_CASE("a_reload_refused_for_naming_another_plugin_leaves_what_a_restart_starts")
{
	auto host = make_restarting_host(30s);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE_FALSE(host->reload(plugin, test::plugin("echo")).has_value());
	kill_and_wait_for_restart(plugin);
	CHECK(plugin.info().name == "versioned");
	CHECK(who(plugin) == "1.0.0");
}

TEST_CASE("a_restart_after_a_successful_reload_starts_the_new_version")
{
	auto host = make_restarting_host(0ms);
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	REQUIRE(test::eventually([&] { return plugin.info().standby_version.empty(); }));
	kill_and_wait_for_restart(plugin);
	CHECK(who(plugin) == "2.0.0");
}

TEST_CASE("a_new_version_that_fails_health_pings_within_its_grace_period_is_rolled_back")
{
	HostOptions o = test::options();
	o.reload_grace = 30s;
	o.health_interval = 50ms;
	o.health_timeout = 300ms;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(versioned("1.0.0")).value();
	REQUIRE(host->reload(plugin, versioned("2.0.0")).has_value());
	const int hung = plugin.info().pid;
	// A stopped process answers no ping, as a hung one would not.
	REQUIRE(::kill(hung, SIGSTOP) == 0);
	CHECK(test::eventually([&] { return plugin.info().state == PluginState::RolledBack; }));
	CHECK(who(plugin) == "1.0.0");
	CHECK(plugin.info().standby_version.empty());
	CHECK(test::eventually([&] { return ::kill(hung, 0) != 0; })); // killed and reaped
}

namespace {

namespace fs = std::filesystem;

// Signed bundles of the versioned plugin in a scratch directory.
struct SignedVersions {
	fs::path dir;
	broker::KeyPair keys = broker::generate_key_pair("reload_test");

	SignedVersions()
	{
		char tmpl[] = "/tmp/bulkhead-reload-XXXXXX";
		dir = ::mkdtemp(tmpl);
	}
	~SignedVersions() { fs::remove_all(dir); }

	// Bundles versioned-VERSION.so; `key` null: unsigned.
	std::string write(const char *file, const char *version, const broker::SecretKey *key,
			  bool tamper = false)
	{
		std::ifstream in(versioned(version), std::ios::binary);
		const Bytes so(std::istreambuf_iterator<char>(in), {});
		auto manifest = broker::manifest_from_json(fmt::format(
			R"({{"name": "versioned", "version": "{}", "abi_version": 1, "payloads": []}})", version));
		REQUIRE(manifest.has_value());
		auto b = broker::pack_bundle(manifest.value(), {{broker::kHostPlatform, "versioned.so", so}}, key);
		REQUIRE_MESSAGE(b.has_value(), b.error().message);
		Bytes bytes = std::move(b).value();
		if (tamper)
			bytes[bytes.size() - 100] ^= 0x20; // inside the payload
		const fs::path path = dir / file;
		std::ofstream(path, std::ios::binary)
			.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
		return path;
	}
};

} // namespace

TEST_CASE("a_reload_to_a_bundle_that_fails_verification_swaps_nothing_and_says_why")
{
	SignedVersions v;
	const std::string good = v.write("v1.bhb", "1.0.0", &v.keys.secret_key);
	const std::string tampered = v.write("tampered.bhb", "2.0.0", &v.keys.secret_key, true);
	const std::string unsigned_ = v.write("unsigned.bhb", "2.0.0", nullptr);
	const broker::KeyPair stranger = broker::generate_key_pair("stranger");
	const std::string foreign = v.write("stranger.bhb", "2.0.0", &stranger.secret_key);

	HostOptions o = test::options();
	o.development_mode = false;
	o.reload_grace = 30s;
	REQUIRE(o.trust.add(v.keys.public_key).has_value());
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(good).value();
	const auto before = plugin.info();
	REQUIRE(before.version == "1.0.0");

	const std::pair<std::string, const char *> cases[] = {
		{tampered, "does not match the hash"},
		{unsigned_, "not signed"},
		{foreign, "does not trust"},
	};
	for (const auto &[bundle, reason] : cases) {
		auto r = host->reload(plugin, bundle);
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::PermissionDenied);
		CHECK_MESSAGE(r.error().message.find(reason) != std::string::npos, r.error().message);
		const auto after = plugin.info();
		CHECK(after.instance == before.instance);
		CHECK(after.pid == before.pid);
		CHECK(after.state == PluginState::Ready);
		CHECK(after.standby_version.empty());
		CHECK(who(plugin) == "1.0.0");
	}
	CHECK(plugin.metrics().reloads == 0);
	CHECK_FALSE(host->rollback(plugin).has_value()); // nothing was swapped to roll back from
}

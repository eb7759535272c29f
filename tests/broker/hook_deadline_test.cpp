// SPDX-License-Identifier: Apache-2.0
// Hook deadlines with real shims: a shutdown hook that never returns is
// killed at its plugin's deadline and recorded as a failure, and draining
// waits for the plugin's own deadline, not the host's.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <unistd.h>

#include <bulkhead/broker/audit_log.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string stubborn() { return BULKHEAD_TEST_STUBBORN_PLUGIN; }

std::string versioned(const char *version)
{
	return std::string(BULKHEAD_TEST_FAULTY_DIR) + "/bulkhead-plugin-versioned-" + version + ".so";
}

struct AuditedHost {
	fs::path dir;
	std::unique_ptr<Host> host;

	explicit AuditedHost(std::chrono::milliseconds grace = 30s)
	{
		char tmpl[] = "/tmp/bulkhead-hooks-XXXXXX";
		dir = ::mkdtemp(tmpl);
		HostOptions o = test::options();
		o.audit_log = dir / "audit.log";
		o.reload_grace = grace;
		// The host-wide deadline is far off: only the plugin's own may end a stop.
		o.shutdown_deadline = 120s;
		auto h = Host::create(std::move(o));
		REQUIRE_MESSAGE(h.has_value(), h.error().to_string());
		host = std::move(h).value();
	}
	~AuditedHost()
	{
		host.reset();
		fs::remove_all(dir);
	}

	// The Unload records of the plugin's instance `id`.
	std::vector<broker::AuditRecord> unloads(std::uint64_t id) const
	{
		std::vector<broker::AuditRecord> out;
		std::ifstream in(dir / "audit.log");
		for (std::string line; std::getline(in, line);) {
			auto e = broker::parse_audit_line(line);
			REQUIRE_MESSAGE(e.has_value(), line);
			if (e->record.event == broker::AuditEvent::Unload && e->record.instance == id)
				out.push_back(e->record);
		}
		return out;
	}
};

LoadOptions quick_shutdown()
{
	LoadOptions l;
	l.shutdown_deadline = 200ms;
	return l;
}

} // namespace

TEST_CASE("a_shutdown_hook_that_hangs_is_killed_at_its_deadline_and_recorded_as_a_failure")
{
	AuditedHost h;
	auto plugin = h.host->load(stubborn(), quick_shutdown()).value();
	const auto info = plugin.info();
	REQUIRE(plugin.call("who", {}, Deadline::after(5s)).has_value());
	auto unloading = std::async(std::launch::async, [&] { h.host->unload(plugin); });
	// Generous: the plugin's deadline is 200 ms, the host's 120 s.
	REQUIRE(unloading.wait_for(60s) == std::future_status::ready);
	CHECK(::kill(info.pid, 0) != 0);
	const auto records = h.unloads(info.instance);
	REQUIRE(records.size() == 1);
	CHECK(records[0].outcome == "killed");
	CHECK_MESSAGE(records[0].detail.find("shutdown hook did not finish within 200 ms") != std::string::npos,
		      records[0].detail);
	CHECK(plugin.info().state == PluginState::Stopped);
}

TEST_CASE("a_replaced_version_whose_shutdown_hook_hangs_is_killed_when_retired")
{
	AuditedHost h(0ms);
	auto plugin = h.host->load(stubborn(), quick_shutdown()).value();
	const auto old = plugin.info();
	REQUIRE(h.host->reload(plugin, stubborn(), quick_shutdown()).has_value());
	CHECK(plugin.info().instance != old.instance);
	CHECK(test::eventually([&] { return h.unloads(old.instance).size() == 1; }));
	const auto records = h.unloads(old.instance);
	REQUIRE(records.size() == 1);
	CHECK(records[0].outcome == "killed");
	CHECK(test::eventually([&] { return ::kill(old.pid, 0) != 0; }));
	CHECK(plugin.call("who", {}, Deadline::after(5s)).has_value());
}

TEST_CASE("a_shutdown_that_completes_is_recorded_as_ok")
{
	AuditedHost h;
	auto plugin = h.host->load(versioned("1.0.0"), quick_shutdown()).value();
	const auto id = plugin.info().instance;
	h.host->unload(plugin);
	const auto records = h.unloads(id);
	REQUIRE(records.size() == 1);
	CHECK(records[0].outcome == "ok");
}

TEST_CASE("an_unload_drains_for_the_plugins_own_deadline_not_the_hosts")
{
	AuditedHost h;
	auto plugin = h.host->load(versioned("1.0.0"), quick_shutdown()).value();
	// Submitted and never waited for: its lease stays out until destroyed.
	auto pending = plugin.submit("echo", as_bytes("x"), Deadline::after(300s));
	REQUIRE(pending.has_value());
	auto unloading = std::async(std::launch::async, [&] { h.host->unload(plugin); });
	// Generous: the plugin's drain deadline is 200 ms, the host's 120 s.
	CHECK(unloading.wait_for(60s) == std::future_status::ready);
	unloading.wait();
	CHECK_FALSE(plugin.alive());
}

// SPDX-License-Identifier: Apache-2.0
// The Host writes its audit log: installs, verifications, loads, refusals,
// crashes, kills and unloads, each with the plugin, version, key id and
// payload hash, in a chain that verifies.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>
#include <bulkhead/broker/bundle_verifier.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace bulkhead::broker;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

Bytes slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path &path, const Bytes &bytes)
{
	std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
						    static_cast<std::streamsize>(bytes.size()));
}

std::vector<AuditEntry> entries(const std::string &log)
{
	std::vector<AuditEntry> out;
	std::ifstream in(log);
	std::string line;
	while (std::getline(in, line)) {
		auto e = parse_audit_line(line);
		REQUIRE_MESSAGE(e.has_value(), line);
		out.push_back(*e);
	}
	return out;
}

} // namespace

TEST_CASE("every_install_verify_load_crash_kill_and_unload_is_an_audit_record")
{
	char tmpl[] = "/tmp/bulkhead-host-audit-XXXXXX";
	const fs::path dir = ::mkdtemp(tmpl);
	fs::create_directory(dir / "root");
	KeyPair keys = generate_key_pair("audit test");
	for (auto [name, version, so] : {std::tuple{"echo", "1.0.0", test::plugin("echo")},
					 std::tuple{"faulty", "0.1.0", test::plugin("faulty")}}) {
		auto manifest = manifest_from_json(
			fmt::format(R"({{"name": "{}", "version": "{}", "abi_version": 1}})", name, version));
		auto b = pack_bundle(manifest.value(), {{kHostPlatform, "p.so", slurp(so)}}, &keys.secret_key);
		REQUIRE(b.has_value());
		write(dir / fmt::format("{}.bhb", name), b.value());
	}
	write(dir / "root" / "unsigned.bhb",
	      pack_bundle(manifest_from_json(R"({"name": "echo", "version": "1.0.0", "abi_version": 1})").value(),
			  {{kHostPlatform, "p.so", slurp(test::plugin("echo"))}}, nullptr)
		      .value());

	const std::string log = dir / "audit.log";
	{
		HostOptions o = test::options();
		o.development_mode = false;
		o.plugin_root = dir / "root";
		o.audit_log = log;
		REQUIRE(o.trust.add(keys.public_key).has_value());
		auto host = std::move(Host::create(std::move(o)).value());

		REQUIRE(host->install(dir / "echo.bhb").has_value());
		REQUIRE(host->install(dir / "faulty.bhb").has_value());
		CHECK_FALSE(host->load("unsigned.bhb").has_value());
		auto echo = host->load("echo-1.0.0.bhb");
		REQUIRE(echo.has_value());
		host->unload(echo.value());

		auto crasher = host->load("faulty-0.1.0.bhb");
		REQUIRE(crasher.has_value());
		CHECK_FALSE(crasher->call("segfault", {}, Deadline::after(5s)).has_value());
		CHECK(crasher->wait_exit(5s));

		auto hung = host->load("faulty-0.1.0.bhb");
		REQUIRE(hung.has_value());
		CHECK_FALSE(hung->call("loop", {}, Deadline::after(200ms)).has_value());
		CHECK(hung->wait_exit(5s));

		auto killed = host->load("faulty-0.1.0.bhb");
		REQUIRE(killed.has_value());
		killed->kill();
		CHECK(killed->wait_exit(5s));
	}

	auto check = verify_audit_log(log);
	REQUIRE(check.has_value());
	CHECK_MESSAGE(check->intact, check->reason);

	std::vector<std::string> seen, transitions;
	std::vector<AuditEntry> events;
	for (const auto &e : entries(log)) {
		if (e.record.event == AuditEvent::State) {
			transitions.push_back(fmt::format("{} {}", e.record.plugin, e.record.detail));
			continue;
		}
		events.push_back(e);
		seen.push_back(fmt::format("{} {} {}", to_string(e.record.event), e.record.plugin, e.record.outcome));
		if (e.record.outcome == "ok" && e.record.event != AuditEvent::Unload) {
			CHECK(e.record.key_id == keys.public_key.id);
			CHECK(e.record.payload_hash.size() == 64);
		}
	}
	const std::vector<std::string> expected = {
		"verify echo ok",     "install echo ok",          "verify faulty ok", "install faulty ok",
		"verify unsigned.bhb refused", "verify echo ok",  "load echo ok",     "unload echo ok",
		"verify faulty ok",   "load faulty ok",           "crash faulty crashed",
		"verify faulty ok",   "load faulty ok",           "kill faulty killed",
		"verify faulty ok",   "load faulty ok",           "kill faulty requested",
		"crash faulty crashed",
	};
	std::string all_seen;
	for (const auto &s : seen)
		all_seen += s + "\n";
	CHECK_MESSAGE(seen == expected, all_seen);
	const auto &all = events;
	std::string all_transitions;
	for (const auto &t : transitions)
		all_transitions += t + "\n";
	// Every lifecycle transition is a record too.
	const std::vector<std::string> expected_transitions = {
		"echo installed -> verified",   "echo verified -> starting",   "echo starting -> ready",
		"echo ready -> draining",       "echo draining -> stopped",
		"faulty installed -> verified", "faulty verified -> starting", "faulty starting -> ready",
		"faulty ready -> crashed",
		"faulty installed -> verified", "faulty verified -> starting", "faulty starting -> ready",
		"faulty ready -> crashed",
		"faulty installed -> verified", "faulty verified -> starting", "faulty starting -> ready",
		"faulty ready -> crashed",
	};
	CHECK_MESSAGE(transitions == expected_transitions, all_transitions);
	CHECK(all.at(10).record.detail.find("SIGSEGV") != std::string::npos);
	CHECK(all.at(13).record.detail.find("deadline") != std::string::npos);
	CHECK(all.at(4).record.detail.find("not signed") != std::string::npos);
	fs::remove_all(dir);
}

TEST_CASE("a_host_whose_audit_log_cannot_be_opened_is_not_created")
{
	HostOptions o = test::options();
	o.audit_log = "/nonexistent/dir/audit.log";
	auto h = Host::create(o);
	REQUIRE_FALSE(h.has_value());
	CHECK(h.error().message.find("/nonexistent/dir/audit.log") != std::string::npos);
}

TEST_CASE("a_load_that_fails_after_verification_ends_stopped_in_the_audit_log")
{
	char tmpl[] = "/tmp/bulkhead-host-audit-XXXXXX";
	const fs::path dir = ::mkdtemp(tmpl);
	const std::string log = dir / "audit.log";
	{
		HostOptions o = test::options(); // development mode: a bare file verifies
		o.audit_log = log;
		auto host = std::move(Host::create(std::move(o)).value());
		// Verifies (unsigned, accepted), then the shim finds no entry point.
		auto noentry = host->load(std::string(BULKHEAD_TEST_FAULTY_DIR) + "/bulkhead-plugin-noentry.so");
		REQUIRE_FALSE(noentry.has_value());
	}
	std::vector<std::string> transitions;
	for (const auto &e : entries(log))
		if (e.record.event == AuditEvent::State)
			transitions.push_back(e.record.detail);
	const std::vector<std::string> expected = {"installed -> verified", "verified -> starting",
						   "starting -> stopped"};
	CHECK(transitions == expected);
	fs::remove_all(dir);
}

// SPDX-License-Identifier: Apache-2.0
// A hostile shim forges ring indices, lengths, slot ids, generations, call
// ids, statuses and flatbuffers offsets. Each forgery must end the call with
// an error, and the instance with a protocol-violation verdict: never a
// crash of the host (this suite runs under ASan), never a hang.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include <bulkhead/ipc/control.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

// Writes the attack's name into a file the hostile shim reads as its plugin.
struct AttackFile {
	explicit AttackFile(const std::string &mode)
	{
		char tmpl[] = "/tmp/bulkhead-attack-XXXXXX";
		int fd = ::mkstemp(tmpl);
		REQUIRE(fd >= 0);
		::close(fd);
		path = tmpl;
		std::ofstream(path) << mode << "\n";
	}
	~AttackFile() { ::unlink(path.c_str()); }
	std::string path;
};

Error attack(const std::string &mode, std::chrono::milliseconds deadline = 10s)
{
	auto host = std::move(Host::create(test::options(BULKHEAD_TEST_HOSTILE_SHIM)).value());
	AttackFile file(mode);
	auto p = host->load(file.path);
	REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
	CHECK(p->name() == "hostile");
	auto r = p->call("echo", as_bytes("payload"), Deadline::after(deadline));
	if (mode == "duplicate") {
		// The first answer was honest; the forgery shows on the next call.
		REQUIRE(r.has_value());
		r = p->call("echo", as_bytes("payload"), Deadline::after(deadline));
	}
	if (mode == "bad_req_head") {
		// Honest answers until the host consults the forged head: by one
		// lap of the request ring at the latest.
		const auto lap = host->options().geometry.cells;
		for (std::uint32_t i = 0; i <= lap && r.has_value(); ++i)
			r = p->call("echo", as_bytes("payload"), Deadline::after(deadline));
	}
	REQUIRE_FALSE(r.has_value());
	Error e = r.error();
	CHECK(e.plugin == "hostile");
	REQUIRE(p->wait_exit(10s));
	return e;
}

void check_violation(const std::string &mode)
{
	Error e = attack(mode);
	INFO(mode, ": ", e.to_string());
	CHECK(e.code == ErrorCode::ProtocolViolation);
	CHECK(e.termination == Termination::Protocol);
	CHECK_FALSE(e.message.empty());
}

} // namespace

TEST_CASE("forged_sequence_number_is_a_protocol_violation") { check_violation("bad_seq"); }
TEST_CASE("forged_length_is_a_protocol_violation") { check_violation("bad_len"); }
TEST_CASE("forged_slot_id_is_a_protocol_violation") { check_violation("bad_slot"); }
TEST_CASE("forged_generation_is_a_protocol_violation") { check_violation("bad_generation"); }
TEST_CASE("forged_call_id_is_a_protocol_violation") { check_violation("bad_call_id"); }
TEST_CASE("unknown_status_is_a_protocol_violation") { check_violation("bad_status"); }
TEST_CASE("flatbuffers_offsets_out_of_range_are_a_protocol_violation") { check_violation("bad_offsets"); }
TEST_CASE("random_bytes_are_a_protocol_violation") { check_violation("random_bytes"); }
TEST_CASE("truncated_message_is_a_protocol_violation") { check_violation("truncated"); }
TEST_CASE("duplicate_completion_is_a_protocol_violation") { check_violation("duplicate"); }
TEST_CASE("forged_request_head_is_a_protocol_violation") { check_violation("bad_req_head"); }
TEST_CASE("garbage_over_the_whole_region_is_a_protocol_violation") { check_violation("garbage_region"); }

TEST_CASE("silent_shim_ends_in_a_deadline_not_a_hang")
{
	Error e = attack("no_answer", 300ms);
	CHECK(e.code == ErrorCode::DeadlineExceeded);
}

TEST_CASE("schema_mismatch_is_refused_naming_both_hashes")
{
	auto host = std::move(Host::create(test::options(BULKHEAD_TEST_HOSTILE_SHIM)).value());
	AttackFile file("wrong_schema");
	auto p = host->load(file.path);
	REQUIRE_FALSE(p.has_value());
	INFO(p.error().to_string());
	CHECK(p.error().code == ErrorCode::FailedPrecondition);
	CHECK(p.error().message.find("0123456789abcdef") != std::string::npos);
	CHECK(p.error().message.find(std::string(ipc::control::schema_hash())) != std::string::npos);
}

TEST_CASE("shim_dying_before_the_handshake_names_its_exit")
{
	auto host = std::move(Host::create(test::options(BULKHEAD_TEST_HOSTILE_SHIM)).value());
	AttackFile file("exit_before_hello");
	auto p = host->load(file.path);
	REQUIRE_FALSE(p.has_value());
	INFO(p.error().to_string());
	CHECK(p.error().code == ErrorCode::PluginCrashed);
	CHECK(p.error().termination == Termination::Exit);
	CHECK(p.error().exit_status == 9);
}

TEST_CASE("attacks_leave_no_process_or_descriptor_behind")
{
	const int before = test::open_fds();
	for (const char *mode : {"bad_seq", "duplicate", "no_answer"})
		(void)attack(mode, 200ms);
	CHECK(test::open_fds() == before);
	CHECK(test::no_children());
}

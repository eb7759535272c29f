// SPDX-License-Identifier: Apache-2.0
// verify_audit_log: every kind of tampering is detected, and the first broken
// record is named with the reason.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <functional>
#include <sodium.h>

#include "audit_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

constexpr int kRecords = 8;

std::string hash_hex(std::string_view line)
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char *>(line.data()),
			   line.size(), nullptr, 0);
	std::string out;
	for (unsigned char b : h)
		out += fmt::format("{:02x}", b);
	return out;
}

// Replaces the first `from` in line `i` (0-based) with `to`.
void edit(std::vector<std::string> &lines, std::size_t i, std::string_view from, std::string_view to)
{
	auto at = lines[i].find(from);
	REQUIRE(at != std::string::npos);
	lines[i].replace(at, from.size(), to);
}

struct Tamper {
	const char *what;
	std::function<std::string(std::vector<std::string>)> apply; // returns the new file
	std::uint64_t first_broken;
	std::string reason;
};

} // namespace

TEST_CASE("every_kind_of_tampering_names_the_first_broken_record")
{
	const Tamper cases[] = {
		{"one byte of a field in record 4 changed",
		 [](auto l) { edit(l, 3, "\"echo\"", "\"ecHo\""); return join_lines(l); },
		 5, "prev hash does not match record 4"},
		{"one digit of record 4's prev changed",
		 [](auto l) {
			 auto at = l[3].find("\"prev\":\"") + 8;
			 l[3][at] = l[3][at] == '0' ? '1' : '0';
			 return join_lines(l);
		 },
		 4, "prev hash does not match record 3"},
		{"record 1's prev changed",
		 [](auto l) { edit(l, 0, "\"prev\":\"0", "\"prev\":\"1"); return join_lines(l); },
		 1, "prev hash is not zero: the log does not start here"},
		{"record 5 deleted",
		 [](auto l) { l.erase(l.begin() + 4); return join_lines(l); },
		 5, "seq 6 follows 4"},
		{"record 1 deleted",
		 [](auto l) { l.erase(l.begin()); return join_lines(l); },
		 1, "seq 2 starts the log, not 1"},
		{"records 3 and 4 swapped",
		 [](auto l) { std::swap(l[2], l[3]); return join_lines(l); },
		 3, "seq 4 follows 2"},
		{"a copy of record 2 inserted after record 4",
		 [](auto l) { l.insert(l.begin() + 4, l[1]); return join_lines(l); },
		 5, "seq 2 follows 4"},
		{"a well-forged record inserted after record 4 (right seq and prev)",
		 [](auto l) {
			 auto forged = l[3];
			 forged.replace(0, forged.find(",\"time\""),
					fmt::format("{{\"seq\":5,\"prev\":\"{}\"", hash_hex(l[3])));
			 REQUIRE(broker::parse_audit_line(forged).has_value());
			 l.insert(l.begin() + 4, forged);
			 return join_lines(l);
		 },
		 6, "seq 5 follows 5"},
		{"a line that is not a record inserted after record 2",
		 [](auto l) { l.insert(l.begin() + 2, "{\"seq\":3}"); return join_lines(l); },
		 3, "not a JSON audit record"},
		{"an empty line after record 6",
		 [](auto l) { l.insert(l.begin() + 6, ""); return join_lines(l); },
		 7, "not a JSON audit record"},
		{"the middle cut out, from inside record 3 to inside record 6",
		 [](auto l) {
			 std::string text = join_lines(l);
			 auto from = text.find("\"seq\":3,") + 40;
			 auto to = text.find("\"seq\":6,") + 100; // inside its time
			 return text.erase(from, to - from);
		 },
		 3, "not a JSON audit record"},
		{"the file cut short inside record 6",
		 [](auto l) {
			 std::string text = join_lines(l);
			 return text.substr(0, text.find("\"seq\":6,") + 40);
		 },
		 6, "torn: 41 bytes with no newline at the end (the writer died mid-record)"},
		{"a number written with a leading zero in record 2",
		 [](auto l) { edit(l, 1, "\"instance\":2", "\"instance\":02"); return join_lines(l); },
		 2, "not a JSON audit record"},
		{"a field escaped differently in record 7",
		 [](auto l) { edit(l, 6, "\"echo\"", "\"\\u0065cho\""); return join_lines(l); },
		 7, "not a JSON audit record"},
		{"an unknown event in record 3",
		 [](auto l) { edit(l, 2, "\"event\":\"load\"", "\"event\":\"lode\""); return join_lines(l); },
		 3, "not a JSON audit record"},
		{"a space added in record 8",
		 [](auto l) { edit(l, 7, ",\"plugin\"", ", \"plugin\""); return join_lines(l); },
		 8, "not a JSON audit record"},
	};
	REQUIRE(sodium_init() >= 0);
	ScratchDir dir;
	const auto original = dir.file("original.log");
	write_log(original, kRecords);
	const auto lines = split_lines(read_all(original));
	REQUIRE(lines.size() == kRecords);
	for (const auto &c : cases) {
		CAPTURE(c.what);
		const auto path = dir.file("tampered.log");
		write_all(path, c.apply(lines));
		auto check = verify(path);
		CHECK_FALSE(check.intact);
		CHECK(check.first_broken == c.first_broken);
		CHECK(check.reason == c.reason);
	}
}

TEST_CASE("records_cut_from_the_end_are_caught_only_with_an_anchor")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 6);
	const auto full = verify(path);
	REQUIRE(full.intact);
	CHECK(verify(path, full.last_hash).intact);

	auto lines = split_lines(read_all(path));
	lines.resize(4);
	write_all(path, join_lines(lines));
	CHECK(verify(path).intact); // the chain alone cannot tell
	auto anchored = verify(path, full.last_hash);
	CHECK_FALSE(anchored.intact);
	CHECK(anchored.first_broken == 5);
	CHECK(anchored.reason.starts_with("no record hashes to the anchor " + full.last_hash));

	// An older anchor still matches a log that has grown past it.
	const auto at4 = verify(path).last_hash;
	write_log(path, 3);
	CHECK(verify(path, at4).intact);
}

TEST_CASE("an_empty_log_is_intact_with_no_records_and_a_zero_hash")
{
	ScratchDir dir;
	const auto path = dir.file("empty.log");
	write_all(path, "");
	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == 0);
	CHECK(check.last_hash == std::string(64, '0'));
}

TEST_CASE("a_directory_is_not_an_audit_log")
{
	ScratchDir dir;
	auto check = broker::verify_audit_log(dir.file(""));
	REQUIRE_FALSE(check.has_value());
	CHECK(check.error().code == ErrorCode::InvalidArgument);
	auto log = broker::AuditLog::open(dir.file(""));
	REQUIRE_FALSE(log.has_value());
}

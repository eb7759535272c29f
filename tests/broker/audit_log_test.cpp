// SPDX-License-Identifier: Apache-2.0
// AuditLog: appending, reopening, repairing after a crash, many writers, and
// hostile strings all leave one record per line and an intact chain.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <random>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

#include "audit_support.hpp"
#include "test_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;
using broker::AuditEvent;
using broker::AuditLog;
using broker::AuditRecord;

namespace {

// argv[1] that turns this binary into the writer the crash test kills.
constexpr std::string_view kCrashChildFlag = "--audit-crash-child";
constexpr int kCrashRounds = 8;
// Bytes the child writes before the kill may come: a few records.
constexpr off_t kCrashHeadStart = 1500;

// Appends until killed; exits 1 only if the log cannot be opened or written.
int crash_child(const std::string &path)
{
	auto log = AuditLog::open(path);
	if (!log.has_value())
		return 1;
	for (int i = 1;; ++i)
		if (!log.value()->append(sample_record(i)).has_value())
			return 1;
}

} // namespace

TEST_CASE("appended_records_form_an_intact_chain_starting_at_seq_1")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	auto log = AuditLog::open(path);
	REQUIRE(log.has_value());
	for (int i = 1; i <= 5; ++i)
		REQUIRE(log.value()->append(sample_record(i)).has_value());
	CHECK(log.value()->last_seq() == 5);

	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == 5);
	CHECK(check.first_broken == 0);
	CHECK(check.reason.empty());
	CHECK(check.last_hash == log.value()->last_hash());

	auto lines = split_lines(read_all(path));
	REQUIRE(lines.size() == 5);
	for (std::size_t i = 0; i < lines.size(); ++i) {
		auto e = broker::parse_audit_line(lines[i]);
		REQUIRE(e.has_value());
		CHECK(e->seq == i + 1);
		CHECK(e->record.event == sample_record(static_cast<int>(i + 1)).event);
		CHECK(e->record.detail == fmt::format("record {}", i + 1));
		CHECK(e->time.ends_with("Z"));
	}
	CHECK(broker::parse_audit_line(lines[0])->prev == std::string(64, '0'));
	CHECK(lines[0].starts_with("{\"seq\":1,\"prev\":\"000"));
}

TEST_CASE("reopening_a_log_continues_its_seq_and_chain_without_a_repair")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 3);
	{
		auto log = AuditLog::open(path);
		REQUIRE(log.has_value());
		CHECK(log.value()->last_seq() == 3);
		REQUIRE(log.value()->append(sample_record(4)).has_value());
		REQUIRE(log.value()->append(sample_record(5)).has_value());
	}
	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == 5);
	for (const auto &line : split_lines(read_all(path)))
		CHECK(broker::parse_audit_line(line)->record.event != AuditEvent::Repair);
}

TEST_CASE("a_torn_tail_is_cut_on_open_and_quoted_in_a_repair_record")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 3);
	const std::string intact = read_all(path);
	const std::string torn = "{\"seq\":4,\"prev\":\"9f";
	write_all(path, intact + torn);

	auto before = verify(path);
	CHECK_FALSE(before.intact);
	CHECK(before.records == 4);
	CHECK(before.first_broken == 4);
	CHECK(before.reason.starts_with("torn"));

	{
		auto log = AuditLog::open(path);
		REQUIRE(log.has_value());
		REQUIRE(log.value()->append(sample_record(5)).has_value());
	}
	auto after = verify(path);
	CHECK(after.intact);
	CHECK(after.records == 5);
	const std::string text = read_all(path);
	CHECK(text.starts_with(intact)); // earlier records are untouched
	auto repair = broker::parse_audit_line(split_lines(text)[3]);
	REQUIRE(repair.has_value());
	CHECK(repair->record.event == AuditEvent::Repair);
	CHECK(repair->record.outcome == "repaired");
	CHECK(repair->record.detail ==
	      fmt::format("dropped {} torn bytes after record 3: {}", torn.size(), torn));
}

TEST_CASE("a_broken_chain_is_kept_and_a_repair_record_names_its_first_broken_record")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 5);
	auto lines = split_lines(read_all(path));
	lines[1].replace(lines[1].find("echo"), 4, "evil");
	write_all(path, join_lines(lines));

	{
		auto log = AuditLog::open(path);
		REQUIRE(log.has_value());
		CHECK(log.value()->last_seq() == 6);
		REQUIRE(log.value()->append(sample_record(7)).has_value());
	}
	auto check = verify(path);
	CHECK_FALSE(check.intact); // the evidence stays visible
	CHECK(check.first_broken == 3);
	CHECK(check.records == 7);
	auto after = split_lines(read_all(path));
	REQUIRE(after.size() == 7);
	auto repair = broker::parse_audit_line(after[5]);
	REQUIRE(repair.has_value());
	CHECK(repair->seq == 6);
	CHECK(repair->record.event == AuditEvent::Repair);
	CHECK(repair->record.outcome == "chain-broken");
	CHECK(repair->record.detail.find("chain broken at record 3: prev hash does not match "
					 "record 2") != std::string::npos);
	CHECK(broker::parse_audit_line(after[6])->seq == 7);
}

TEST_CASE("many_threads_appending_give_an_intact_chain_with_every_record_once")
{
	constexpr int kThreads = 4;
	constexpr int kPerThread = 50;
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	auto log = AuditLog::open(path);
	REQUIRE(log.has_value());
	std::vector<std::thread> threads;
	std::atomic<int> failures{0};
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kPerThread; ++i) {
				AuditRecord r = sample_record(i);
				r.detail = fmt::format("thread {} record {}", t, i);
				if (!log.value()->append(r).has_value())
					++failures;
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK(failures == 0);

	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == kThreads * kPerThread);
	std::map<std::string, int> seen;
	for (const auto &line : split_lines(read_all(path)))
		++seen[broker::parse_audit_line(line)->record.detail];
	CHECK(seen.size() == kThreads * kPerThread);
	for (const auto &[detail, count] : seen)
		CHECK_MESSAGE(count == 1, detail);
}

TEST_CASE("a_writer_killed_at_a_random_moment_leaves_a_log_that_verifies_or_repairs")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	const unsigned seed = std::random_device{}();
	INFO("seed " << seed);
	std::mt19937 rng(seed);
	std::uniform_int_distribution<int> delay_us(0, 3000);
	std::uint64_t records = 0;
	for (int round = 0; round < kCrashRounds; ++round) {
		const std::string self = "/proc/self/exe";
		std::string flag(kCrashChildFlag);
		char *argv[] = {const_cast<char *>(self.c_str()), flag.data(),
				const_cast<char *>(path.c_str()), nullptr};
		struct stat st {};
		const off_t start = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
		pid_t pid = 0;
		REQUIRE(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, environ) == 0);
		// Wait for the child to get going (it appends without pause), then
		// kill it wherever it happens to be.
		for (int i = 0; i < 20000 && (::stat(path.c_str(), &st) != 0 ||
					      st.st_size < start + kCrashHeadStart);
		     ++i)
			::usleep(1000);
		::usleep(static_cast<useconds_t>(delay_us(rng)));
		REQUIRE(::kill(pid, SIGKILL) == 0);
		int status = 0;
		REQUIRE(::waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status));

		auto check = verify(path);
		INFO("round " << round << ": " << check.reason);
		CHECK((check.intact || (check.first_broken == check.records &&
					check.reason.starts_with("torn"))));
		CHECK(check.records > records);
		records = check.records;
	}
	auto log = AuditLog::open(path); // repairs a torn tail, if any
	REQUIRE(log.has_value());
	log.value().reset();
	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == records); // a torn line, if any, became a Repair record
}

TEST_CASE("hostile_strings_stay_inside_one_record_per_line")
{
	struct Case {
		std::string in;
		std::string out; // what reading the record back gives
	};
	const Case cases[] = {
		{"\"quoted\" \"},{\"seq\":1", "\"quoted\" \"},{\"seq\":1"},
		{"back\\slash\\", "back\\slash\\"},
		{"new\nline\r\n", "new\nline\r\n"},
		{std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
		{"tab\tdel\x7f esc\x1b[2J", "tab\tdel\x7f esc\x1b[2J"},
		{"valid \xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e", "valid \xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e"},
		{"bad \xff\xfe", "bad \xef\xbf\xbd\xef\xbf\xbd"},
		{"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
		{"surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
		{"", ""},
	};
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	{
		auto log = AuditLog::open(path);
		REQUIRE(log.has_value());
		for (const auto &c : cases) {
			AuditRecord r{AuditEvent::Install, c.in, c.in, c.in, c.in, 7, c.in, c.in};
			REQUIRE(log.value()->append(r).has_value());
		}
	}
	auto check = verify(path);
	CHECK(check.intact);
	CHECK(check.records == std::size(cases));
	auto lines = split_lines(read_all(path));
	REQUIRE(lines.size() == std::size(cases));
	for (std::size_t i = 0; i < lines.size(); ++i) {
		auto e = broker::parse_audit_line(lines[i]);
		REQUIRE(e.has_value());
		for (const std::string *field : {&e->record.plugin, &e->record.version, &e->record.key_id,
						 &e->record.payload_hash, &e->record.outcome,
						 &e->record.detail})
			CHECK(*field == cases[i].out);
		for (char c : lines[i])
			CHECK(static_cast<unsigned char>(c) >= 0x20);
	}
}

TEST_CASE("a_new_log_is_private_to_its_owner")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 1);
	struct stat st {};
	REQUIRE(::stat(path.c_str(), &st) == 0);
	CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("a_second_writer_on_the_same_log_is_refused_while_the_first_holds_it")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	auto first = AuditLog::open(path);
	REQUIRE(first.has_value());
	auto second = AuditLog::open(path);
	REQUIRE_FALSE(second.has_value());
	CHECK(second.error().code == ErrorCode::Unavailable);
	CHECK(second.error().message.find(path) != std::string::npos);
	first.value().reset();
	CHECK(AuditLog::open(path).has_value());
}

TEST_CASE("errors_name_the_path_and_say_what_was_wrong")
{
	auto missing_dir = AuditLog::open("/nonexistent-bulkhead/audit.log");
	REQUIRE_FALSE(missing_dir.has_value());
	CHECK(missing_dir.error().code == ErrorCode::NotFound);
	CHECK(missing_dir.error().message.find("/nonexistent-bulkhead/audit.log") != std::string::npos);

	auto missing = broker::verify_audit_log("/nonexistent-bulkhead/audit.log");
	REQUIRE_FALSE(missing.has_value());
	CHECK(missing.error().code == ErrorCode::NotFound);
	CHECK(missing.error().message.find("/nonexistent-bulkhead/audit.log") != std::string::npos);

	ScratchDir dir;
	const auto path = dir.file("audit.log");
	auto log = AuditLog::open(path);
	REQUIRE(log.has_value());
	AuditRecord bad = sample_record(1);
	bad.event = static_cast<AuditEvent>(200);
	auto refused = log.value()->append(bad);
	REQUIRE_FALSE(refused.has_value());
	CHECK(refused.error().code == ErrorCode::InvalidArgument);
	CHECK(verify(path).records == 0);
}

TEST_CASE("opening_appending_and_verifying_leak_no_descriptor")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	const int before = open_fds();
	write_log(path, 3);
	write_log(path, 2);
	CHECK(verify(path).intact);
	write_all(path, read_all(path) + "torn");
	CHECK_FALSE(verify(path).intact);
	write_log(path, 1);
	CHECK_FALSE(AuditLog::open("/nonexistent-bulkhead/audit.log").has_value());
	CHECK_FALSE(broker::verify_audit_log(dir.file("missing")).has_value());
	CHECK(open_fds() == before);
}

int main(int argc, char **argv)
{
	if (argc == 3 && argv[1] == kCrashChildFlag)
		return crash_child(argv[2]);
	doctest::Context context(argc, argv);
	return context.run();
}

// SPDX-License-Identifier: Apache-2.0
// `bulkhead audit verify|show`, run as the built binary: exit codes, the
// named broken record, --json and --anchor.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <spawn.h>
#include <sys/wait.h>

#include "audit_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

struct Run {
	int status = -1; // exit status, -1 when it did not exit
	std::string out, err;
};

Run run_cli(const ScratchDir &dir, std::vector<std::string> args)
{
	const std::string out_path = dir.file("cli.out"), err_path = dir.file("cli.err");
	args.insert(args.begin(), BULKHEAD_TEST_CLI);
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	posix_spawn_file_actions_t actions;
	::posix_spawn_file_actions_init(&actions);
	::posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	::posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid = 0;
	const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
	::posix_spawn_file_actions_destroy(&actions);
	REQUIRE(rc == 0);
	int status = 0;
	REQUIRE(::waitpid(pid, &status, 0) == pid);
	Run r;
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r.out = read_all(out_path);
	r.err = read_all(err_path);
	return r;
}

bool contains(const std::string &s, std::string_view part)
{
	return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("verify_exits_0_for_an_intact_log_and_prints_its_last_hash")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 3);
	auto r = run_cli(dir, {"audit", "verify", path});
	CHECK(r.status == 0);
	CHECK(r.out == fmt::format("{}: intact, 3 records, last hash {}\n", path, verify(path).last_hash));
}

TEST_CASE("verify_exits_1_and_names_the_first_broken_record_of_a_tampered_log")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 5);
	auto lines = split_lines(read_all(path));
	lines[1].replace(lines[1].find("record 2"), 8, "record X");
	write_all(path, join_lines(lines));

	auto r = run_cli(dir, {"audit", "verify", path});
	CHECK(r.status == 1);
	CHECK(r.out == path + ": broken at record 3: prev hash does not match record 2\n");

	auto json = run_cli(dir, {"audit", "verify", "--json", path});
	CHECK(json.status == 1);
	CHECK(json.out == fmt::format("{{\"file\":\"{}\",\"intact\":false,\"records\":5,"
				      "\"first_broken\":3,\"reason\":\"prev hash does not match "
				      "record 2\",\"last_hash\":\"{}\"}}\n",
				      path, verify(path).last_hash));
}

TEST_CASE("verify_with_an_anchor_catches_records_cut_from_the_end")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	write_log(path, 4);
	const auto anchor = verify(path).last_hash;
	CHECK(run_cli(dir, {"audit", "verify", path, "--anchor", anchor}).status == 0);
	auto lines = split_lines(read_all(path));
	lines.pop_back();
	write_all(path, join_lines(lines));
	CHECK(run_cli(dir, {"audit", "verify", path}).status == 0);
	auto r = run_cli(dir, {"audit", "verify", path, "--anchor", anchor});
	CHECK(r.status == 1);
	CHECK(contains(r.out, "broken at record 4: no record hashes to the anchor"));
}

TEST_CASE("verify_exits_3_naming_a_file_it_cannot_read")
{
	ScratchDir dir;
	const auto missing = dir.file("missing.log");
	auto r = run_cli(dir, {"audit", "verify", missing});
	CHECK(r.status == 3);
	CHECK(r.out.empty());
	CHECK(contains(r.err, missing));
}

TEST_CASE("usage_errors_exit_2_and_help_exits_0_describing_the_exit_codes")
{
	struct Case {
		std::vector<std::string> args;
		int status;
	};
	const Case cases[] = {
		{{"audit"}, 2},
		{{"audit", "frobnicate"}, 2},
		{{"audit", "verify"}, 2},
		{{"audit", "verify", "a.log", "b.log"}, 2},
		{{"audit", "verify", "a.log", "--bogus"}, 2},
		{{"audit", "verify", "a.log", "--anchor", "not-a-hash"}, 2},
		{{"audit", "show", "a.log", "--json"}, 2},
		{{"audit", "--help"}, 0},
		{{"audit", "verify", "--help"}, 0},
		{{"audit", "show", "--help"}, 0},
	};
	ScratchDir dir;
	for (const auto &c : cases) {
		CAPTURE(fmt::format("{}", fmt::join(c.args, " ")));
		auto r = run_cli(dir, c.args);
		CHECK(r.status == c.status);
		CHECK(contains(c.status == 0 ? r.out : r.err, "Usage: bulkhead audit"));
		CHECK(contains(c.status == 0 ? r.out : r.err, "Exit status"));
	}
}

TEST_CASE("show_prints_a_row_per_record_and_escapes_control_characters")
{
	ScratchDir dir;
	const auto path = dir.file("audit.log");
	{
		auto log = broker::AuditLog::open(path);
		REQUIRE(log.has_value());
		broker::AuditRecord r = sample_record(1);
		r.detail = "evil\x1b[2J\nsecond line";
		REQUIRE(log.value()->append(r).has_value());
		REQUIRE(log.value()->append(sample_record(2)).has_value());
	}
	auto r = run_cli(dir, {"audit", "show", path});
	CHECK(r.status == 0);
	CHECK(contains(r.out, "evil\\x1b[2J\\x0asecond line"));
	CHECK(contains(r.out, "record 2"));
	CHECK(contains(r.out, path + ": intact, 2 records"));
	CHECK_FALSE(contains(r.out, "\x1b"));
}

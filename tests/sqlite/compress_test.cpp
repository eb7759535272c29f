// SPDX-License-Identifier: Apache-2.0
// bulkhead_compress and bulkhead_decompress through the zstd plugin and the
// typed compression proxy, inside the real SQLite engine: data stored
// compressed in a table and read back through a view, corrupt input as an
// SQL error, and a crash of the plugin mid-session that the connection
// survives. SKIP (77) while the zstd plugin is not built.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <unistd.h>

#include "sqlite_support.hpp"

using namespace bulkhead;
using test::contains;
using test::Db;

namespace {

std::string zstd_path()
{
	return std::string(BULKHEAD_TEST_PLUGIN_DIR) + "/bulkhead-plugin-zstd.so";
}

// Before the connection: the extension reads the environment when it loads.
struct Environment {
	Environment() { test::default_environment(); }
};

struct Fixture : Environment {
	Fixture()
	{
		REQUIRE(db.load_rc() == SQLITE_OK);
		REQUIRE(db.value("SELECT bulkhead_load('" + zstd_path() + "')") == "zstd");
		db.value("CREATE TABLE docs(id INTEGER PRIMARY KEY, body BLOB)");
		db.value("CREATE VIEW plain AS SELECT id, CAST(bulkhead_decompress('zstd', body) "
			 "AS TEXT) AS body "
			 "FROM docs");
	}
	// `n` rows of compressible text, stored compressed.
	void fill(int n)
	{
		db.value("INSERT INTO docs(body) WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT "
			 "i + 1 FROM k "
			 "WHERE i < " +
			 std::to_string(n) +
			 ") SELECT bulkhead_compress('zstd', 'document ' || i || "
			 "': ' || replace(hex(zeroblob(2000)), '00', 'lorem ')) FROM k");
	}
	Db db{};
};

} // namespace

TEST_CASE_FIXTURE(Fixture, "text_round_trips_through_compress_and_decompress_and_shrinks")
{
	CHECK(db.value("SELECT bulkhead_algorithm('zstd')") == "zstd");
	CHECK(db.value("SELECT CAST(bulkhead_decompress('zstd', bulkhead_compress('zstd', 'hello, "
		       "sqlite')) AS "
		       "TEXT)") == "hello, sqlite");
	CHECK(db.value("SELECT length(bulkhead_decompress('zstd', bulkhead_compress('zstd', "
		       "x'')))") == "0");
	CHECK(db.run("SELECT bulkhead_compress('zstd', NULL)").null);
	fill(50);
	CHECK(db.value("SELECT count(*) FROM plain WHERE body LIKE 'document %: lorem lorem %'") ==
	      "50");
	CHECK(db.value("SELECT sum(length(body)) < 50 * 12000 / 10 FROM docs") == "1");
}

TEST_CASE_FIXTURE(Fixture, "the_level_can_be_set_and_a_level_out_of_range_is_an_error")
{
	CHECK(db.value("SELECT bulkhead_set_level('zstd', 19)") == "19");
	CHECK(db.value("SELECT CAST(bulkhead_decompress('zstd', bulkhead_compress('zstd', 'at "
		       "19')) AS TEXT)") == "at 19");
	const auto a = db.run("SELECT bulkhead_set_level('zstd', 1000)");
	INFO(a.value);
	CHECK_FALSE(a.ok());
	CHECK(contains(a.value, "bulkhead_set_level: "));
}

TEST_CASE_FIXTURE(Fixture, "corrupt_input_to_decompress_is_an_sql_error_and_the_plugin_lives")
{
	const auto a = db.run("SELECT bulkhead_decompress('zstd', x'0102030405')");
	INFO(a.value);
	CHECK_FALSE(a.ok());
	CHECK(contains(a.value, "bulkhead_decompress: "));
	CHECK(contains(a.value, "plugin zstd#"));
	CHECK(db.value("SELECT value->>'alive' FROM json_each(bulkhead_plugins())") == "1");
}

TEST_CASE_FIXTURE(Fixture,
		  "a_compression_plugin_killed_mid_session_fails_one_statement_then_serves_again")
{
	fill(10);
	CHECK(db.value("SELECT count(*) FROM plain") == "10");
	CHECK(std::stol(db.value("SELECT bulkhead_kill('zstd')")) > 0);
	const auto a = db.run("SELECT count(*) FROM plain WHERE body LIKE 'document %'");
	INFO(a.value);
	CHECK(a.rc == SQLITE_ABORT);
	CHECK(contains(a.value, "bulkhead_decompress: plugin-crashed: plugin zstd#"));
	CHECK(db.value("SELECT count(*) FROM docs") == "10"); // the table is intact
	CHECK(db.value("SELECT bulkhead_wait_ready('zstd', 30000)") == "1");
	CHECK(db.value("SELECT count(*) FROM plain WHERE body LIKE 'document %'") == "10");
}

int main(int argc, char **argv)
{
	if (::access(zstd_path().c_str(), R_OK) != 0) {
		std::printf("SKIP: the zstd compression plugin is not built (%s)\n",
			    zstd_path().c_str());
		return 77;
	}
	doctest::Context context(argc, argv);
	return context.run();
}

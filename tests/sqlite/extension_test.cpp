// SPDX-License-Identifier: Apache-2.0
// The extension inside the real SQLite engine, through its C API: calls to
// plugins as SQL functions, errors as SQL errors, a plugin that crashes or
// is killed failing only its statement while the connection carries on,
// and closing the connection leaving no shim, thread or descriptor behind.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sqlite_support.hpp"

using namespace bulkhead;
using test::contains;
using test::Db;

namespace {

std::string load_sql(const char *plugin, const char *alias = nullptr)
{
	std::string sql = "SELECT bulkhead_load('" + test::plugin(plugin) + "'";
	if (alias)
		sql += std::string(", '") + alias + "'";
	return sql + ")";
}

struct Fixture {
	Fixture() { test::default_environment(); }
};

} // namespace

TEST_CASE_FIXTURE(Fixture, "the_extension_loads_into_a_connection_with_nothing_loaded_yet")
{
	Db db;
	INFO(db.load_error());
	REQUIRE(db.load_rc() == SQLITE_OK);
	CHECK(db.value("SELECT bulkhead_plugins()") == "[]");
}

TEST_CASE_FIXTURE(Fixture, "a_blob_and_text_round_trip_through_an_echo_plugin_call")
{
	Db db;
	REQUIRE(db.value(load_sql("echo")) == "echo");
	CHECK(db.value("SELECT bulkhead_call('echo', 'echo', x'00ff10')") == "00FF10");
	CHECK(db.value("SELECT CAST(bulkhead_call('echo', 'reverse', 'abc') AS TEXT)") == "cba");
	CHECK(db.value("SELECT typeof(bulkhead_call('echo', 'echo', x''))") == "blob");
	CHECK(db.value("SELECT length(bulkhead_call('echo', 'echo', zeroblob(100000)))") ==
	      "100000");
	CHECK(db.run("SELECT bulkhead_call('echo', 'echo', NULL)").null);
	// Past the channel's largest message (BULKHEAD_CELL_BYTES): refused, not sent.
	const auto big = db.run("SELECT bulkhead_call('echo', 'echo', zeroblob(2000000))");
	CHECK(big.rc == SQLITE_MISMATCH);
	CHECK(contains(big.value, "payload of 2000000 bytes exceeds the channel's maximum"));
	// Over many rows of a table, as a database would use it.
	db.value("CREATE TABLE t(v TEXT)");
	db.value("INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		 "WHERE i < 200) "
		 "SELECT 'row ' || i FROM n");
	CHECK(db.value("SELECT count(*) FROM t WHERE CAST(bulkhead_call('echo', 'echo', v) AS "
		       "TEXT) = v") == "200");
}

TEST_CASE_FIXTURE(Fixture, "the_listing_names_each_plugin_with_its_state_and_process")
{
	Db db;
	db.value(load_sql("echo"));
	db.value(load_sql("echo", "second"));
	CHECK(db.value("SELECT group_concat(value->>'name') FROM json_each(bulkhead_plugins())") ==
	      "echo,second");
	CHECK(db.value("SELECT value->>'plugin' || ' ' || (value->>'version') || ' ' || "
		       "(value->>'state') || ' ' || "
		       "(value->>'alive') FROM json_each(bulkhead_plugins()) WHERE value->>'name' "
		       "= 'second'") == "echo 1.0.0 ready 1");
	CHECK(db.value("SELECT (value->>'pid') > 0 FROM json_each(bulkhead_plugins()) LIMIT 1") ==
	      "1");
	CHECK(db.value("SELECT json_array_length(value->'operations') FROM "
		       "json_each(bulkhead_plugins()) "
		       "LIMIT 1") == "4");
}

TEST_CASE_FIXTURE(Fixture, "a_plugin_error_fails_the_statement_naming_the_plugin")
{
	Db db;
	db.value(load_sql("echo"));
	const auto a = db.run("SELECT bulkhead_call('echo', 'fail', 'on purpose')");
	INFO(a.value);
	CHECK_FALSE(a.ok());
	CHECK(contains(a.value, "bulkhead_call: "));
	CHECK(contains(a.value, "echo refuses on purpose: on purpose"));
	CHECK(db.value("SELECT 6 * 7") == "42");
}

TEST_CASE_FIXTURE(Fixture, "wrong_arguments_are_errors_naming_the_function_and_the_argument")
{
	Db db;
	db.value(load_sql("echo"));
	auto a = db.run("SELECT bulkhead_call('echo', 'echo')");
	CHECK(a.rc == SQLITE_MISMATCH);
	CHECK(a.value ==
	      "bulkhead_call: invalid-argument: expected 3 arguments (name, op, data), got 2");
	a = db.run("SELECT bulkhead_call('echo', 5, x'00')");
	CHECK(a.rc == SQLITE_MISMATCH);
	CHECK(a.value ==
	      "bulkhead_call: invalid-argument: argument 2 (op) must be text, not an integer");
	a = db.run("SELECT bulkhead_call('echo', 'echo', 1.5)");
	CHECK(a.value == "bulkhead_call: invalid-argument: argument 3 (data) must be a blob or "
			 "text, not a real");
	a = db.run("SELECT bulkhead_load()");
	CHECK(a.value ==
	      "bulkhead_load: invalid-argument: expected 1 or 2 arguments (path [, name]), got 0");
	a = db.run("SELECT bulkhead_plugins(1)");
	CHECK(a.value == "bulkhead_plugins: invalid-argument: expected no arguments, got 1");
	a = db.run("SELECT bulkhead_set_level('echo', '3')");
	CHECK(a.value == "bulkhead_set_level: invalid-argument: argument 2 (level) must be an "
			 "integer, not text");
	a = db.run("SELECT bulkhead_call('nope', 'echo', x'00')");
	CHECK(a.rc == SQLITE_NOTFOUND);
	CHECK(contains(a.value, "no plugin named 'nope' is loaded in this connection"));
	a = db.run("SELECT bulkhead_call('echo', 'no-such-op', x'00')");
	INFO(a.value);
	CHECK_FALSE(a.ok());
	CHECK(contains(a.value, "no-such-op"));
}

TEST_CASE_FIXTURE(Fixture,
		  "a_file_that_is_not_a_plugin_is_refused_and_a_name_loaded_twice_needs_an_alias")
{
	Db db;
	auto a = db.run("SELECT bulkhead_load('/nonexistent/plugin.so')");
	CHECK(a.rc == SQLITE_NOTFOUND);
	CHECK(contains(a.value, "bulkhead_load: not-found"));
	db.value(load_sql("echo"));
	a = db.run(load_sql("echo"));
	CHECK(a.rc == SQLITE_ERROR);
	CHECK(contains(a.value, "a plugin named 'echo' is loaded already in this connection"));
	CHECK(db.value(load_sql("echo", "echo2")) == "echo2");
	CHECK(db.value("SELECT CAST(bulkhead_call('echo2', 'echo', 'two') AS TEXT)") == "two");
}

TEST_CASE_FIXTURE(Fixture, "an_unloaded_plugin_stops_and_its_name_is_free_again")
{
	Db db;
	db.value(load_sql("echo"));
	const long pid =
		std::stol(db.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins())"));
	CHECK(db.value("SELECT bulkhead_unload('echo')") == "echo");
	CHECK_FALSE(test::process_exists(pid));
	CHECK(db.run("SELECT bulkhead_call('echo', 'echo', 'x')").rc == SQLITE_NOTFOUND);
	CHECK(db.run("SELECT bulkhead_unload('echo')").rc == SQLITE_NOTFOUND);
	CHECK(db.value(load_sql("echo")) == "echo");
}

TEST_CASE_FIXTURE(
	Fixture,
	"a_plugin_killed_mid_session_fails_the_next_call_and_answers_again_after_its_restart")
{
	Db db;
	db.value(load_sql("echo"));
	db.value("CREATE TABLE log(entry TEXT)");
	db.value("INSERT INTO log VALUES ('before')");
	CHECK(db.value("SELECT CAST(bulkhead_call('echo', 'echo', 'alive') AS TEXT)") == "alive");

	const long pid = std::stol(db.value("SELECT bulkhead_kill('echo')"));
	CHECK(pid > 0);
	CHECK_FALSE(test::process_exists(pid)); // killed and reaped

	const auto crashed = db.run("SELECT bulkhead_call('echo', 'echo', 'anyone?')");
	INFO(crashed.value);
	CHECK(crashed.rc == SQLITE_ABORT);
	CHECK(contains(crashed.value, "bulkhead_call: plugin-crashed: plugin echo#"));
	CHECK(contains(crashed.value, "killed by signal 9 (SIGKILL)"));

	// The connection carries on with everything else.
	db.value("INSERT INTO log VALUES ('after')");
	CHECK(db.value("SELECT group_concat(entry) FROM log") == "before,after");

	// The supervisor restarts it after its back-off; calls succeed again.
	CHECK(test::eventually(
		[&] { return db.run("SELECT bulkhead_call('echo', 'echo', 'back')").ok(); }));
	CHECK(db.value("SELECT CAST(bulkhead_call('echo', 'echo', 'back') AS TEXT)") == "back");
	CHECK(db.value("SELECT value->>'restarts' FROM json_each(bulkhead_plugins())") == "1");
	CHECK(std::stol(db.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins())")) !=
	      pid);
}

TEST_CASE_FIXTURE(Fixture, "bulkhead_wait_ready_returns_once_the_restarted_plugin_serves")
{
	Db db;
	db.value(load_sql("faulty"));
	CHECK_FALSE(db.run("SELECT bulkhead_call('faulty', 'abort', x'')").ok());
	CHECK(db.value("SELECT bulkhead_wait_ready('faulty', 30000)") == "1");
	CHECK(db.value("SELECT CAST(bulkhead_call('faulty', 'ok', 'up') AS TEXT)") == "up");
	CHECK(db.value("SELECT bulkhead_kill('faulty') > 0") == "1");
	CHECK(db.value("SELECT bulkhead_wait_ready('faulty', 0)") == "0"); // not yet restarted
}

TEST_CASE_FIXTURE(Fixture, "a_plugin_that_segfaults_fails_its_statement_and_not_the_transaction")
{
	Db db;
	db.value(load_sql("faulty"));
	db.value("CREATE TABLE t(v TEXT)");
	db.value("BEGIN");
	db.value("INSERT INTO t VALUES ('one')");
	const auto a = db.run("INSERT INTO t VALUES (bulkhead_call('faulty', 'segfault', x''))");
	INFO(a.value);
	CHECK(a.rc == SQLITE_ABORT);
	CHECK(contains(a.value, "plugin-crashed: plugin faulty#"));
	CHECK(contains(a.value, "killed by signal 11 (SIGSEGV)"));
	CHECK_FALSE(sqlite3_get_autocommit(db.handle())); // still inside the transaction
	db.value("INSERT INTO t VALUES ('two')");
	db.value("COMMIT");
	CHECK(db.value("SELECT group_concat(v) FROM t") == "one,two");
}

TEST_CASE_FIXTURE(Fixture, "a_hung_plugin_fails_its_call_at_the_deadline_with_sqlite_busy")
{
	::setenv("BULKHEAD_CALL_DEADLINE_MS", "300", 1);
	Db db;
	db.value(load_sql("faulty"));
	const auto a = db.run("SELECT bulkhead_call('faulty', 'loop', x'')");
	INFO(a.value);
	CHECK(a.rc == SQLITE_BUSY);
	CHECK(contains(a.value, "bulkhead_call: deadline-exceeded: plugin faulty#"));
	CHECK(db.value("SELECT 1") == "1");
}

TEST_CASE_FIXTURE(Fixture, "a_bad_configuration_variable_fails_the_extension_load_naming_it")
{
	::setenv("BULKHEAD_RESTART_BACKOFF_MS", "soon", 1);
	Db db;
	CHECK(db.load_rc() == SQLITE_ERROR);
	CHECK(contains(
		db.load_error(),
		"bulkhead: failed-precondition: BULKHEAD_RESTART_BACKOFF_MS='soon': expected "
		"a number of milliseconds"));
	CHECK(db.run("SELECT bulkhead_plugins()").rc == SQLITE_ERROR); // nothing registered
}

TEST_CASE_FIXTURE(Fixture, "outside_development_mode_a_bare_shared_object_is_refused")
{
	::setenv("BULKHEAD_DEVELOPMENT", "0", 1);
	Db db;
	REQUIRE(db.load_rc() == SQLITE_OK);
	const auto a = db.run(load_sql("echo"));
	INFO(a.value);
	CHECK(a.rc == SQLITE_PERM);
	CHECK(contains(a.value, "bulkhead_load: permission-denied"));
}

TEST_CASE_FIXTURE(Fixture, "side_effect_functions_refuse_to_run_from_a_trigger")
{
	Db db;
	db.value(load_sql("echo"));
	db.value("CREATE TABLE t(v)");
	db.value("CREATE TRIGGER k AFTER INSERT ON t BEGIN SELECT bulkhead_kill('echo'); END");
	const auto a = db.run("INSERT INTO t VALUES (1)");
	INFO(a.value);
	CHECK_FALSE(a.ok());
	CHECK(contains(a.value, "unsafe use of bulkhead_kill()"));
	CHECK(db.value("SELECT value->>'alive' FROM json_each(bulkhead_plugins())") == "1");
}

TEST_CASE_FIXTURE(Fixture, "connections_have_their_own_hosts_and_take_calls_from_several_threads")
{
	Db a(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
	Db b(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
	a.value(load_sql("echo"));
	b.value(load_sql("echo"));
	CHECK(a.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins())") !=
	      b.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins())"));

	std::atomic<int> wrong{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			const Db &db = t % 2 ? a : b;
			for (int i = 0; i < 100; ++i) {
				const std::string v =
					"t" + std::to_string(t) + "-" + std::to_string(i);
				const auto r =
					db.run("SELECT CAST(bulkhead_call('echo', 'echo', '" + v +
					       "') AS TEXT)");
				if (!r.ok() || r.value != v)
					++wrong;
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK(wrong.load() == 0);

	// A crash in one connection's plugin leaves the other's alone.
	a.value("SELECT bulkhead_kill('echo')");
	CHECK_FALSE(a.run("SELECT bulkhead_call('echo', 'echo', 'x')").ok());
	CHECK(b.value("SELECT CAST(bulkhead_call('echo', 'echo', 'fine') AS TEXT)") == "fine");
}

TEST_CASE_FIXTURE(Fixture,
		  "closing_the_connection_stops_its_shims_and_leaves_no_thread_or_descriptor")
{
	{
		// Warm-up: whatever the first load sets up once per process.
		Db db;
		db.value(load_sql("echo"));
	}
	REQUIRE(test::no_children());
	const int fds = test::open_fds();
	const int threads = test::threads();
	long pids[2];
	{
		Db db;
		db.value(load_sql("echo"));
		db.value(load_sql("faulty"));
		CHECK(db.value("SELECT CAST(bulkhead_call('faulty', 'ok', 'x') AS TEXT)") == "x");
		CHECK(test::threads() > threads);
		pids[0] = std::stol(
			db.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins()) "
				 "WHERE value->>'name' = 'echo'"));
		pids[1] = std::stol(
			db.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins()) "
				 "WHERE value->>'name' = 'faulty'"));
		CHECK(test::process_exists(pids[0]));
	} // sqlite3_close
	CHECK(test::no_children());
	CHECK_FALSE(test::process_exists(pids[0]));
	CHECK_FALSE(test::process_exists(pids[1]));
	CHECK(test::open_fds() == fds);
	// Joined by the Host's destructor; polled all the same, since a thread
	// the supervisor detaches when its last owner is its own handler ends
	// by itself just after. A leaked one never would.
	CHECK(test::eventually([&] { return test::threads() == threads; }));
}

TEST_CASE_FIXTURE(Fixture, "loading_the_extension_again_replaces_the_connections_host")
{
	Db db;
	db.value(load_sql("echo"));
	const long pid =
		std::stol(db.value("SELECT value->>'pid' FROM json_each(bulkhead_plugins())"));
	char *err = nullptr;
	REQUIRE(sqlite3_load_extension(db.handle(), BULKHEAD_TEST_EXTENSION, nullptr, &err) ==
		SQLITE_OK);
	CHECK(db.value("SELECT bulkhead_plugins()") == "[]");
	CHECK_FALSE(test::process_exists(pid)); // the old Host went with its functions
}

// SPDX-License-Identifier: Apache-2.0
// What the SQLite tests share: a connection with the built extension loaded
// through the real engine's C API, statements run for their first value or
// their error, and the build tree's paths.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>

#include <doctest/doctest.h>

namespace bulkhead::test {

inline std::string plugin(const char *name)
{
	const std::string n = name;
	const std::string dir = n == "faulty" ? BULKHEAD_TEST_FAULTY_DIR : BULKHEAD_TEST_PLUGIN_DIR;
	return dir + "/bulkhead-plugin-" + n + ".so";
}

// The configuration every test starts from (read when the extension loads):
// the build tree's shim, bare .so files, and a restart back-off long enough
// that the statement after a crash runs before the restart.
inline void default_environment()
{
	::setenv("BULKHEAD_SHIM", BULKHEAD_TEST_SHIM, 1);
	::setenv("BULKHEAD_DEVELOPMENT", "1", 1);
	::setenv("BULKHEAD_RESTART_BACKOFF_MS", "1000", 1);
	::unsetenv("BULKHEAD_CALL_DEADLINE_MS");
	::unsetenv("BULKHEAD_RESTART");
	::unsetenv("BULKHEAD_PLUGIN_ROOT");
}

// A statement's outcome: its first row's first column as text (a BLOB in
// hex), or SQLite's error code and message.
struct Answer {
	int rc = SQLITE_OK;
	std::string value;
	bool null = false;
	bool ok() const { return rc == SQLITE_OK; }
};

inline std::string hex(const void *p, int n)
{
	static const char *digits = "0123456789ABCDEF";
	std::string out;
	for (int i = 0; i < n; ++i) {
		const auto b = static_cast<const unsigned char *>(p)[i];
		out += digits[b >> 4];
		out += digits[b & 15];
	}
	return out;
}

class Db {
public:
	// Opens an in-memory database and loads the extension into it.
	explicit Db(int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
	{
		REQUIRE(sqlite3_open_v2(":memory:", &db_, flags, nullptr) == SQLITE_OK);
		REQUIRE(sqlite3_enable_load_extension(db_, 1) == SQLITE_OK);
		char *err = nullptr;
		load_rc_ = sqlite3_load_extension(db_, BULKHEAD_TEST_EXTENSION, nullptr, &err);
		if (err) {
			load_error_ = err;
			sqlite3_free(err);
		}
	}
	~Db() { close(); }
	Db(const Db &) = delete;
	Db &operator=(const Db &) = delete;

	void close()
	{
		if (db_)
			CHECK(sqlite3_close(db_) == SQLITE_OK);
		db_ = nullptr;
	}
	sqlite3 *handle() const { return db_; }
	int load_rc() const { return load_rc_; }
	const std::string &load_error() const { return load_error_; }

	Answer run(const std::string &sql) const
	{
		Answer a;
		sqlite3_stmt *stmt = nullptr;
		a.rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
		if (a.rc != SQLITE_OK) {
			a.value = sqlite3_errmsg(db_);
			return a;
		}
		int rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			switch (sqlite3_column_type(stmt, 0)) {
			case SQLITE_NULL:
				a.null = true;
				break;
			case SQLITE_BLOB: {
				const void *p = sqlite3_column_blob(stmt, 0);
				a.value = hex(p, sqlite3_column_bytes(stmt, 0));
				break;
			}
			default:
				a.value = reinterpret_cast<const char *>(
					sqlite3_column_text(stmt, 0));
			}
			while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			}
		}
		if (rc != SQLITE_DONE) {
			a.rc = rc;
			a.value = sqlite3_errmsg(db_);
		}
		sqlite3_finalize(stmt);
		return a;
	}

	// The value of a statement that must succeed.
	std::string value(const std::string &sql) const
	{
		const Answer a = run(sql);
		INFO(sql);
		INFO(a.value);
		REQUIRE(a.ok());
		return a.value;
	}

private:
	sqlite3 *db_ = nullptr;
	int load_rc_ = SQLITE_ERROR;
	std::string load_error_;
};

inline bool contains(const std::string &s, const std::string &part)
{
	return s.find(part) != std::string::npos;
}

// Polls `done` every 10 ms for up to 30 s: for what happens in another
// thread or process. Not a timing assertion: the bound only ends a hang.
template<typename F> bool eventually(F done)
{
	for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	     std::chrono::steady_clock::now() < until;
	     std::this_thread::sleep_for(std::chrono::milliseconds(10)))
		if (done())
			return true;
	return done();
}

// True when this process has no child at all, running or zombie.
inline bool no_children()
{
	siginfo_t info{};
	return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

inline int count_entries(const char *dir)
{
	int n = 0;
	if (DIR *d = ::opendir(dir)) {
		while (::readdir(d))
			++n;
		::closedir(d);
	}
	return n;
}

inline int open_fds()
{
	return count_entries("/proc/self/fd");
}
inline int threads()
{
	return count_entries("/proc/self/task");
}

// Whether `pid` is a process that has not been reaped.
inline bool process_exists(long pid)
{
	std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
	return stat.good();
}

} // namespace bulkhead::test

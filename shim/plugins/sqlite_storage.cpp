// SPDX-License-Identifier: Apache-2.0
// Example storage plugin backed by SQLite: one table
//   kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID
// behind prepared statements; keys order bytewise (SQLite compares BLOBs
// with memcmp, then by length, as std::vector<std::uint8_t> does).
//
// Where the data lives, honestly: the shim's sandbox has a read-only root
// and no writable path, so the database is SQLite's in-memory one. It is
// not durable: a crash, a kill or a restart loses it. What it does survive
// is a hot reload: export_state() hands the whole database over as
// sqlite3_serialize() bytes and the new version's init() opens them with
// sqlite3_deserialize(). flush() commits anything still uncommitted; every
// write here is its own transaction and an in-memory database has no WAL to
// checkpoint, so there is nothing more to make durable. compact() is VACUUM
// (its scratch database is kept in memory too: temp_store = MEMORY).
#include <sqlite3.h>

#include <cstring>
#include <memory>
#include <string>

#include <bulkhead/sdk/storage.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::ErrorCode;
using bulkhead::Result;
using bulkhead::sdk::fail;
namespace ext = bulkhead::ext;

struct CloseDb {
	void operator()(sqlite3 *db) const { sqlite3_close_v2(db); }
};
struct Finalize {
	void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

// Resets a prepared statement and drops its bindings when a call is done
// with it, whichever way the call returns.
class Use {
public:
	explicit Use(const Statement &s) : s_(s.get()) {}
	~Use()
	{
		sqlite3_reset(s_);
		sqlite3_clear_bindings(s_);
	}
	Use(const Use &) = delete;
	Use &operator=(const Use &) = delete;
	sqlite3_stmt *get() const { return s_; }

private:
	sqlite3_stmt *s_;
};

ErrorCode code_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
	case SQLITE_FULL:
	case SQLITE_TOOBIG:
		return ErrorCode::ResourceExhausted;
	default:
		return ErrorCode::Internal;
	}
}

class SqliteStorage final : public bulkhead::sdk::StoragePlugin {
public:
	Result<void> init(ByteView) override
	{
		sqlite3 *raw = nullptr;
		const int rc = sqlite3_open_v2(":memory:", &raw,
					       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
		db_.reset(raw); // set even on failure: it holds the error
		if (rc != SQLITE_OK)
			return error(rc, "cannot open an in-memory database");
		// A handed-over database is bytes from another process: no
		// writable schema, no shadow-table writes.
		sqlite3_db_config(db_.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
		if (!handed_state().empty())
			TRY(restore(handed_state()));
		TRY(exec("PRAGMA temp_store = MEMORY"));
		TRY(exec("CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY NOT NULL, value BLOB "
			 "NOT NULL) "
			 "WITHOUT ROWID"));
		TRY(prepare(get_, "SELECT value FROM kv WHERE key = ?1"));
		TRY(prepare(put_, "INSERT INTO kv(key, value) VALUES (?1, ?2) "
				  "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
		TRY(prepare(delete_, "DELETE FROM kv WHERE key = ?1"));
		TRY(prepare(scan_to_, "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 "
				      "ORDER BY key LIMIT ?3"));
		TRY(prepare(scan_from_,
			    "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2"));
		TRY(prepare(
			stats_,
			"SELECT count(*), coalesce(sum(length(key) + length(value)), 0) FROM kv"));
		return {};
	}

	Result<std::optional<Bytes>> get(ByteView key) override
	{
		Use s(get_);
		TRY(bind(s, 1, key));
		const int rc = sqlite3_step(s.get());
		if (rc == SQLITE_DONE)
			return std::optional<Bytes>{};
		if (rc != SQLITE_ROW)
			return error(rc, "get");
		return std::optional<Bytes>(TRY(column(s, 0)));
	}

	Result<void> put(ByteView key, ByteView value) override
	{
		Use s(put_);
		TRY(bind(s, 1, key));
		TRY(bind(s, 2, value));
		const int rc = sqlite3_step(s.get());
		if (rc != SQLITE_DONE)
			return error(rc, "put");
		return {};
	}

	Result<bool> remove(ByteView key) override
	{
		Use s(delete_);
		TRY(bind(s, 1, key));
		const int rc = sqlite3_step(s.get());
		if (rc != SQLITE_DONE)
			return error(rc, "delete");
		return sqlite3_changes(db_.get()) > 0;
	}

	Result<ext::ScanResult> scan(const ext::KeyRange &range) override
	{
		const Statement &stmt = range.end ? scan_to_ : scan_from_;
		Use s(stmt);
		TRY(bind(s, 1, range.start));
		int next = 2;
		if (range.end)
			TRY(bind(s, next++, *range.end));
		// One row past the limit says whether the limit cut the range.
		const sqlite3_int64 limit = range.limit == 0 ? -1 : sqlite3_int64(range.limit) + 1;
		sqlite3_bind_int64(s.get(), next, limit);
		ext::ScanResult out;
		for (;;) {
			const int rc = sqlite3_step(s.get());
			if (rc == SQLITE_DONE)
				break;
			if (rc != SQLITE_ROW)
				return error(rc, "scan");
			if (range.limit != 0 && out.entries.size() == range.limit) {
				out.more = true;
				break;
			}
			out.entries.push_back({TRY(column(s, 0)), TRY(column(s, 1))});
		}
		return out;
	}

	Result<void> flush() override
	{
		if (!sqlite3_get_autocommit(db_.get()))
			TRY(exec("COMMIT"));
		return {};
	}

	Result<void> compact() override { return exec("VACUUM"); }

	Result<ext::StorageStats> stats() override
	{
		ext::StorageStats out;
		{
			Use s(stats_);
			const int rc = sqlite3_step(s.get());
			if (rc != SQLITE_ROW)
				return error(rc, "stats");
			out.entries = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0));
			out.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 1));
		}
		out.backend = std::string("sqlite ") + sqlite3_libversion();
		const auto pages = TRY(scalar("PRAGMA page_count"));
		const auto page_size = TRY(scalar("PRAGMA page_size"));
		out.detail = "in-memory database, " + std::to_string(pages) + " pages of " +
			     std::to_string(page_size) + " bytes";
		return out;
	}

	Result<Bytes> export_state() override
	{
		sqlite3_int64 size = 0;
		unsigned char *p = sqlite3_serialize(db_.get(), "main", &size, 0);
		if (!p)
			return error(SQLITE_NOMEM, "cannot serialize the database");
		Bytes out(p, p + size);
		sqlite3_free(p);
		return out;
	}

private:
	// Opens `state` (another version's export_state()) as the main
	// database; refuses bytes that are not a sound SQLite database, so
	// the reload fails rather than starting empty.
	Result<void> restore(ByteView state)
	{
		auto *copy = static_cast<unsigned char *>(sqlite3_malloc64(state.size()));
		if (!copy)
			return error(SQLITE_NOMEM, "cannot take the handed state");
		std::memcpy(copy, state.data(), state.size());
		// FREEONCLOSE: SQLite owns `copy` from here, even on failure.
		const int rc = sqlite3_deserialize(
			db_.get(), "main", copy, sqlite3_int64(state.size()),
			sqlite3_int64(state.size()),
			SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
		if (rc != SQLITE_OK)
			return error(rc, "cannot open the handed state");
		Statement check;
		auto checked = prepare(check, "PRAGMA quick_check");
		const unsigned char *verdict = nullptr;
		if (checked.has_value() && sqlite3_step(check.get()) == SQLITE_ROW)
			verdict = sqlite3_column_text(check.get(), 0);
		const bool ok =
			verdict && std::strcmp(reinterpret_cast<const char *>(verdict), "ok") == 0;
		if (!ok)
			return fail(ErrorCode::FailedPrecondition,
				    "sqlite: the handed state (" + std::to_string(state.size()) +
					    " bytes) is not a sound SQLite database: " +
					    (verdict ? reinterpret_cast<const char *>(verdict)
						     : sqlite3_errmsg(db_.get())));
		return {};
	}

	Result<void> prepare(Statement &out, const char *sql)
	{
		sqlite3_stmt *raw = nullptr;
		const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT,
						  &raw, nullptr);
		out.reset(raw);
		if (rc != SQLITE_OK)
			return fail(ErrorCode::FailedPrecondition,
				    std::string("sqlite: cannot prepare \"") + sql +
					    "\": " + sqlite3_errmsg(db_.get()));
		return {};
	}

	Result<void> exec(const char *sql)
	{
		const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
		if (rc != SQLITE_OK)
			return error(rc, sql);
		return {};
	}

	Result<std::int64_t> scalar(const char *sql)
	{
		Statement s;
		TRY(prepare(s, sql));
		const int rc = sqlite3_step(s.get());
		if (rc != SQLITE_ROW)
			return error(rc, sql);
		return static_cast<std::int64_t>(sqlite3_column_int64(s.get(), 0));
	}

	Result<void> bind(const Use &s, int index, ByteView data)
	{
		// A null pointer would bind NULL; an empty key is an empty BLOB.
		static constexpr unsigned char kEmpty = 0;
		const void *p = data.empty() ? &kEmpty : data.data();
		const int rc = sqlite3_bind_blob64(s.get(), index, p, data.size(), SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return error(rc, "bind");
		return {};
	}

	Result<Bytes> column(const Use &s, int index)
	{
		const auto *p =
			static_cast<const std::uint8_t *>(sqlite3_column_blob(s.get(), index));
		const int n = sqlite3_column_bytes(s.get(), index);
		if (!p && n > 0)
			return error(SQLITE_NOMEM, "read a column");
		return p ? Bytes(p, p + n) : Bytes{};
	}

	bulkhead::Unexpected<bulkhead::Error> error(int rc, const std::string &what) const
	{
		const char *detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
		return fail(code_of(rc), "sqlite: " + what + ": " + detail);
	}

	// The connection outlives its statements: declared first, destroyed last.
	Db db_;
	Statement get_, put_, delete_, scan_to_, scan_from_, stats_;
};

} // namespace

BULKHEAD_PLUGIN(SqliteStorage, "sqlite-storage", "1.0.0", BULKHEAD_STORAGE_OPS)

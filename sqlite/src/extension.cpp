// SPDX-License-Identifier: Apache-2.0
// The SQLite loadable extension's entry points: one Session (a Host) per
// connection, shared by the functions registered on it and destroyed with
// the last of them, when the connection closes.
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <exception>
#include <memory>
#include <new>

#include <fmt/format.h>

#include <bulkhead/log.hpp>

#include "config.hpp"
#include "functions.hpp"

namespace bulkhead::sqlite {

namespace {

// 3.31: the first with SQLITE_DIRECTONLY.
constexpr int kMinimumVersion = 3'031'000;

// Each registration owns one reference: SQLite calls destroy() for each when
// the connection closes, or when the function is registered again.
struct Binding {
	std::shared_ptr<Session> session;
	const Function *function;
};

void destroy(void *p)
{
	delete static_cast<Binding *>(p);
}

void trampoline(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const auto *b = static_cast<const Binding *>(sqlite3_user_data(ctx));
	const Function &f = *b->function;
	try {
		const Args args(f.params, argc, argv);
		auto r = args.expect(f.min_args, f.max_args);
		if (r.has_value())
			r = f.body(*b->session, args, ctx);
		if (!r.has_value())
			report(ctx, f.name, r.error());
	} catch (const std::bad_alloc &) {
		sqlite3_result_error_nomem(ctx);
	} catch (const std::exception &e) {
		report(ctx, f.name, Error(ErrorCode::Internal, e.what()));
	}
}

// Sets the message sqlite3_load_extension reports, and returns `rc`.
int fail(char **message, int rc, const std::string &text)
{
	if (message)
		*message = sqlite3_mprintf("bulkhead: %s", text.c_str());
	return rc;
}

int init(sqlite3 *db, char **message)
{
	if (sqlite3_libversion_number() < kMinimumVersion)
		return fail(message, SQLITE_ERROR,
			    fmt::format("needs SQLite 3.31 or later, this is {}",
					sqlite3_libversion()));
	auto config = config_from_environment();
	if (!config.has_value())
		return fail(message, SQLITE_ERROR, config.error().to_string());
	log::set_min_level(config->log_level);
	auto session = Session::create(std::move(config->host));
	if (!session.has_value())
		return fail(message, SQLITE_ERROR, session.error().to_string());
	const std::shared_ptr<Session> shared = std::move(session).value();
	for (const Function &f : functions()) {
		// On failure SQLite has destroyed the binding already.
		const int rc =
			sqlite3_create_function_v2(db, f.name, -1, f.flags, new Binding{shared, &f},
						   trampoline, nullptr, nullptr, destroy);
		if (rc != SQLITE_OK) {
			const std::string why =
				fmt::format("cannot register {}: {}", f.name, sqlite3_errmsg(db));
			// None half-registered: those before it go again.
			for (const Function &g : functions()) {
				if (&g == &f)
					break;
				sqlite3_create_function_v2(db, g.name, -1, g.flags, nullptr,
							   nullptr, nullptr, nullptr, nullptr);
			}
			return fail(message, rc, why);
		}
	}
	return SQLITE_OK;
}

} // namespace

} // namespace bulkhead::sqlite

// The entry point named after the extension, and the default one SQLite looks
// for when sqlite3_load_extension is given none (`.load PATH`).
extern "C" [[gnu::visibility("default")]] int sqlite3_bulkhead_init(sqlite3 *db, char **message,
								    const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	try {
		return bulkhead::sqlite::init(db, message);
	} catch (const std::bad_alloc &) {
		return SQLITE_NOMEM;
	} catch (const std::exception &e) {
		return bulkhead::sqlite::fail(message, SQLITE_ERROR, e.what());
	}
}

extern "C" [[gnu::visibility("default")]] int
sqlite3_extension_init(sqlite3 *db, char **message, const sqlite3_api_routines *api)
{
	return sqlite3_bulkhead_init(db, message, api);
}

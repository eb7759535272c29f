// SPDX-License-Identifier: Apache-2.0
// The SQL functions, as a table the entry point registers on a connection.
#pragma once

#include <sqlite3ext.h>

#include <span>
#include <string_view>

#include "session.hpp"
#include "sql.hpp"

namespace bulkhead::sqlite {

struct Function {
	const char *name;	 // "bulkhead_call"
	std::string_view params; // "name, op, data": for messages
	int min_args, max_args;
	// SQLITE_DIRECTONLY for what changes the session (load, kill ...):
	// never from a trigger or view of a database someone else wrote.
	int flags;
	// Sets the result on success; the caller reports an error.
	Result<void> (*body)(Session &session, const Args &args, sqlite3_context *ctx);
};

std::span<const Function> functions();

// bulkhead_plugins(): the session's plugins as a JSON array (listing.cpp).
std::string plugins_json(const Session &session);

} // namespace bulkhead::sqlite

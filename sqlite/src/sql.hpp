// SPDX-License-Identifier: Apache-2.0
// The SQLite side of a function call: reading its arguments with errors that
// name the function and the argument, setting its result, and mapping a
// Bulkhead Error onto an SQLite result code.
#pragma once

#include <sqlite3ext.h>

#include <cstdint>
#include <optional>
#include <string>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::sqlite {

// The arguments of one call; `params` names them for messages ("name, op,
// data"). Errors are InvalidArgument, and count arguments from 1 as SQL does.
class Args {
public:
	Args(std::string_view params, int argc, sqlite3_value **argv)
	    : params_(params), argc_(argc), argv_(argv)
	{
	}

	// InvalidArgument unless min <= count <= max.
	Result<void> expect(int min, int max) const;
	int size() const { return argc_; }
	// TEXT only: a name, an operation, a path.
	Result<std::string> text(int i, std::string_view what) const;
	// BLOB or TEXT, borrowed until the function returns; nullopt for NULL.
	Result<std::optional<ByteView>> data(int i, std::string_view what) const;
	Result<std::int64_t> integer(int i, std::string_view what) const;

private:
	Unexpected<Error> wrong_type(int i, std::string_view what, std::string_view expected) const;

	std::string_view params_;
	int argc_;
	sqlite3_value **argv_;
};

// What a caller can do with each ErrorCode, in SQLite's terms
// (docs/sqlite.md has the table).
int sqlite_code(ErrorCode code);

// sqlite3_result_error with "<function>: <error.to_string()>" and the code.
void report(sqlite3_context *ctx, std::string_view function, const Error &error);

// A BLOB result, copied (an empty one is a zero-length BLOB, not NULL).
void result_blob(sqlite3_context *ctx, ByteView bytes);
void result_text(sqlite3_context *ctx, std::string_view text);

} // namespace bulkhead::sqlite

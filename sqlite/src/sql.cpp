// SPDX-License-Identifier: Apache-2.0
// Arguments, results and error codes of the SQL functions.
#include "sql.hpp"

SQLITE_EXTENSION_INIT3

#include <fmt/format.h>

namespace bulkhead::sqlite {

namespace {

std::string_view type_name(int type)
{
	switch (type) {
	case SQLITE_INTEGER:
		return "an integer";
	case SQLITE_FLOAT:
		return "a real";
	case SQLITE_TEXT:
		return "text";
	case SQLITE_BLOB:
		return "a blob";
	case SQLITE_NULL:
		return "NULL";
	}
	return "unknown";
}

} // namespace

Result<void> Args::expect(int min, int max) const
{
	if (argc_ >= min && argc_ <= max)
		return {};
	if (max == 0)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("expected no arguments, got {}", argc_));
	const std::string wanted =
		min == max ? fmt::format("{}", min) : fmt::format("{} or {}", min, max);
	return make_error(ErrorCode::InvalidArgument,
			  fmt::format("expected {} argument{} ({}), got {}", wanted,
				      max == 1 ? "" : "s", params_, argc_));
}

Unexpected<Error> Args::wrong_type(int i, std::string_view what, std::string_view expected) const
{
	return make_error(ErrorCode::InvalidArgument,
			  fmt::format("argument {} ({}) must be {}, not {}", i + 1, what, expected,
				      type_name(sqlite3_value_type(argv_[i]))));
}

Result<std::string> Args::text(int i, std::string_view what) const
{
	if (sqlite3_value_type(argv_[i]) != SQLITE_TEXT)
		return wrong_type(i, what, "text");
	const auto *p = reinterpret_cast<const char *>(sqlite3_value_text(argv_[i]));
	if (!p)
		return make_error(ErrorCode::ResourceExhausted,
				  "out of memory reading an argument");
	return std::string(p, static_cast<std::size_t>(sqlite3_value_bytes(argv_[i])));
}

Result<std::optional<ByteView>> Args::data(int i, std::string_view what) const
{
	sqlite3_value *v = argv_[i];
	const void *p = nullptr;
	switch (sqlite3_value_type(v)) {
	case SQLITE_NULL:
		return std::optional<ByteView>();
	case SQLITE_BLOB:
		p = sqlite3_value_blob(v);
		break;
	case SQLITE_TEXT:
		p = sqlite3_value_text(v);
		break;
	default:
		return wrong_type(i, what, "a blob or text");
	}
	// After the pointer: sqlite3_value_bytes may convert, never before.
	const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
	if (!p && n > 0)
		return make_error(ErrorCode::ResourceExhausted,
				  "out of memory reading an argument");
	return std::optional(ByteView(static_cast<const std::uint8_t *>(p), p ? n : 0));
}

Result<std::int64_t> Args::integer(int i, std::string_view what) const
{
	if (sqlite3_value_type(argv_[i]) != SQLITE_INTEGER)
		return wrong_type(i, what, "an integer");
	return static_cast<std::int64_t>(sqlite3_value_int64(argv_[i]));
}

int sqlite_code(ErrorCode code)
{
	// Never one of the codes SQLite treats as fatal to the transaction
	// (NOMEM, IOERR, FULL, INTERRUPT): a failed plugin fails the
	// statement, and the connection carries on.
	switch (code) {
	case ErrorCode::InvalidArgument:
		return SQLITE_MISMATCH;
	case ErrorCode::NotFound:
		return SQLITE_NOTFOUND;
	case ErrorCode::DeadlineExceeded:
	case ErrorCode::ResourceExhausted:
		return SQLITE_BUSY; // retry later
	case ErrorCode::PluginFailed:
	case ErrorCode::FailedPrecondition:
		return SQLITE_ERROR;
	case ErrorCode::PluginCrashed:
	case ErrorCode::ProtocolViolation:
	case ErrorCode::Unavailable:
		return SQLITE_ABORT;
	case ErrorCode::PermissionDenied:
		return SQLITE_PERM;
	case ErrorCode::Internal:
		return SQLITE_INTERNAL;
	}
	return SQLITE_ERROR;
}

void report(sqlite3_context *ctx, std::string_view function, const Error &error)
{
	const std::string message = fmt::format("{}: {}", function, error.to_string());
	sqlite3_result_error(ctx, message.data(), static_cast<int>(message.size()));
	// After the message: sqlite3_result_error resets the code to SQLITE_ERROR.
	sqlite3_result_error_code(ctx, sqlite_code(error.code));
}

void result_blob(sqlite3_context *ctx, ByteView bytes)
{
	if (bytes.empty())
		sqlite3_result_zeroblob(ctx, 0); // a null pointer would make NULL
	else
		sqlite3_result_blob64(ctx, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
}

void result_text(sqlite3_context *ctx, std::string_view text)
{
	sqlite3_result_text64(ctx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

} // namespace bulkhead::sqlite

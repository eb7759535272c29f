// SPDX-License-Identifier: Apache-2.0
// Whole-file reads and durable writes for the command-line tools, with
// errors that name the file; and JSON string quoting for --json output.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::tools {

// "-" reads standard input.
Result<Bytes> read_file(const std::string &path);

enum class Replace : std::uint8_t { Never, Atomically };

// Writes through a temporary file in the same directory, fsyncs it, then
// renames it over `path` (Replace::Atomically) or links it in only if
// `path` does not exist yet (Replace::Never).
Result<void> write_file(const std::string &path, ByteView bytes, mode_t mode, Replace replace);

// A JSON string literal, quotes included; control characters and bytes
// that are not UTF-8 are escaped as \u00XX.
std::string json_quote(std::string_view text);

} // namespace bulkhead::tools

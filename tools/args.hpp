// SPDX-License-Identifier: Apache-2.0
// A small argument parser for the bulkhead subcommands: "--name value",
// "--name=value", flags, positionals, "--" ending options. Unknown options
// are errors naming them. Also the exit statuses every command shares.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/result.hpp>

namespace bulkhead::tools {

// Exit statuses, the same for every command (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;      // the answer is no: refused, failed, broken
inline constexpr int kExitUsage = 2;   // bad command line
inline constexpr int kExitIo = 3;      // a file could not be read or written
inline constexpr int kExitRefused = 4; // `call`: the bundle was refused before running

struct ParsedArgs {
	std::vector<std::string> positional;
	std::map<std::string, std::vector<std::string>, std::less<>> values;
	std::set<std::string, std::less<>> flags;

	bool has(std::string_view flag) const { return flags.contains(flag); }
	std::optional<std::string> value(std::string_view name) const;
	std::vector<std::string> all(std::string_view name) const;
};

// "--help" and "-h" are always flags.
Result<ParsedArgs> parse_args(std::span<char *const> args, std::initializer_list<std::string_view> flags,
			      std::initializer_list<std::string_view> valued);

} // namespace bulkhead::tools

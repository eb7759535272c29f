// SPDX-License-Identifier: Apache-2.0
// Parsing subcommand arguments.
#include "args.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bulkhead::tools {

std::optional<std::string> ParsedArgs::value(std::string_view name) const
{
	auto it = values.find(name);
	if (it == values.end() || it->second.empty())
		return std::nullopt;
	return it->second.back();
}

std::vector<std::string> ParsedArgs::all(std::string_view name) const
{
	auto it = values.find(name);
	return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<ParsedArgs> parse_args(std::span<char *const> args, std::initializer_list<std::string_view> flags,
			      std::initializer_list<std::string_view> valued)
{
	ParsedArgs out;
	auto is = [](std::initializer_list<std::string_view> set, std::string_view a) {
		return std::find(set.begin(), set.end(), a) != set.end();
	};
	bool options = true;
	for (std::size_t i = 0; i < args.size(); ++i) {
		std::string_view a = args[i];
		if (!options || a == "-" || !a.starts_with("-")) {
			out.positional.emplace_back(a);
			continue;
		}
		if (a == "--") {
			options = false;
			continue;
		}
		if (a == "--help" || a == "-h" || is(flags, a)) {
			out.flags.emplace(a == "-h" ? "--help" : a);
			continue;
		}
		std::string_view name = a.substr(0, a.find('='));
		if (!is(valued, name))
			return make_error(ErrorCode::InvalidArgument, fmt::format("unknown option '{}'", name));
		if (name.size() < a.size()) {
			out.values[std::string(name)].emplace_back(a.substr(name.size() + 1));
		} else if (i + 1 < args.size()) {
			out.values[std::string(name)].emplace_back(args[++i]);
		} else {
			return make_error(ErrorCode::InvalidArgument, fmt::format("option '{}' needs a value", name));
		}
	}
	return out;
}

} // namespace bulkhead::tools

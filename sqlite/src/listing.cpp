// SPDX-License-Identifier: Apache-2.0
// bulkhead_plugins(): the session's plugins as JSON, for json_each().
#include <fmt/format.h>

#include "functions.hpp"

namespace bulkhead::sqlite {

namespace {

void append_json_string(std::string &out, std::string_view s)
{
	out += '"';
	for (const char ch : s) {
		const auto c = static_cast<unsigned char>(ch);
		switch (c) {
		case '"':
			out += "\\\"";
			break;
		case '\\':
			out += "\\\\";
			break;
		case '\n':
			out += "\\n";
			break;
		case '\r':
			out += "\\r";
			break;
		case '\t':
			out += "\\t";
			break;
		default:
			if (c < 0x20)
				out += fmt::format("\\u{:04x}", c);
			else
				out += ch; // UTF-8 passes through
		}
	}
	out += '"';
}

void append_field(std::string &out, std::string_view key, std::string_view value)
{
	append_json_string(out, key);
	out += ':';
	append_json_string(out, value);
	out += ',';
}

} // namespace

std::string plugins_json(const Session &session)
{
	std::string out = "[";
	for (const auto &loaded : session.loaded()) {
		const PluginInfo info = loaded->plugin.info();
		out += '{';
		append_field(out, "name", loaded->name);
		append_field(out, "plugin", info.name);
		append_field(out, "version", info.version);
		append_field(out, "state", to_string(info.state));
		out += fmt::format("\"alive\":{},\"pid\":{},\"instance\":{},\"restarts\":{},",
				   info.alive, info.pid, info.instance, info.restarts);
		append_field(out, "runtime", info.runtime);
		append_field(out, "source", info.source);
		append_field(out, "key_id", info.key_id);
		out += "\"operations\":[";
		for (std::size_t i = 0; i < info.operations.size(); ++i) {
			if (i)
				out += ',';
			append_json_string(out, info.operations[i]);
		}
		out += "]},";
	}
	if (out.back() == ',')
		out.back() = ']';
	else
		out += ']';
	return out;
}

} // namespace bulkhead::sqlite

// SPDX-License-Identifier: Apache-2.0
// A plugin built under several names and versions (BULKHEAD_TEST_NAME,
// BULKHEAD_TEST_VERSION) for the dependency-graph tests, which sign
// manifests naming dependencies between them. It also implements custom
// operation anchors for the operations tests: `trim.before` strips spaces
// around the input, `upper.define` upper-cases it, `suffix.after` appends
// the plugin's name to the output, `refuse.before` refuses; `who` answers
// "name version".
#include <algorithm>
#include <cctype>
#include <string>

#include <bulkhead/sdk/operation.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::Result;

class Named final : public bulkhead::sdk::Plugin {
public:
	Result<Bytes> call(std::string_view op, ByteView in) override
	{
		if (op == "who") {
			const std::string s = std::string(BULKHEAD_TEST_NAME) + " " + BULKHEAD_TEST_VERSION;
			return Bytes(s.begin(), s.end());
		}
		auto inv = TRY(bulkhead::sdk::invocation(in));
		if (op == "trim.before") {
			auto b = std::find_if_not(inv.input.begin(), inv.input.end(), [](auto c) { return c == ' '; });
			auto e = std::find_if_not(inv.input.rbegin(), inv.input.rend(), [](auto c) { return c == ' '; }).base();
			return bulkhead::sdk::answer(b < e ? Bytes(b, e) : Bytes{});
		}
		if (op == "upper.define") {
			for (auto &c : inv.input)
				c = static_cast<std::uint8_t>(std::toupper(c));
			return bulkhead::sdk::answer(inv.input);
		}
		if (op == "suffix.after") {
			const std::string s = std::string("+") + BULKHEAD_TEST_NAME;
			inv.output.insert(inv.output.end(), s.begin(), s.end());
			return bulkhead::sdk::answer(inv.output);
		}
		if (op == "refuse.before")
			return bulkhead::sdk::fail(bulkhead::ErrorCode::InvalidArgument,
						   "refused: " + std::string(inv.input.begin(), inv.input.end()));
		return bulkhead::sdk::fail(bulkhead::ErrorCode::NotFound, std::string("no operation ") + std::string(op));
	}
};

} // namespace

BULKHEAD_PLUGIN(Named, BULKHEAD_TEST_NAME, BULKHEAD_TEST_VERSION, "who", "trim.before", "upper.define",
		"suffix.after", "refuse.before")

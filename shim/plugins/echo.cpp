// SPDX-License-Identifier: Apache-2.0
// Example plugin: echoes or reverses its input; `fail` shows an error answer.
#include <algorithm>
#include <chrono>

#include <bulkhead/sdk/plugin.hpp>

namespace {

class Echo final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		if (op == "echo")
			return bulkhead::Bytes(in.begin(), in.end());
		if (op == "reverse") {
			bulkhead::Bytes out(in.rbegin(), in.rend());
			return out;
		}
		if (op == "slow") {
			// Busy for as many milliseconds as the first byte says.
			auto until = std::chrono::steady_clock::now() +
				     std::chrono::milliseconds(in.empty() ? 0 : in[0]);
			while (std::chrono::steady_clock::now() < until) {
			}
			return bulkhead::Bytes(in.begin(), in.end());
		}
		return bulkhead::sdk::fail(bulkhead::ErrorCode::InvalidArgument,
					   "echo refuses on purpose: " +
						   std::string(bulkhead::as_string(in)));
	}
};

} // namespace

BULKHEAD_PLUGIN(Echo, "echo", "1.0.0", "echo", "reverse", "slow", "fail")

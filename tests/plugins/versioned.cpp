// SPDX-License-Identifier: Apache-2.0
// A plugin built in several versions (BULKHEAD_TEST_VERSION) for the reload
// tests: `who` answers its version, `echo` its input, `slow` holds a call
// open for as many milliseconds as its first byte says. Version "0.0.0"
// refuses init, as a broken release would; "0.0.1" hangs in init.
#include <chrono>
#include <string>
#include <thread>

#include <bulkhead/sdk/plugin.hpp>

namespace {

class Versioned final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<void> init(bulkhead::ByteView) override
	{
		if (std::string(BULKHEAD_TEST_VERSION) == "0.0.0")
			return bulkhead::sdk::fail(bulkhead::ErrorCode::FailedPrecondition, "this release is broken");
		if (std::string(BULKHEAD_TEST_VERSION) == "0.0.1")
			std::this_thread::sleep_for(std::chrono::minutes(10)); // an init that hangs
		return {};
	}

	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		if (op == "who")
			return bulkhead::Bytes(bulkhead::as_bytes(BULKHEAD_TEST_VERSION).begin(),
					       bulkhead::as_bytes(BULKHEAD_TEST_VERSION).end());
		if (op == "slow")
			std::this_thread::sleep_for(std::chrono::milliseconds(in.empty() ? 0 : in[0]));
		std::string out = std::string(BULKHEAD_TEST_VERSION) + ":" + std::string(bulkhead::as_string(in));
		return bulkhead::Bytes(out.begin(), out.end());
	}
};

} // namespace

BULKHEAD_PLUGIN(Versioned, "versioned", BULKHEAD_TEST_VERSION, "who", "echo", "slow")

// SPDX-License-Identifier: Apache-2.0
// A test plugin whose shutdown hook never returns, for the hook deadline
// tests: `who` answers its name, so the tests can tell it serves.
#include <chrono>
#include <thread>

#include <bulkhead/sdk/plugin.hpp>

namespace {

class Stubborn final : public bulkhead::sdk::Plugin {
public:
	void shutdown() override { std::this_thread::sleep_for(std::chrono::minutes(10)); }

	bulkhead::Result<bulkhead::Bytes> call(std::string_view, bulkhead::ByteView) override
	{
		return bulkhead::Bytes(bulkhead::as_bytes("stubborn").begin(), bulkhead::as_bytes("stubborn").end());
	}
};

} // namespace

BULKHEAD_PLUGIN(Stubborn, "stubborn", "1.0.0", "who")

// SPDX-License-Identifier: Apache-2.0
// A plugin built in several versions (BULKHEAD_TEST_VERSION) for the reload
// tests: `who` answers its version, `echo` its input, `slow` holds a call
// open for as many milliseconds as its first byte says. Version "0.0.0"
// refuses init, as a broken release would; "0.0.1" hangs in init.
// State hand-off: `remember` keeps its input as the plugin's state (an
// input of "big:N" keeps N patterned bytes), `recall` answers it, `digest`
// its size and hash, and the
// state goes to the next version at a reload; `export_fails` and
// `export_hangs` make the next export fail or hang.
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
		state_.assign(handed_state().begin(), handed_state().end());
		return {};
	}

	bulkhead::Result<bulkhead::Bytes> export_state() override
	{
		if (export_ == Export::Fails)
			return bulkhead::sdk::fail(bulkhead::ErrorCode::Internal, "the cache is inconsistent");
		if (export_ == Export::Hangs)
			std::this_thread::sleep_for(std::chrono::minutes(10));
		return state_;
	}

	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		if (op == "who")
			return bulkhead::Bytes(bulkhead::as_bytes(BULKHEAD_TEST_VERSION).begin(),
					       bulkhead::as_bytes(BULKHEAD_TEST_VERSION).end());
		if (op == "slow")
			std::this_thread::sleep_for(std::chrono::milliseconds(in.empty() ? 0 : in[0]));
		if (op == "remember") {
			const std::string s(bulkhead::as_string(in));
			if (s.starts_with("big:")) {
				state_.resize(std::stoul(s.substr(4)));
				for (std::size_t i = 0; i < state_.size(); ++i)
					state_[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
			} else {
				state_.assign(in.begin(), in.end());
			}
			return bulkhead::Bytes{};
		}
		if (op == "recall")
			return state_;
		if (op == "digest") { // size and FNV-1a of the state, as text
			std::uint64_t h = 14695981039346656037ull;
			for (auto b : state_)
				h = (h ^ b) * 1099511628211ull;
			const std::string s = std::to_string(state_.size()) + ":" + std::to_string(h);
			return bulkhead::Bytes(s.begin(), s.end());
		}
		if (op == "export_fails" || op == "export_hangs") {
			export_ = op == "export_fails" ? Export::Fails : Export::Hangs;
			return bulkhead::Bytes{};
		}
		std::string out = std::string(BULKHEAD_TEST_VERSION) + ":" + std::string(bulkhead::as_string(in));
		return bulkhead::Bytes(out.begin(), out.end());
	}

private:
	enum class Export { Normal, Fails, Hangs };
	bulkhead::Bytes state_;
	Export export_ = Export::Normal;
};

} // namespace

BULKHEAD_PLUGIN(Versioned, "versioned", BULKHEAD_TEST_VERSION, "who", "echo", "slow", "remember", "recall",
		"digest", "export_fails", "export_hangs")

// SPDX-License-Identifier: Apache-2.0
// Example compute plugin: hashes its input with BLAKE2b (libsodium) or FNV-1a.
#include <sodium.h>

#include <bulkhead/sdk/plugin.hpp>

namespace {

class Hash final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<void> init(bulkhead::ByteView) override
	{
		if (sodium_init() < 0)
			return bulkhead::sdk::fail(bulkhead::ErrorCode::Internal,
						   "libsodium failed to initialise");
		return {};
	}

	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		if (op == "blake2b") {
			bulkhead::Bytes out(crypto_generichash_BYTES);
			crypto_generichash(out.data(), out.size(), in.data(), in.size(), nullptr, 0);
			return out;
		}
		// FNV-1a 64, little-endian.
		std::uint64_t h = 14695981039346656037ull;
		for (std::uint8_t b : in)
			h = (h ^ b) * 1099511628211ull;
		bulkhead::Bytes out(8);
		for (int i = 0; i < 8; ++i)
			out[i] = static_cast<std::uint8_t>(h >> (8 * i));
		return out;
	}
};

} // namespace

BULKHEAD_PLUGIN(Hash, "hash", "1.0.0", "blake2b", "fnv1a")

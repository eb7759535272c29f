// SPDX-License-Identifier: Apache-2.0
// The compute plugin built natively, for the benchmark's baseline.
#include <bulkhead/sdk/plugin.hpp>

#include "compute_kernel.h"

namespace {

class Compute final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		const std::uint32_t n = compute_u32(in.data(), in.size());
		if (op == "sieve") {
			const std::uint32_t r = compute_sieve(n);
			const auto *p = reinterpret_cast<const std::uint8_t *>(&r);
			return bulkhead::Bytes(p, p + sizeof r);
		}
		if (op == "xorshift") {
			const std::uint64_t r = compute_xorshift(n);
			const auto *p = reinterpret_cast<const std::uint8_t *>(&r);
			return bulkhead::Bytes(p, p + sizeof r);
		}
		return bulkhead::Bytes(in.begin(), in.end());
	}
};

} // namespace

BULKHEAD_PLUGIN(Compute, "compute", "1.0.0", "sieve", "xorshift", "echo")

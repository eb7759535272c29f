// SPDX-License-Identifier: Apache-2.0
// Example wasm plugin: the compute kernel (input: u32 little-endian).
#include <bulkhead/wasm_sdk/plugin.hpp>

#include "compute_kernel.h"

using namespace bulkhead::wasm_sdk;

namespace {

class Compute {
public:
	Answer init(ByteView) { return Answer::ok(); }
	Answer call(Name op, ByteView in)
	{
		const uint32_t n = compute_u32(in.data, in.size);
		if (op == "sieve") {
			const uint32_t r = compute_sieve(n);
			return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(&r), sizeof r});
		}
		if (op == "xorshift") {
			const uint64_t r = compute_xorshift(n);
			return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(&r), sizeof r});
		}
		return Answer::ok(in); // "echo": the round-trip probe
	}
	void shutdown() {}
};

} // namespace

BULKHEAD_WASM_PLUGIN(Compute, "compute", "1.0.0", "sieve", "xorshift", "echo")

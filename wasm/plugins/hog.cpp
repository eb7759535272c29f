// SPDX-License-Identifier: Apache-2.0
// Example wasm plugin that wants memory: grows until refused, reads out
// of bounds. Built twice: once plain, once declaring a huge initial memory.
#include <bulkhead/wasm_sdk/plugin.hpp>

using namespace bulkhead::wasm_sdk;

namespace {

class Hog {
public:
	Answer init(ByteView) { return Answer::ok(); }
	Answer call(Name op, ByteView)
	{
		if (op == "grow") {
			// Answers {pages now, what the refused grow returned}.
			int32_t last = 0;
			while ((last = __builtin_wasm_memory_grow(0, 16)) != -1) {
			}
			const uint32_t out[2] = {static_cast<uint32_t>(__builtin_wasm_memory_size(0)),
						 static_cast<uint32_t>(last)};
			return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(out), sizeof out});
		}
		if (op == "oob") {
			const uintptr_t end = __builtin_wasm_memory_size(0) * 65536u;
			volatile uint32_t v = *reinterpret_cast<volatile uint32_t *>(end + 16);
			return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(const_cast<uint32_t *>(&v)), 4});
		}
		const uint32_t pages = static_cast<uint32_t>(__builtin_wasm_memory_size(0));
		return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(&pages), 4});
	}
	void shutdown() {}
};

} // namespace

BULKHEAD_WASM_PLUGIN(Hog, "hog", "1.0.0", "grow", "oob", "pages")

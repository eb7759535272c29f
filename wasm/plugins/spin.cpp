// SPDX-License-Identifier: Apache-2.0
// Example wasm plugin that runs away: an endless loop, endless recursion,
// and a ping that shows the instance still answers afterwards.
#include <bulkhead/wasm_sdk/plugin.hpp>

using namespace bulkhead::wasm_sdk;

namespace {

volatile uint32_t sink;

__attribute__((noinline)) uint32_t recurse(uint32_t depth)
{
	volatile uint8_t frame[64];
	frame[depth % 64] = static_cast<uint8_t>(depth);
	if (sink == 0xdeadbeef) // never: keeps clang from proving it endless
		return 0;
	return recurse(depth + 1) + frame[0]; // not a tail call
}

class Spin {
public:
	Answer init(ByteView) { return Answer::ok(); }
	Answer call(Name op, ByteView in)
	{
		if (op == "spin")
			for (;;)
				sink = sink + 1;
		if (op == "recurse")
			sink = recurse(0);
		if (op == "count") { // counts to the u32 input: a fuel probe
			uint32_t n = 0;
			if (in.size >= 4)
				memcpy(&n, in.data, 4);
			for (uint32_t i = 0; i < n; ++i)
				sink = sink + 1;
		}
		static const uint8_t pong[] = {'p', 'o', 'n', 'g'};
		return Answer::ok(ByteView{pong, sizeof pong});
	}
	void shutdown() {}
};

} // namespace

BULKHEAD_WASM_PLUGIN(Spin, "spin", "1.0.0", "spin", "recurse", "count", "ping")

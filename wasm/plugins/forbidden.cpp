// SPDX-License-Identifier: Apache-2.0
// Example wasm plugin that imports what no plugin may have: the host must
// refuse it at load, naming the imports.
#include <bulkhead/wasm_sdk/plugin.hpp>

using namespace bulkhead::wasm_sdk;

extern "C" {
__attribute__((import_module("env"), import_name("open_socket"))) int32_t open_socket(int32_t port);
__attribute__((import_module("bulkhead"), import_name("spawn_process"))) int32_t spawn_process(int32_t);
}

namespace {

class Forbidden {
public:
	Answer init(ByteView) { return Answer::ok(); }
	Answer call(Name, ByteView)
	{
		const int32_t r = open_socket(80) + spawn_process(0);
		return Answer::ok(ByteView{reinterpret_cast<const uint8_t *>(&r), 4});
	}
	void shutdown() {}
};

} // namespace

BULKHEAD_WASM_PLUGIN(Forbidden, "forbidden", "1.0.0", "call")

// SPDX-License-Identifier: Apache-2.0
// The native shim's runtime hook: native plugins only.
#include "runtime_hook.hpp"

namespace bulkhead::shim {

bool take_runtime_flag(std::string_view, std::string_view) { return false; }

Result<const bulkhead_plugin_descriptor *> load_wasm_plugin(const std::string &label)
{
	return make_error(ErrorCode::FailedPrecondition,
			  "cannot load plugin " + label +
				  ": it is WebAssembly and this shim runs native plugins only "
				  "(the broker starts bulkhead-wasm-shim for WebAssembly)");
}

std::string_view runtime_name() { return "native"; }

void set_call_deadline(Deadline) {}

} // namespace bulkhead::shim

// SPDX-License-Identifier: Apache-2.0
// The shim's one seam for non-native runtimes. bulkhead-shim links the
// native-only version (runtime_native.cpp); bulkhead-wasm-shim links the
// WebAssembly runner (wasm/runtime/shim_hook.cpp), so the native shim never
// carries libwabt or the wasm2c runtime.
#pragma once

#include <string>
#include <string_view>

#include <bulkhead/deadline.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::shim {

// Takes a runtime flag ("--wasm-…") and its value; false: not one of ours.
bool take_runtime_flag(std::string_view flag, std::string_view value);

// Loads a WebAssembly payload (kPayloadFd; tier A's object at kAotFd) as a
// plugin descriptor the serving loop drives like a native one.
Result<const bulkhead_plugin_descriptor *> load_wasm_plugin(const std::string &label);

// What runs the plugin, for the handshake: "native", "wasm-aot", "wasm-interp".
std::string_view runtime_name();

// The deadline of the call the serving loop is about to make.
void set_call_deadline(Deadline deadline);

} // namespace bulkhead::shim

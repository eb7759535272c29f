// SPDX-License-Identifier: Apache-2.0
// Preparing a WebAssembly payload before its shim is spawned: the import
// and memory check, the tier choice, metering, and tier A's compile through
// the cache. Everything that runs a compiler happens here, in the broker,
// never in the shim.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <bulkhead/broker/payload.hpp>
#include <bulkhead/wasm/aot_cache.hpp>
#include <bulkhead/wasm/options.hpp>

namespace bulkhead::broker {

struct WasmSettings {
	std::string shim_path;  // bulkhead-wasm-shim
	std::string cache_dir;  // tier A's objects; empty: wasm::default_cache_dir()
	std::string wasm2c;     // empty: found in /usr/bin
	std::string cc;         // empty: gcc from /usr/bin
	wasm::RunOptions run;
	wasm::Progress progress; // compile steps, for people watching
};

struct WasmLaunch {
	std::string executable;
	std::vector<std::string> args; // appended to the shim's argv
	wasm::Tier tier = wasm::Tier::Interp;
	std::optional<SealedPayload> object; // tier A: descriptor kAotFd
};

// PermissionDenied listing forbidden imports, ResourceExhausted for too much
// initial memory, FailedPrecondition when a build step fails or tier A was
// required without a toolchain.
Result<WasmLaunch> prepare_wasm(const SealedPayload &payload, const WasmSettings &settings);

} // namespace bulkhead::broker

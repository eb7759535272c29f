// SPDX-License-Identifier: Apache-2.0
// Preparing a WebAssembly payload before its shim is spawned: the import
// and memory check, the tier choice, metering, and tier A's compile through
// the cache. Everything that runs a compiler happens here, in the broker,
// never in the shim.
#pragma once

#include <cstdint>
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
	// The sandbox's memory limit, which linear memory must fit under
	// (fit_wasm_memory lowers run.memory_cap_bytes); 0: not sandboxed.
	std::uint64_t sandbox_memory_limit = 0;
};

struct WasmLaunch {
	std::string executable;
	std::vector<std::string> args; // appended to the shim's argv
	wasm::Tier tier = wasm::Tier::Interp;
	std::optional<SealedPayload> object; // tier A: descriptor kAotFd
	std::string memory_note; // the cap given, and why (sandbox report "wasm-memory")
};

// PermissionDenied listing forbidden imports, ResourceExhausted for too much
// initial memory, FailedPrecondition when a build step fails or tier A was
// required without a toolchain.
Result<WasmLaunch> prepare_wasm(const SealedPayload &payload, const WasmSettings &settings);

// Whether memory.grow copies linear memory (the interpreter's vector, tier
// A's realloc in sanitizer builds) or grows it in place (tier A's guard
// region): a copy holds the old and the new memory at once.
enum class Growth : std::uint8_t { InPlace, Copies };

// The linear-memory cap a sandboxed wasm plugin gets: `cap` when it fits
// under `sandbox_limit` beside the wasm shim's own memory (half of what is
// left when growth copies), else lowered to what does, in whole pages, so
// memory.grow returns -1 before the cgroup kills. `note` says which.
// InvalidArgument when the limit leaves no room at all.
Result<std::uint64_t> fit_wasm_memory(std::uint64_t cap, std::uint64_t sandbox_limit, Growth growth,
				      std::string &note);


} // namespace bulkhead::broker

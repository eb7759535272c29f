// SPDX-License-Identifier: Apache-2.0
// How a WebAssembly plugin runs: tier, fuel budget, memory cap, per-call
// limit, granted capabilities. Chosen by the host (HostOptions, LoadOptions),
// carried to the shim on its command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulkhead::wasm {

enum class Tier : std::uint8_t {
	Aot,    // wasm2c + gcc, cached: native speed, seconds to build once
	Interp, // the wabt interpreter: instant start, exact instruction fuel
};
std::string_view to_string(Tier tier); // "wasm-aot", "wasm-interp"

// When the host picks the interpreter on its own.
enum class TierPolicy : std::uint8_t {
	Auto,        // AOT; the interpreter when no compiler is found
	Aot,         // AOT or fail
	Interp,      // always the interpreter (deterministic runs)
	InstantStart,// AOT when cached already, else the interpreter
};

inline constexpr std::uint64_t kDefaultMemoryCapBytes = 256ull << 20;

struct RunOptions {
	TierPolicy tier = TierPolicy::Auto;
	// Deterministic fuel: the budget for the instance's whole life, in
	// instructions (AOT: counted by the metering pass; interpreter: exact).
	// Empty: no metering.
	std::optional<std::uint64_t> fuel;
	// Linear memory cap; memory.grow past it returns -1, a module whose
	// initial memory exceeds it is refused at load.
	std::uint64_t memory_cap_bytes = kDefaultMemoryCapBytes;
	// Longest one call may run in the guest before it traps with
	// DeadlineExceeded (the instance stays usable). Zero: only the call's
	// own deadline, trapped just before it.
	std::chrono::milliseconds call_limit{0};
	// Host functions beyond the always-granted ones: "log".
	std::vector<std::string> capabilities{"log"};
};

// The shim's command-line flags for the runner, each followed by a value.
inline constexpr std::string_view kTierFlag = "--wasm-tier";       // wasm-aot | wasm-interp
inline constexpr std::string_view kFuelFlag = "--wasm-fuel";       // decimal instructions
inline constexpr std::string_view kMemoryPagesFlag = "--wasm-memory-pages";
inline constexpr std::string_view kCallLimitFlag = "--wasm-call-limit-ms";

// Operation the wasm shim adds after the plugin's own: answers the fuel left
// as 8 bytes little-endian, without entering the guest.
inline constexpr std::string_view kFuelOperation = "bulkhead.fuel_remaining";

} // namespace bulkhead::wasm

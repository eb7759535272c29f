// SPDX-License-Identifier: Apache-2.0
// Engine: one instantiated guest module behind either tier. The shim calls
// the guest's exports through it; a trap comes back as a structured Error
// (deadline_exceeded, fuel_exhausted, out of bounds, ...), never a crash.
//
// Threads: the shim's serving thread only (the wasm2c runtime and its
// signal handling are per process and per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include <bulkhead/deadline.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::wasm {

// The exports the shim calls. Initialize and Reset are optional: invoking
// one the module lacks does nothing.
enum class Entry : std::uint8_t { Initialize, Describe, Buffer, Init, Call, Shutdown, Reset };

// What makes a call stop early, besides a trap of the guest's own.
struct CallBounds {
	Deadline trap_at = Deadline::never(); // trap with deadline_exceeded from here
};

class Engine {
public:
	virtual ~Engine() = default;

	// "wasm-aot" or "wasm-interp".
	virtual std::string_view tier() const = 0;
	// Calls an export with up to two i32 arguments; its i32 result, or 0.
	// Initialize is a no-op for a module that has no _initialize.
	virtual Result<std::uint32_t> invoke(Entry entry, std::uint32_t a, std::uint32_t b,
					     const CallBounds &bounds) = 0;
	// The guest's linear memory as it is now; invalid after the next invoke.
	virtual std::span<std::uint8_t> memory() = 0;
	// Fuel left, when the instance has a budget.
	virtual std::optional<std::uint64_t> fuel() const = 0;
};

// The Error a trap becomes. `what` is the engine's own description.
enum class TrapKind : std::uint8_t { Deadline, Fuel, OutOfBounds, StackExhausted, Other };
Error trap_error(TrapKind kind, std::string_view what);

} // namespace bulkhead::wasm

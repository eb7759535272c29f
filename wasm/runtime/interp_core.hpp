// SPDX-License-Identifier: Apache-2.0
// The wabt interpreter behind a C++17 interface: libwabt's headers do not
// compile as C++20 (g++ 12 rejects their template-id destructors), so
// interp_core.cpp is built as C++17 and the rest of the runner sees only this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace bulkhead::wasm::interp {

enum class Stop : std::uint8_t { Return, Trap, Fuel, Deadline };

struct Outcome {
	Stop stop = Stop::Return;
	std::uint32_t value = 0; // the i32 result, with Return
	std::string trap;        // the interpreter's words, with Trap
};

// A host function: i32/i64 arguments widened to u64; the result (if any)
// written to *result. Returns false to trap (out of bounds).
using HostFn = std::function<bool(const std::uint64_t *args, std::uint64_t *result,
				  std::uint8_t *memory, std::size_t memory_size)>;
// The host function for an import, or an empty HostFn to refuse it.
using Resolver = std::function<HostFn(const std::string &module, const std::string &name)>;

class Core {
public:
	virtual ~Core() = default;
	// Reads, caps memory at `cap_pages`, instantiates. Null with *error set.
	static std::unique_ptr<Core> load(const std::uint8_t *data, std::size_t size,
					  std::uint64_t cap_pages, const Resolver &resolve,
					  std::string *error);
	// Runs an exported function with up to two i32 arguments. `trap_at_ns`
	// (CLOCK_MONOTONIC, 0: none) is checked between slices of instructions;
	// `fuel`, when given, is charged one per instruction, exactly.
	virtual Outcome invoke(const char *name, std::uint32_t a, std::uint32_t b,
			       std::int64_t trap_at_ns, std::uint64_t *fuel) = 0;
	virtual bool has_function(const char *name) const = 0;
	virtual std::uint8_t *memory_data() = 0;
	virtual std::size_t memory_size() = 0;
};

} // namespace bulkhead::wasm::interp

// SPDX-License-Identifier: Apache-2.0
// ModuleInfo: what the broker reads from a WebAssembly binary before any of
// it runs: function types, every import (of every kind, in order), exports
// and memories. A small reader of the binary format's sections; it does not
// validate code (wasm2c and the interpreter do).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::wasm {

// The binary's first four bytes.
inline constexpr std::uint8_t kWasmMagic[4] = {0x00, 'a', 's', 'm'};
bool is_wasm(ByteView bytes);

inline constexpr std::uint64_t kPageBytes = 65536;

enum class ExternKind : std::uint8_t { Func = 0, Table = 1, Memory = 2, Global = 3, Tag = 4 };
std::string_view to_string(ExternKind kind);

// Value types by their binary code: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64.
struct FuncType {
	std::vector<std::uint8_t> params;
	std::vector<std::uint8_t> results;
	bool operator==(const FuncType &) const = default;
};
// "(i32, i32) -> i32"
std::string describe(const FuncType &type);

struct Limits {
	std::uint64_t initial = 0;
	std::optional<std::uint64_t> max;
};

struct Import {
	std::string module;
	std::string name;
	ExternKind kind = ExternKind::Func;
	std::uint32_t type_index = 0; // with Func
	Limits limits;                // with Memory and Table
};

struct Export {
	std::string name;
	ExternKind kind = ExternKind::Func;
	std::uint32_t index = 0;
};

struct ModuleInfo {
	std::vector<FuncType> types;
	std::vector<Import> imports;
	std::vector<std::uint32_t> function_types; // type index of each defined function
	std::vector<Limits> memories;              // defined memories
	std::vector<Export> exports;

	// InvalidArgument naming the offset and section when `bytes` is not a
	// well-formed module at the section level.
	static Result<ModuleInfo> parse(ByteView bytes);

	std::uint32_t imported_functions() const;
	// The type of function `index` (imports first), if it has one.
	const FuncType *function_type(std::uint32_t index) const;
	const Export *find_export(std::string_view name) const;
};

} // namespace bulkhead::wasm

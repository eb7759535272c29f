// SPDX-License-Identifier: Apache-2.0
// The host ABI a guest may import, and the check that refuses a module
// importing anything else (any non-function import included), lacking an
// export the shim calls, or declaring more memory than the cap.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/result.hpp>
#include <bulkhead/wasm/module_info.hpp>

namespace bulkhead::wasm {

struct HostFunction {
	std::string_view module;
	std::string_view name;
	FuncType type;
	std::string_view capability; // empty: always granted
};

// Every function the shim provides to guests.
std::span<const HostFunction> host_functions();

// PermissionDenied listing every offending import ("env.open_socket
// (function, not in the host ABI)", "env.memory (memory import)", ...);
// InvalidArgument for a missing or mistyped export; ResourceExhausted for an
// initial memory over `memory_cap_bytes`.
Result<void> check_module(const ModuleInfo &module, std::span<const std::string> capabilities,
			  std::uint64_t memory_cap_bytes);

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// The host functions guests import (wasm_sdk/abi.h), engine-independent:
// each engine adapts its calling convention and turns `false` into an
// out-of-bounds trap.
#pragma once

#include <cstdint>
#include <span>

#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::wasm {

// Where the answer of the guest call in progress goes; set by the shim
// around each call into the guest.
struct HostContext {
	const bulkhead_host_api *api = nullptr;
	bulkhead_reply *reply = nullptr;
	bool answered = false;
};
HostContext &host_context();

// Each returns false when [ptr, ptr + size) is not inside `memory`.
bool host_reply_ok(std::span<const std::uint8_t> memory, std::uint32_t ptr, std::uint32_t size);
bool host_reply_error(std::span<const std::uint8_t> memory, std::uint32_t code, std::uint32_t ptr,
		      std::uint32_t size);
bool host_log(std::span<const std::uint8_t> memory, std::int32_t level, std::uint32_t ptr,
	      std::uint32_t size);

// WASI calls wasi-libc may make: the answer every stub gives.
inline constexpr std::uint32_t kWasiNoSys = 52; // ENOSYS

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// What a plugin's answer code means to the host: only the codes the ABI
// lists (enum bulkhead_status) pass; anything else, and the codes that
// describe an instance's own death, become PluginFailed. Shared by the
// shim and the host's in-process placement, which both receive answers.
#pragma once

#include <cstdint>

#include <bulkhead/error.hpp>
#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::sdk {

inline ErrorCode code_of_status(std::uint16_t status)
{
	switch (status) {
	case BULKHEAD_INVALID_ARGUMENT:
	case BULKHEAD_NOT_FOUND:
	case BULKHEAD_DEADLINE_EXCEEDED:
	case BULKHEAD_RESOURCE_EXHAUSTED:
	case BULKHEAD_PLUGIN_FAILED:
	case BULKHEAD_PERMISSION_DENIED:
	case BULKHEAD_FAILED_PRECONDITION:
	case BULKHEAD_INTERNAL: return static_cast<ErrorCode>(status);
	default: return ErrorCode::PluginFailed;
	}
}

} // namespace bulkhead::sdk

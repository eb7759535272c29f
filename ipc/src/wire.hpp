// SPDX-License-Identifier: Apache-2.0
// Encoding and decoding of the call messages (ipc/schema/channel.fbs).
#pragma once

#include <cstdint>
#include <optional>

#include <bulkhead/error.hpp>

#include "channel_generated.h"

namespace bulkhead::ipc::wire {

inline bulkhead::wire::Status to_status(ErrorCode code)
{
	return static_cast<bulkhead::wire::Status>(code);
}

// Maps a status from the peer; nullopt for a value outside the set.
inline std::optional<ErrorCode> from_status(bulkhead::wire::Status s)
{
	auto v = static_cast<std::uint16_t>(s);
	if (v < static_cast<std::uint16_t>(ErrorCode::InvalidArgument) ||
	    v > static_cast<std::uint16_t>(ErrorCode::Internal))
		return std::nullopt;
	return static_cast<ErrorCode>(v);
}

} // namespace bulkhead::ipc::wire

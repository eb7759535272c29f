// SPDX-License-Identifier: Apache-2.0
// Direct encoders for the two call messages (Request, Completion of
// ipc/schema/channel.fbs), writing a valid flatbuffer straight into a ring
// cell. FlatBufferBuilder's general machinery cost ~40 % of the shim's
// instructions per call (callgrind); these tables have a fixed shape, so
// their layout is written out once here. The receiving side still runs the
// generated Verifier, and tests/ipc/wire_test.cpp checks every field
// through the generated accessors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <bulkhead/bytes.hpp>

#include "channel_generated.h"

namespace bulkhead::ipc::wire {

// Bytes a Request carrying `payload` bytes takes.
constexpr std::size_t request_size(std::size_t payload) { return 60 + payload; }
// Bytes a Completion takes: a payload on success, a message on error.
constexpr std::size_t completion_size(std::size_t payload, std::size_t message, bool ok)
{
	return ok ? 56 + payload : 56 + ((message + 1 + 3) & ~std::size_t(3));
}

// Write into `out`, which must hold request_size()/completion_size() bytes
// and be 8-byte aligned. Return the bytes written.
std::size_t encode_request(std::uint8_t *out, std::uint64_t call_id, std::uint32_t slot,
			   std::uint32_t generation, std::uint32_t op, std::int64_t deadline_ns,
			   ByteView payload);
std::size_t encode_completion(std::uint8_t *out, std::uint64_t call_id, std::uint32_t slot,
			      std::uint32_t generation, bulkhead::wire::Status status,
			      ByteView payload, std::string_view message);

} // namespace bulkhead::ipc::wire

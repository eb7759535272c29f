// SPDX-License-Identifier: Apache-2.0
// The fixed layouts of Request and Completion.
//
// Both: [root uoffset][vtable][table][vector][string]. The vtable precedes
// the table (positive soffset); every scalar sits at its natural alignment
// from the buffer start; the payload vector and the message string follow
// the table, 4-aligned, the string NUL-terminated. Offsets below are bytes
// from the buffer start.
#include "wire_encode.hpp"

#include <bit>
#include <cstring>

namespace bulkhead::ipc::wire {

static_assert(std::endian::native == std::endian::little,
	      "flatbuffers are little-endian; these encoders write native order");

namespace {

template<typename T>
inline void put(std::uint8_t *out, std::size_t at, T value)
{
	std::memcpy(out + at, &value, sizeof value);
}

constexpr std::uint32_t kTable = 20;   // after root (4) and the 16-byte vtable
constexpr std::uint16_t kVtableBytes = 16; // 4 + 2 * six fields

} // namespace

// Request: call_id@24 deadline_ns@32 slot@40 generation@44 op@48
// payload-offset@52, table 20..56; payload vector @56 (length), bytes @60.
std::size_t encode_request(std::uint8_t *out, std::uint64_t call_id, std::uint32_t slot,
			   std::uint32_t generation, std::uint32_t op, std::int64_t deadline_ns,
			   ByteView payload)
{
	put<std::uint32_t>(out, 0, kTable);
	// vtable: size, table size, then field offsets in schema (id) order:
	// call_id, slot, generation, op, deadline_ns, payload.
	const std::uint16_t vt[8] = {kVtableBytes, 36, 4, 20, 24, 28, 12, 32};
	std::memcpy(out + 4, vt, sizeof vt);
	put<std::int32_t>(out, kTable, static_cast<std::int32_t>(kTable - 4));
	put<std::uint64_t>(out, 24, call_id);
	put<std::int64_t>(out, 32, deadline_ns);
	put<std::uint32_t>(out, 40, slot);
	put<std::uint32_t>(out, 44, generation);
	put<std::uint32_t>(out, 48, op);
	put<std::uint32_t>(out, 52, 56 - 52);
	put<std::uint32_t>(out, 56, static_cast<std::uint32_t>(payload.size()));
	if (!payload.empty())
		std::memcpy(out + 60, payload.data(), payload.size());
	return request_size(payload.size());
}

// Completion: call_id@24 slot@32 generation@36 status@40 (u16, 42..43 zero)
// payload-offset@44 message-offset@48, table 20..52; then at 52 either the
// payload vector (success) or the message string (error).
std::size_t encode_completion(std::uint8_t *out, std::uint64_t call_id, std::uint32_t slot,
			      std::uint32_t generation, bulkhead::wire::Status status,
			      ByteView payload, std::string_view message)
{
	const bool ok = status == bulkhead::wire::Status::Ok;
	put<std::uint32_t>(out, 0, kTable);
	// Field order: call_id, slot, generation, status, payload, message;
	// the absent one of payload/message has offset 0.
	const std::uint16_t vt[8] = {kVtableBytes, 32, 4, 12, 16, 20,
				     static_cast<std::uint16_t>(ok ? 24 : 0),
				     static_cast<std::uint16_t>(ok ? 0 : 28)};
	std::memcpy(out + 4, vt, sizeof vt);
	put<std::int32_t>(out, kTable, static_cast<std::int32_t>(kTable - 4));
	put<std::uint64_t>(out, 24, call_id);
	put<std::uint32_t>(out, 32, slot);
	put<std::uint32_t>(out, 36, generation);
	put<std::uint16_t>(out, 40, static_cast<std::uint16_t>(status));
	put<std::uint16_t>(out, 42, 0);
	if (ok) {
		put<std::uint32_t>(out, 44, 52 - 44);
		put<std::uint32_t>(out, 48, 0);
		put<std::uint32_t>(out, 52, static_cast<std::uint32_t>(payload.size()));
		if (!payload.empty())
			std::memcpy(out + 56, payload.data(), payload.size());
		return completion_size(payload.size(), 0, true);
	}
	put<std::uint32_t>(out, 44, 0);
	put<std::uint32_t>(out, 48, 52 - 48);
	put<std::uint32_t>(out, 52, static_cast<std::uint32_t>(message.size()));
	if (!message.empty())
		std::memcpy(out + 56, message.data(), message.size());
	const std::size_t size = completion_size(0, message.size(), false);
	std::memset(out + 56 + message.size(), 0, size - 56 - message.size()); // NUL, padding
	return size;
}

} // namespace bulkhead::ipc::wire

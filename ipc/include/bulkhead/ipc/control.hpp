// SPDX-License-Identifier: Apache-2.0
// The control channel between broker and shim: one flatbuffers Message
// (ipc/schema/control.fbs) per SOCK_SEQPACKET datagram. Not on the call path.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <bulkhead/bytes.hpp>
#include <bulkhead/deadline.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

#include "control_generated.h"

namespace bulkhead::ipc::control {

inline constexpr std::size_t kMaxMessage = 64 * 1024;

// The protocol version and schema hash both sides compare in the handshake.
std::uint32_t protocol_version();
std::string_view schema_hash();

// Sends one finished message, with descriptor `pass` attached when it is
// not -1. Never blocks past `deadline`.
Result<void> send(int fd, ByteView message, Deadline deadline, int pass = -1);
// The same with every descriptor of `pass` attached, in order (at most
// kMaxPassed; the same descriptor may appear more than once).
inline constexpr std::size_t kMaxPassed = 16;
Result<void> send(int fd, ByteView message, Deadline deadline, std::span<const int> pass);
// Receives one message and verifies it. Unavailable when the peer hung up,
// DeadlineExceeded when nothing came in time, ProtocolViolation when the
// datagram is not a valid Message. A descriptor that came with it goes to
// `passed` (close-on-exec), or is closed when `passed` is null.
Result<Bytes> receive(int fd, Deadline deadline, UniqueFd *passed = nullptr);
// The same, keeping every descriptor that came with the message, in order,
// in `passed` (close-on-exec).
Result<Bytes> receive(int fd, Deadline deadline, std::vector<UniqueFd> &passed);

inline const bulkhead::control::Message *root(const Bytes &verified)
{
	return flatbuffers::GetRoot<bulkhead::control::Message>(verified.data());
}

} // namespace bulkhead::ipc::control

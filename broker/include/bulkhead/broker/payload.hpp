// SPDX-License-Identifier: Apache-2.0
// SealedPayload: the bytes a shim runs, held in a sealed memfd. The broker
// reads (and, for bundles, verifies) the bytes once, seals them, and hands
// the shim the descriptor: nothing re-opens a path after that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::broker {

enum class PayloadKind : std::uint8_t {
	Native,  // an ELF shared object
	Wasm,    // a WebAssembly module
	Unknown, // neither; the shim refuses it with a named error
};

const char *to_string(PayloadKind kind);
PayloadKind payload_kind(ByteView head);

class SealedPayload {
public:
	SealedPayload() = default;

	// Copies `bytes` into a memfd sealed against every change.
	static Result<SealedPayload> seal(ByteView bytes, std::string label);
	// Reads a regular file once (O_NOFOLLOW is not used: the caller chose
	// the path) and seals its bytes; errors name the path.
	static Result<SealedPayload> read_file(const std::string &path);

	int fd() const { return fd_.get(); }
	std::size_t size() const { return size_; }
	PayloadKind kind() const { return kind_; }
	// What errors and logs call the payload until the plugin names itself.
	const std::string &label() const { return label_; }

	// A fresh read-only open of the memfd, for the shim.
	Result<UniqueFd> read_only() const;

private:
	UniqueFd fd_;
	std::size_t size_ = 0;
	PayloadKind kind_ = PayloadKind::Unknown;
	std::string label_;
};

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// verify_bundle: the gate every bundle passes before any of its code runs.
// Order: container layout, signature (algorithm, key standing, Ed25519 over
// the manifest), then the manifest, that its payload entries cover the
// payload section exactly (the section's length is not signed), the payload
// choice for this platform, and the payload hashes the signed manifest pins.
#pragma once

#include <cstdint>
#include <string>

#include <bulkhead/broker/bundle.hpp>
#include <bulkhead/broker/manifest.hpp>
#include <bulkhead/broker/trust_store.hpp>

namespace bulkhead::broker {

enum class VerifyDepth : std::uint8_t {
	Manifest,        // signature and manifest only (discovery)
	SelectedPayload, // ... and the hash of the payload that will run (load)
	AllPayloads,     // ... and every payload's hash (bulkhead verify)
};

struct VerifyPolicy {
	const TrustStore *trust = nullptr;
	// Unsigned bundles pass, each one logged as a warning. Never a default.
	bool development_mode = false;
	std::string platform = kHostPlatform;
};

struct VerifiedBundle {
	Manifest manifest;
	std::string key_id;        // empty: unsigned, passed in development mode
	std::size_t payload_index = 0;
	ByteView payload;          // inside the bytes given to verify_bundle
	std::string payload_hash;  // hex BLAKE2b-256 of the selected payload
	bool is_signed() const { return !key_id.empty(); }
};

// Refusals carry ErrorCode::PermissionDenied (trust: unsigned, unknown or
// revoked key, another algorithm, bad signature, payload hash mismatch,
// payload-section bytes no pinned payload covers), InvalidArgument
// (malformed, overlapping payloads) or FailedPrecondition (nothing runnable here:
// no payload for this platform, another ABI version); the message names
// the reason. With VerifyDepth::Manifest, `file` may be just the bundle's
// head (read_bundle_head) of a file of `file_size` bytes.
Result<VerifiedBundle> verify_bundle(ByteView file, const VerifyPolicy &policy,
				     VerifyDepth depth = VerifyDepth::SelectedPayload,
				     std::uint64_t file_size = 0);

// BLAKE2b-256, as manifests pin payloads.
std::array<std::uint8_t, 32> blake2b_256(ByteView bytes);

} // namespace bulkhead::broker

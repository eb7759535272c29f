// SPDX-License-Identifier: Apache-2.0
// The bundle container (docs/bundle.md): a fixed header, the manifest, an
// optional signature block, then the payloads the manifest pins by hash.
//
//   0   8  magic "BHBUNDLE"
//   8   4  format version (1), little-endian like every number here
//   12  4  manifest length M
//   16  4  signature block length S (0: unsigned)
//   20  4  reserved, 0
//   24  8  payload section length P
//   32  M  manifest (flatbuffers, identifier "BHMF")
//   .   S  signature: 16-byte algorithm name (NUL-padded), 8-byte key id,
//          then the signature (64 bytes for ed25519)
//   .   P  payloads
//
// The file is exactly 32 + M + S + P bytes. The signature covers
// "bulkhead-bundle-v1\0" followed by the manifest bytes; P is not signed,
// so verify_bundle also requires the manifest's payload entries to tile the
// payload section exactly (no gap, overlap or trailing byte).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <bulkhead/broker/manifest.hpp>
#include <bulkhead/broker/trust_store.hpp>
#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::broker {

inline constexpr std::size_t kBundleHeaderSize = 32;
inline constexpr std::uint32_t kBundleFormat = 1;
inline constexpr const char *kSignatureAlgorithm = "ed25519";
inline constexpr std::uint64_t kMaxManifestBytes = 1 << 20;
inline constexpr const char *kBundleSuffix = ".bhb";

struct SignatureBlock {
	std::string algorithm;
	std::string key_id; // 16 hex digits
	Bytes signature;
};

// Views into the bytes a bundle was parsed from; checks layout only.
struct BundleLayout {
	ByteView manifest;
	std::optional<SignatureBlock> signature;
	ByteView payloads;
	std::uint64_t payload_section_size = 0; // P, also when only the head was parsed

	static Result<BundleLayout> parse(ByteView file);
	// The head alone (header, manifest, signature: see read_bundle_head)
	// of a file of `file_size` bytes; `payloads` stays empty.
	static Result<BundleLayout> parse_head(ByteView head, std::uint64_t file_size);
};

// Reads just the header, manifest and signature block of the bundle open
// on `fd`: what discovery needs, without reading payloads.
Result<Bytes> read_bundle_head(int fd, const std::string &label);

bool looks_like_bundle(ByteView head);

// What the signature covers.
Bytes signing_message(ByteView manifest);
SignatureBlock sign_manifest(ByteView manifest, const SecretKey &key);

struct PackPayload {
	std::string platform; // kHostPlatform, "linux-aarch64", kWasmPlatform...
	std::string file;     // recorded in the manifest, informational
	Bytes bytes;
};

// Builds a bundle: lays the payloads out, pins each one's offset, size and
// BLAKE2b-256 in `manifest` (a binary manifest; its own payload list is
// replaced), checks the result as a host would, and signs it with `key`
// when given.
Result<Bytes> pack_bundle(ByteView manifest, const std::vector<PackPayload> &payloads,
			  const SecretKey *key);

Bytes assemble_bundle(ByteView manifest, const std::optional<SignatureBlock> &signature,
		      ByteView payloads);

} // namespace bulkhead::broker

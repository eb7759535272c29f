// SPDX-License-Identifier: Apache-2.0
// Manifest: what a bundle says about its plugin, decoded from the signed
// flatbuffers bytes (broker/schema/manifest.fbs) after verification, and
// the JSON form authors write and `bulkhead inspect --json` prints.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <bulkhead/broker/semver.hpp>
#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::broker {

// "linux-x86_64" on this build; a native payload must name it.
extern const char *const kHostPlatform;
inline constexpr const char *kWasmPlatform = "wasm32";

struct ManifestPayload {
	std::string platform;
	std::string file;
	std::uint64_t offset = 0;
	std::uint64_t size = 0;
	std::array<std::uint8_t, 32> blake2b{};
	bool is_wasm() const { return platform == kWasmPlatform; }
};

struct ManifestLimits {
	std::uint64_t memory_bytes = 0; // 0: the host's default
	std::uint32_t cpu_percent = 0;
	std::uint32_t pids = 0;
	std::uint32_t call_deadline_ms = 0;
	std::uint64_t fuel = 0;
};

struct ManifestDependency {
	std::string name;
	VersionRange range;
};

struct Manifest {
	std::string name;
	Version version;
	std::uint32_t abi_version = 0;
	std::string description;
	std::string author;
	std::vector<std::string> categories;
	std::vector<std::string> capabilities;
	ManifestLimits limits;
	std::vector<ManifestDependency> dependencies;
	std::vector<ManifestPayload> payloads;
};

// Runs the flatbuffers Verifier, then checks every field a host relies on:
// a plugin name (letters, digits, '-', '_', '.'; at most 64), a semver
// version, valid dependency ranges, 32-byte payload hashes. Errors name the
// field.
Result<Manifest> decode_manifest(ByteView bytes);

// JSON (the schema's field names) to the binary form, and back.
Result<Bytes> manifest_from_json(std::string_view json);
Result<std::string> manifest_to_json(ByteView bytes); // the schema-driven form

// The platform and file of each payload a manifest lists, without the
// checks of decode_manifest: what `pack` reads before anything is pinned.
Result<std::vector<ManifestPayload>> manifest_payload_files(ByteView bytes);

// Rewrites the payload table of a manifest (offsets, sizes, hashes after
// `pack` read the files), leaving every other field as it was.
Result<Bytes> manifest_with_payloads(ByteView bytes, const std::vector<ManifestPayload> &payloads);

std::string hex(ByteView bytes);

} // namespace bulkhead::broker

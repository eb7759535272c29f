// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: manifest decoding, both forms. Any input must end in a
// value or an error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <bulkhead/broker/manifest.hpp>

using namespace bulkhead;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const ByteView bytes(data, size);
	// The binary form, as a host reads it out of a verified bundle.
	if (auto m = broker::decode_manifest(bytes); m.has_value()) {
		auto json = broker::manifest_to_json(bytes);
		if (!json.has_value())
			__builtin_trap(); // a manifest that decodes must print
	}
	(void)broker::manifest_payload_files(bytes);
	// The JSON form, as `bulkhead pack` reads what authors write; what it
	// makes must pass the flatbuffers Verifier.
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	if (auto binary = broker::manifest_from_json(text); binary.has_value()) {
		if (!broker::manifest_payload_files(binary.value()).has_value())
			__builtin_trap();
		(void)broker::decode_manifest(binary.value());
	}
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: bundle parsing and verification, as a host does it at
// discovery (the head only), at load and in `bulkhead verify`, with a trust
// store pinning the fuzzers' key (fuzz_key.hpp) and in development mode,
// where unsigned inputs reach the manifest and payload checks.
#include <cstddef>
#include <cstdint>

#include <bulkhead/broker/bundle_verifier.hpp>

#include "fuzz_key.hpp"

using namespace bulkhead;
using namespace bulkhead::broker;

namespace {

const TrustStore &trust()
{
	static const TrustStore store = [] {
		TrustStore t;
		if (!t.add(fuzz::fixed_key_pair().public_key).has_value())
			__builtin_trap();
		return t;
	}();
	return store;
}

// What verify_bundle accepted must hold together.
void check(const Result<VerifiedBundle> &v, ByteView file)
{
	if (!v.has_value())
		return;
	if (v->payload_index >= v->manifest.payloads.size())
		__builtin_trap();
	if (!v->payload.empty() && (v->payload.data() < file.data() ||
				    v->payload.data() + v->payload.size() > file.data() + file.size()))
		__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const ByteView file(data, size);
	(void)BundleLayout::parse(file);
	for (bool dev : {false, true}) {
		const VerifyPolicy policy{&trust(), dev, kHostPlatform};
		for (VerifyDepth depth : {VerifyDepth::Manifest, VerifyDepth::SelectedPayload, VerifyDepth::AllPayloads})
			check(verify_bundle(file, policy, depth), file);
		// Discovery reads only the head of a file it knows the size of.
		if (size >= kBundleHeaderSize)
			check(verify_bundle(file.first(size / 2 < kBundleHeaderSize ? kBundleHeaderSize : size / 2), policy,
					    VerifyDepth::Manifest, size),
			      file);
	}
	return 0;
}

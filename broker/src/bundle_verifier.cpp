// SPDX-License-Identifier: Apache-2.0
// Verifying a bundle before any of its code runs.
#include <bulkhead/broker/bundle_verifier.hpp>

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::broker {

namespace {

Error refused(std::string why) { return Error{ErrorCode::PermissionDenied, "bundle refused: " + std::move(why)}; }

Result<void> check_signature(const BundleLayout &layout, const VerifyPolicy &policy, std::string &key_id)
{
	if (!layout.signature) {
		if (policy.development_mode)
			return {}; // the caller logs it, naming the bundle
		return Unexpected(refused("it is not signed (unsigned bundles load only in development mode)"));
	}
	const SignatureBlock &sig = *layout.signature;
	if (sig.algorithm != kSignatureAlgorithm)
		return Unexpected(refused(fmt::format("it is signed with '{}'; only {} signatures are accepted",
						      sig.algorithm, kSignatureAlgorithm)));
	if (sig.signature.size() != crypto_sign_BYTES)
		return Unexpected(refused(fmt::format("its ed25519 signature is {} bytes, not {}",
						      sig.signature.size(), crypto_sign_BYTES)));
	if (!policy.trust)
		return Unexpected(refused(fmt::format("signed by key {}, and this host trusts no key", sig.key_id)));
	switch (policy.trust->standing(sig.key_id)) {
	case KeyStanding::Revoked:
		return Unexpected(refused(fmt::format("signed by key {}, which is revoked", sig.key_id)));
	case KeyStanding::Unknown:
		return Unexpected(refused(fmt::format("signed by key {}, which this host does not trust", sig.key_id)));
	case KeyStanding::Trusted:
		break;
	}
	const PublicKey *key = policy.trust->find(sig.key_id);
	Bytes msg = signing_message(layout.manifest);
	if (::crypto_sign_verify_detached(sig.signature.data(), msg.data(), msg.size(), key->key.data()) != 0)
		return Unexpected(refused(fmt::format(
			"the signature does not match the manifest (key {}): the bundle was altered after signing",
			sig.key_id)));
	key_id = sig.key_id;
	return {};
}

Error malformed(std::string why) { return Error{ErrorCode::InvalidArgument, "malformed bundle: " + std::move(why)}; }

// The header's payload section length is not signed: only the manifest's
// payload entries, which are, say which bytes belong. They must tile the
// section exactly, or unsigned bytes could ride along (appended with the
// header's length raised, or hidden in a gap between payloads).
Result<void> check_coverage(const BundleLayout &layout, const Manifest &m)
{
	const std::uint64_t section = layout.payload_section_size;
	std::vector<const ManifestPayload *> order;
	for (const auto &p : m.payloads) {
		if (p.offset > section || p.size > section - p.offset)
			return Unexpected(malformed(fmt::format(
				"the {} payload (bytes {} to {}) lies outside the {}-byte payload section", p.platform,
				p.offset, p.offset + p.size, section)));
		order.push_back(&p);
	}
	std::sort(order.begin(), order.end(), [](const ManifestPayload *a, const ManifestPayload *b) {
		return a->offset != b->offset ? a->offset < b->offset : a->size < b->size;
	});
	std::uint64_t covered = 0; // the section is covered up to here
	const ManifestPayload *previous = nullptr;
	for (const ManifestPayload *p : order) {
		if (p->offset < covered)
			return Unexpected(malformed(fmt::format(
				"the {} and {} payloads overlap (bytes {} to {} of the payload section)",
				previous->platform, p->platform, p->offset, std::min(covered, p->offset + p->size))));
		if (p->offset > covered)
			return Unexpected(refused(fmt::format(
				"{} bytes {} (bytes {} to {} of the payload section) are covered by neither the "
				"signature nor a pinned payload hash",
				p->offset - covered,
				previous ? fmt::format("between the {} and {} payloads", previous->platform, p->platform)
					 : fmt::format("before the {} payload", p->platform),
				covered, p->offset)));
		covered = p->offset + p->size;
		previous = p;
	}
	if (covered < section)
		return Unexpected(refused(fmt::format(
			"{} bytes after the last payload (bytes {} to {} of the payload section) are covered by "
			"neither the signature nor a pinned payload hash: bytes were appended after signing",
			section - covered, covered, section)));
	return {};
}

Result<void> check_hash(ByteView bytes, const ManifestPayload &p)
{
	if (blake2b_256(bytes) != p.blake2b)
		return Unexpected(refused(fmt::format(
			"the {} payload does not match the hash the manifest pins: it was altered", p.platform)));
	return {};
}

} // namespace

std::array<std::uint8_t, 32> blake2b_256(ByteView bytes)
{
	std::array<std::uint8_t, 32> out;
	::crypto_generichash(out.data(), out.size(), bytes.data(), bytes.size(), nullptr, 0);
	return out;
}

Result<VerifiedBundle> verify_bundle(ByteView file, const VerifyPolicy &policy, VerifyDepth depth,
				     std::uint64_t file_size)
{
	if (::sodium_init() < 0)
		return make_error(ErrorCode::Internal, "libsodium did not initialise");
	BundleLayout layout = TRY(BundleLayout::parse_head(file, file_size ? file_size : file.size()));
	VerifiedBundle out;
	TRY(check_signature(layout, policy, out.key_id));
	out.manifest = TRY(decode_manifest(layout.manifest));
	const Manifest &m = out.manifest;
	TRY(check_coverage(layout, m));

	// A native payload for this platform first; WebAssembly is the
	// portable fallback.
	std::size_t chosen = m.payloads.size();
	for (std::size_t i = 0; i < m.payloads.size() && chosen == m.payloads.size(); ++i)
		if (m.payloads[i].platform == policy.platform)
			chosen = i;
	for (std::size_t i = 0; i < m.payloads.size() && chosen == m.payloads.size(); ++i)
		if (m.payloads[i].is_wasm())
			chosen = i;
	if (chosen == m.payloads.size()) {
		std::string have;
		for (const auto &p : m.payloads)
			have += (have.empty() ? "" : ", ") + p.platform;
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} {} has no payload for {} (it has: {})", m.name,
					      m.version.to_string(), policy.platform, have));
	}
	if (!m.payloads[chosen].is_wasm() && m.abi_version != BULKHEAD_PLUGIN_ABI_VERSION)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} {} was built for plugin ABI {}, this host speaks {}", m.name,
					      m.version.to_string(), m.abi_version, BULKHEAD_PLUGIN_ABI_VERSION));
	out.payload_index = chosen;
	out.payload_hash = hex(m.payloads[chosen].blake2b);
	if (depth == VerifyDepth::Manifest)
		return out; // payloads are checked when they are read to run
	if (layout.payloads.size() != layout.payload_section_size)
		return make_error(ErrorCode::InvalidArgument,
				  "verify_bundle was given the bundle's head only, and asked to check its payloads");
	for (std::size_t i = 0; i < m.payloads.size(); ++i) {
		// In bounds: check_coverage.
		ByteView bytes = layout.payloads.subspan(m.payloads[i].offset, m.payloads[i].size);
		if (depth == VerifyDepth::AllPayloads || (depth == VerifyDepth::SelectedPayload && i == chosen))
			TRY(check_hash(bytes, m.payloads[i]));
		if (i == chosen)
			out.payload = bytes;
	}
	return out;
}

} // namespace bulkhead::broker

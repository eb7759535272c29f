// SPDX-License-Identifier: Apache-2.0
// Reading and writing the bundle container; signing its manifest.
#include <bulkhead/broker/bundle.hpp>
#include <bulkhead/broker/plugin_root.hpp>

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <fmt/format.h>
#include <sodium.h>

namespace bulkhead::broker {

namespace {

constexpr char kMagic[8] = {'B', 'H', 'B', 'U', 'N', 'D', 'L', 'E'};
constexpr std::string_view kDomain{"bulkhead-bundle-v1\0", 19};
constexpr std::size_t kAlgorithmField = 16;
constexpr std::size_t kKeyIdField = 8;
constexpr std::size_t kMaxSignatureBlock = 4096;

std::uint32_t le32(const std::uint8_t *p)
{
	return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
	       std::uint32_t(p[3]) << 24;
}

std::uint64_t le64(const std::uint8_t *p) { return le32(p) | std::uint64_t(le32(p + 4)) << 32; }

void put32(Bytes &out, std::uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put64(Bytes &out, std::uint64_t v)
{
	put32(out, static_cast<std::uint32_t>(v));
	put32(out, static_cast<std::uint32_t>(v >> 32));
}

Error malformed(std::string why)
{
	return Error{ErrorCode::InvalidArgument, "malformed bundle: " + std::move(why)};
}

} // namespace

bool looks_like_bundle(ByteView head)
{
	return head.size() >= sizeof kMagic && std::memcmp(head.data(), kMagic, sizeof kMagic) == 0;
}

Result<BundleLayout> BundleLayout::parse(ByteView file)
{
	return parse_head(file, file.size());
}

Result<BundleLayout> BundleLayout::parse_head(ByteView file, std::uint64_t file_size)
{
	if (!looks_like_bundle(file))
		return Unexpected(malformed("it does not start with the magic 'BHBUNDLE'"));
	if (file.size() < kBundleHeaderSize)
		return Unexpected(malformed("the header is cut short"));
	const std::uint8_t *h = file.data();
	if (std::uint32_t format = le32(h + 8); format != kBundleFormat)
		return Unexpected(malformed(fmt::format("format version {}, this host reads {}", format, kBundleFormat)));
	const std::uint64_t m = le32(h + 12), s = le32(h + 16), p = le64(h + 24);
	if (le32(h + 20) != 0)
		return Unexpected(malformed("the reserved header field is not zero"));
	if (m == 0 || m > kMaxManifestBytes)
		return Unexpected(malformed(fmt::format("manifest length {} (allowed 1 to {})", m, kMaxManifestBytes)));
	if (s > kMaxSignatureBlock || (s != 0 && s < kAlgorithmField + kKeyIdField + 1))
		return Unexpected(malformed(fmt::format("signature block length {}", s)));
	// Every length is bounded, so the sum cannot wrap.
	if (p > file_size || kBundleHeaderSize + m + s + p != file_size)
		return Unexpected(malformed(fmt::format(
			"the header says {} bytes in all, the file has {}", kBundleHeaderSize + m + s + p, file_size)));
	if (file.size() < kBundleHeaderSize + m + s)
		return Unexpected(malformed("the manifest or signature is cut short"));

	BundleLayout layout;
	layout.manifest = file.subspan(kBundleHeaderSize, m);
	layout.payload_section_size = p;
	if (s != 0) {
		ByteView block = file.subspan(kBundleHeaderSize + m, s);
		SignatureBlock sig;
		const char *alg = reinterpret_cast<const char *>(block.data());
		sig.algorithm.assign(alg, strnlen(alg, kAlgorithmField));
		// NUL padding only: no byte of a bundle may change unnoticed.
		for (std::size_t i = sig.algorithm.size(); i < kAlgorithmField; ++i)
			if (block[i] != 0)
				return Unexpected(malformed("the signature algorithm field is not NUL-padded"));
		sig.key_id = hex(block.subspan(kAlgorithmField, kKeyIdField));
		ByteView bytes = block.subspan(kAlgorithmField + kKeyIdField);
		sig.signature.assign(bytes.begin(), bytes.end());
		layout.signature = std::move(sig);
	}
	if (file.size() == file_size)
		layout.payloads = file.subspan(kBundleHeaderSize + m + s, p);
	return layout;
}

Result<Bytes> read_bundle_head(int fd, const std::string &label)
{
	Bytes head = TRY(read_range(fd, kBundleHeaderSize, 0, label));
	if (head.size() < kBundleHeaderSize || !looks_like_bundle(head))
		return head; // parse_head names what is wrong
	const std::uint64_t m = le32(head.data() + 12), s = le32(head.data() + 16);
	// Out of bounds: allocate nothing for it, parse_head names it.
	if (m > kMaxManifestBytes || s > kMaxSignatureBlock)
		return head;
	Bytes rest = TRY(read_range(fd, m + s, kBundleHeaderSize, label));
	head.insert(head.end(), rest.begin(), rest.end());
	return head;
}

Bytes signing_message(ByteView manifest)
{
	Bytes msg(kDomain.begin(), kDomain.end());
	msg.insert(msg.end(), manifest.begin(), manifest.end());
	return msg;
}

SignatureBlock sign_manifest(ByteView manifest, const SecretKey &key)
{
	Bytes msg = signing_message(manifest);
	SignatureBlock sig;
	sig.algorithm = kSignatureAlgorithm;
	sig.key_id = key.id;
	sig.signature.resize(crypto_sign_BYTES);
	::crypto_sign_detached(sig.signature.data(), nullptr, msg.data(), msg.size(), key.key.data());
	return sig;
}

Bytes assemble_bundle(ByteView manifest, const std::optional<SignatureBlock> &signature, ByteView payloads)
{
	Bytes block;
	if (signature) {
		block.resize(kAlgorithmField + kKeyIdField, 0);
		std::memcpy(block.data(), signature->algorithm.data(),
			    std::min(signature->algorithm.size(), kAlgorithmField));
		std::size_t len = 0;
		::sodium_hex2bin(block.data() + kAlgorithmField, kKeyIdField, signature->key_id.data(),
				 signature->key_id.size(), nullptr, &len, nullptr);
		block.insert(block.end(), signature->signature.begin(), signature->signature.end());
	}
	Bytes out(kMagic, kMagic + sizeof kMagic);
	put32(out, kBundleFormat);
	put32(out, static_cast<std::uint32_t>(manifest.size()));
	put32(out, static_cast<std::uint32_t>(block.size()));
	put32(out, 0);
	put64(out, payloads.size());
	out.reserve(out.size() + manifest.size() + block.size() + payloads.size());
	out.insert(out.end(), manifest.begin(), manifest.end());
	out.insert(out.end(), block.begin(), block.end());
	out.insert(out.end(), payloads.begin(), payloads.end());
	return out;
}

} // namespace bulkhead::broker

namespace bulkhead::broker {

Result<Bytes> pack_bundle(ByteView manifest, const std::vector<PackPayload> &payloads, const SecretKey *key)
{
	if (::sodium_init() < 0)
		return make_error(ErrorCode::Internal, "libsodium did not initialise");
	if (payloads.empty())
		return make_error(ErrorCode::InvalidArgument, "a bundle needs at least one payload");
	std::vector<ManifestPayload> entries;
	Bytes section;
	for (const auto &p : payloads) {
		ManifestPayload e;
		e.platform = p.platform;
		e.file = p.file;
		e.offset = section.size();
		e.size = p.bytes.size();
		::crypto_generichash(e.blake2b.data(), e.blake2b.size(), p.bytes.data(), p.bytes.size(), nullptr, 0);
		section.insert(section.end(), p.bytes.begin(), p.bytes.end());
		entries.push_back(std::move(e));
	}
	Bytes pinned = TRY(manifest_with_payloads(manifest, entries));
	if (pinned.size() > kMaxManifestBytes)
		return make_error(ErrorCode::InvalidArgument, "the manifest is larger than 1 MiB");
	TRY(decode_manifest(pinned));
	std::optional<SignatureBlock> signature;
	if (key)
		signature = sign_manifest(pinned, *key);
	return assemble_bundle(pinned, signature, section);
}

} // namespace bulkhead::broker

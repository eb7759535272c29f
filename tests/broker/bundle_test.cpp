// SPDX-License-Identifier: Apache-2.0
// Bundles, keys, versions and plugin-root paths: what verify_bundle accepts,
// and each thing it refuses, named.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/broker/plugin_root.hpp>
#include <bulkhead/broker/semver.hpp>

using namespace bulkhead;
using namespace bulkhead::broker;

namespace {

constexpr const char *kManifest = R"({
  "name": "demo", "version": "1.2.3", "abi_version": 1,
  "description": "a test", "author": "tests",
  "categories": ["compression"], "capabilities": ["none"],
  "limits": {"memory_bytes": 1048576},
  "dependencies": [{"name": "base", "range": "^1.0"}],
  "payloads": [{"platform": "linux-x86_64", "file": "demo.so"}]
})";

Bytes native_bytes() { return Bytes{0x7f, 'E', 'L', 'F', 1, 2, 3, 4, 5, 6, 7, 8}; }

Bytes make_bundle(const SecretKey *key, std::string_view json = kManifest,
		  std::vector<PackPayload> payloads = {{"linux-x86_64", "demo.so", native_bytes()}})
{
	auto manifest = manifest_from_json(json);
	REQUIRE_MESSAGE(manifest.has_value(), manifest.error().message);
	auto bundle = pack_bundle(manifest.value(), payloads, key);
	REQUIRE_MESSAGE(bundle.has_value(), bundle.error().message);
	return bundle.value();
}

std::string refusal(ByteView file, const TrustStore &trust, bool dev = false,
		    VerifyDepth depth = VerifyDepth::SelectedPayload)
{
	auto r = verify_bundle(file, VerifyPolicy{&trust, dev, kHostPlatform}, depth);
	return r.has_value() ? std::string("accepted") : r.error().message;
}

bool has(const std::string &text, std::string_view part) { return text.find(part) != std::string::npos; }

struct TempDir {
	std::filesystem::path path;
	TempDir()
	{
		char tmpl[] = "/tmp/bulkhead-bundle-test-XXXXXX";
		path = ::mkdtemp(tmpl);
	}
	~TempDir() { std::filesystem::remove_all(path); }
};

} // namespace

TEST_CASE("a_signed_bundle_from_a_trusted_key_verifies_and_yields_its_payload")
{
	KeyPair keys = generate_key_pair("test key");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	Bytes bundle = make_bundle(&keys.secret_key);
	auto v = verify_bundle(bundle, VerifyPolicy{&trust, false, kHostPlatform}, VerifyDepth::AllPayloads);
	REQUIRE_MESSAGE(v.has_value(), v.error().message);
	CHECK(v->key_id == keys.public_key.id);
	CHECK(v->manifest.name == "demo");
	CHECK(v->manifest.version.to_string() == "1.2.3");
	CHECK(v->manifest.categories == std::vector<std::string>{"compression"});
	CHECK(v->manifest.limits.memory_bytes == 1048576);
	REQUIRE(v->manifest.dependencies.size() == 1);
	CHECK(v->manifest.dependencies[0].range.contains(Version::parse("1.9.0").value()));
	CHECK(Bytes(v->payload.begin(), v->payload.end()) == native_bytes());
	CHECK(v->payload_hash == hex(blake2b_256(native_bytes())));
}

TEST_CASE("unsigned_unknown_revoked_and_foreign_algorithm_bundles_are_refused_with_the_reason")
{
	KeyPair keys = generate_key_pair("");
	KeyPair stranger = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());

	Bytes unsigned_bundle = make_bundle(nullptr);
	CHECK(has(refusal(unsigned_bundle, trust), "not signed"));
	CHECK(refusal(unsigned_bundle, trust, true) == "accepted"); // development mode

	CHECK(has(refusal(make_bundle(&stranger.secret_key), trust), "does not trust"));
	CHECK(has(refusal(make_bundle(&stranger.secret_key), trust), stranger.public_key.id));

	TrustStore revoked = trust;
	revoked.revoke(keys.public_key.id);
	CHECK(has(refusal(make_bundle(&keys.secret_key), revoked), "revoked"));

	// An RSA signature block: refused by its algorithm, whatever it holds.
	auto manifest = manifest_from_json(kManifest).value();
	Bytes signed_bundle = make_bundle(&keys.secret_key);
	auto layout = BundleLayout::parse(signed_bundle).value();
	SignatureBlock rsa{"rsa-pss-sha256", keys.public_key.id, Bytes(256, 0x55)};
	Bytes rsa_bundle = assemble_bundle(layout.manifest, rsa, layout.payloads);
	CHECK(has(refusal(rsa_bundle, trust), "'rsa-pss-sha256'"));
	CHECK(has(refusal(rsa_bundle, trust), "only ed25519"));

	TrustStore *none = nullptr;
	auto r = verify_bundle(signed_bundle, VerifyPolicy{none, false, kHostPlatform});
	CHECK_FALSE(r.has_value());
}

TEST_CASE("any_altered_byte_of_a_signed_bundle_is_refused")
{
	KeyPair keys = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	const Bytes good = make_bundle(&keys.secret_key);
	REQUIRE(refusal(good, trust, false, VerifyDepth::AllPayloads) == "accepted");
	// Every byte, flipped in turn: header, manifest, signature, payload.
	for (std::size_t i = 0; i < good.size(); ++i) {
		Bytes bad = good;
		bad[i] ^= 0x01;
		std::string why = refusal(bad, trust, false, VerifyDepth::AllPayloads);
		CHECK_MESSAGE(why != "accepted", "byte ", i, " flipped was accepted");
	}
	Bytes tail = good;
	tail.back() ^= 0xff;
	CHECK(has(refusal(tail, trust), "does not match the hash"));
	Bytes manifest_byte = good;
	manifest_byte[kBundleHeaderSize + 40] ^= 0xff;
	CHECK(has(refusal(manifest_byte, trust), "signature does not match"));
	Bytes longer = good;
	longer.push_back(0);
	CHECK(has(refusal(longer, trust), "malformed"));
	CHECK(has(refusal(ByteView(good.data(), 20), trust), "malformed"));
}

namespace {

// A bundle signed by `key` whose manifest pins `entries` (offset, size,
// hash as given) over `section`: how a forger would lay one out.
Bytes forged_bundle(const SecretKey &key, const std::vector<ManifestPayload> &entries, ByteView section)
{
	auto manifest = manifest_with_payloads(manifest_from_json(kManifest).value(), entries);
	REQUIRE(manifest.has_value());
	return assemble_bundle(manifest.value(), sign_manifest(manifest.value(), key), section);
}

ManifestPayload entry(std::string platform, ByteView section, std::uint64_t offset, std::uint64_t size)
{
	ManifestPayload p;
	p.platform = std::move(platform);
	p.file = "x";
	p.offset = offset;
	p.size = size;
	if (offset + size <= section.size())
		p.blake2b = blake2b_256(section.subspan(offset, size));
	return p;
}

} // namespace

TEST_CASE("payload_section_bytes_no_pinned_payload_covers_are_refused_naming_the_reason")
{
	KeyPair keys = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	const Bytes good = make_bundle(&keys.secret_key);
	const BundleLayout layout = BundleLayout::parse(good).value();
	Bytes appended_section(layout.payloads.begin(), layout.payloads.end());
	appended_section.insert(appended_section.end(), {'e', 'v', 'i', 'l'});
	const Bytes section(24, 0x5a);

	struct Case {
		const char *what;
		Bytes bundle;
		std::string_view reason;
		ErrorCode code;
	};
	const Case cases[] = {
		{"bytes appended, the header's section length raised to match",
		 assemble_bundle(layout.manifest, layout.signature, appended_section),
		 "4 bytes after the last payload (bytes 12 to 16 of the payload section) are covered by neither "
		 "the signature nor a pinned payload hash: bytes were appended after signing",
		 ErrorCode::PermissionDenied},
		{"a gap between two payloads",
		 forged_bundle(keys.secret_key, {entry("linux-x86_64", section, 0, 12), entry("wasm32", section, 16, 8)},
			       section),
		 "4 bytes between the linux-x86_64 and wasm32 payloads (bytes 12 to 16 of the payload section)",
		 ErrorCode::PermissionDenied},
		{"a gap before the first payload",
		 forged_bundle(keys.secret_key, {entry("linux-x86_64", section, 8, 16)}, section),
		 "8 bytes before the linux-x86_64 payload", ErrorCode::PermissionDenied},
		{"overlapping payloads",
		 forged_bundle(keys.secret_key, {entry("linux-x86_64", section, 0, 16), entry("wasm32", section, 8, 16)},
			       section),
		 "the linux-x86_64 and wasm32 payloads overlap (bytes 8 to 16 of the payload section)",
		 ErrorCode::InvalidArgument},
		{"a payload beyond the section",
		 forged_bundle(keys.secret_key, {entry("linux-x86_64", section, 0, 24), entry("wasm32", section, 20, 8)},
			       section),
		 "the wasm32 payload (bytes 20 to 28) lies outside the 24-byte payload section",
		 ErrorCode::InvalidArgument},
	};
	for (const Case &c : cases) {
		INFO(std::string(c.what));
		for (VerifyDepth depth : {VerifyDepth::Manifest, VerifyDepth::SelectedPayload, VerifyDepth::AllPayloads}) {
			auto r = verify_bundle(c.bundle, VerifyPolicy{&trust, false, kHostPlatform}, depth);
			REQUIRE_FALSE(r.has_value());
			CHECK_MESSAGE(has(r.error().message, c.reason), r.error().message);
			CHECK(r.error().code == c.code);
			// Development mode trusts no more bytes.
			CHECK_FALSE(verify_bundle(c.bundle, VerifyPolicy{&trust, true, kHostPlatform}, depth).has_value());
		}
	}
	// Laid out edge to edge, the same forger's tools make a good bundle.
	Bytes tiled = forged_bundle(keys.secret_key,
				    {entry("wasm32", section, 12, 12), entry("linux-x86_64", section, 0, 12)}, section);
	CHECK(refusal(tiled, trust, false, VerifyDepth::AllPayloads) == "accepted");
}

TEST_CASE("a_huge_manifest_is_refused_by_its_length_before_anything_is_allocated")
{
	KeyPair keys = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	// One byte over 1 MiB, really there.
	const Bytes huge = assemble_bundle(Bytes(kMaxManifestBytes + 1, 0), std::nullopt, native_bytes());
	std::string why = refusal(huge, trust);
	CHECK(has(why, "malformed bundle: manifest length 1048577 (allowed 1 to 1048576)"));

	// A header claiming a 4 GiB manifest: reading the head allocates only
	// the header, and verification names the length.
	Bytes liar = make_bundle(&keys.secret_key);
	for (int i = 0; i < 4; ++i)
		liar[12 + i] = 0xff;
	TempDir dir;
	const auto path = dir.path / "liar.bhb";
	std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(liar.data()),
						    static_cast<std::streamsize>(liar.size()));
	auto root = PluginRoot::open(dir.path);
	REQUIRE(root.has_value());
	auto fd = root->open_file("liar.bhb");
	REQUIRE(fd.has_value());
	auto head = read_bundle_head(fd->get(), "liar.bhb");
	REQUIRE(head.has_value());
	CHECK(head->size() == kBundleHeaderSize);
	auto r = verify_bundle(head.value(), VerifyPolicy{&trust, false, kHostPlatform}, VerifyDepth::Manifest,
			       liar.size());
	REQUIRE_FALSE(r.has_value());
	CHECK(has(r.error().message, "manifest length 4294967295 (allowed 1 to 1048576)"));

	// pack refuses to make one.
	std::string json = kManifest;
	json.replace(json.find("\"a test\""), 8, "\"" + std::string(kMaxManifestBytes, 'x') + "\"");
	auto packed = pack_bundle(manifest_from_json(json).value(), {{"linux-x86_64", "demo.so", native_bytes()}},
				  &keys.secret_key);
	REQUIRE_FALSE(packed.has_value());
	CHECK(has(packed.error().message, "larger than 1 MiB"));
}

TEST_CASE("a_signed_but_malformed_manifest_is_refused_at_verify_time_naming_the_problem")
{
	KeyPair keys = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	auto sign = [&](ByteView manifest) {
		return assemble_bundle(manifest, sign_manifest(manifest, keys.secret_key), native_bytes());
	};
	// Not a flatbuffers Manifest at all, yet signed by a trusted key.
	const std::string_view junk = "{\"name\": \"demo\"} is JSON, not the binary form";
	std::string why = refusal(sign(as_bytes(junk)), trust);
	CHECK(has(why, "not a valid flatbuffers Manifest"));

	// A well-formed flatbuffer whose fields a host must not accept: pack
	// would refuse them, so the forger signed it by hand.
	const Bytes native = native_bytes();
	auto pinned = [&](std::string_view json) {
		auto m = manifest_with_payloads(manifest_from_json(json).value(),
						{entry("linux-x86_64", native, 0, native.size())});
		REQUIRE(m.has_value());
		return m.value();
	};
	CHECK(has(refusal(sign(pinned(R"({"name": "../etc", "version": "1.0.0"})")), trust), "'name'"));
	CHECK(has(refusal(sign(pinned(R"({"name": "x", "version": "1.2"})")), trust), "'version'"));
	CHECK(has(refusal(sign(pinned(R"({"name": "x", "version": "1.0.0", "dependencies": [{"name": "y", "range": "^^1"}]})")), trust),
		  "dependency 'y'"));
	auto no_payloads = manifest_from_json(R"({"name": "x", "version": "1.0.0"})").value();
	CHECK(has(refusal(sign(no_payloads), trust), "lists no payload"));
}

TEST_CASE("a_bundle_without_a_payload_for_this_platform_or_abi_is_refused_naming_both")
{
	KeyPair keys = generate_key_pair("");
	TrustStore trust;
	REQUIRE(trust.add(keys.public_key).has_value());
	Bytes arm = make_bundle(&keys.secret_key, kManifest, {{"linux-aarch64", "demo.so", native_bytes()}});
	std::string why = refusal(arm, trust);
	CHECK(has(why, "no payload for linux-x86_64"));
	CHECK(has(why, "linux-aarch64"));

	// WebAssembly is the portable fallback.
	Bytes wasm{0, 'a', 's', 'm', 1, 0, 0, 0};
	Bytes both = make_bundle(&keys.secret_key, kManifest,
				 {{"linux-aarch64", "a.so", native_bytes()}, {"wasm32", "a.wasm", wasm}});
	auto v = verify_bundle(both, VerifyPolicy{&trust, false, kHostPlatform});
	REQUIRE(v.has_value());
	CHECK(v->manifest.payloads[v->payload_index].platform == "wasm32");

	std::string abi2 = kManifest;
	abi2.replace(abi2.find("\"abi_version\": 1"), 16, "\"abi_version\": 2");
	CHECK(has(refusal(make_bundle(&keys.secret_key, abi2), trust), "plugin ABI 2"));
}

TEST_CASE("manifests_with_bad_fields_are_refused_at_pack_time_naming_the_field")
{
	auto bad_version = manifest_from_json(R"({"name": "x", "version": "1.2", "payloads": []})");
	REQUIRE(bad_version.has_value());
	auto packed = pack_bundle(bad_version.value(), {{"linux-x86_64", "x.so", native_bytes()}}, nullptr);
	REQUIRE_FALSE(packed.has_value());
	CHECK(has(packed.error().message, "'version'"));

	auto bad_name = manifest_from_json(R"({"name": "../etc", "version": "1.0.0"})");
	auto packed2 = pack_bundle(bad_name.value(), {{"linux-x86_64", "x.so", native_bytes()}}, nullptr);
	REQUIRE_FALSE(packed2.has_value());
	CHECK(has(packed2.error().message, "'name'"));

	auto typo = manifest_from_json(R"({"name": "x", "version": "1.0.0", "verison": "2"})");
	REQUIRE_FALSE(typo.has_value());
	CHECK(has(typo.error().message, "verison"));

	auto bad_range = manifest_from_json(R"({"name": "x", "version": "1.0.0", "dependencies": [{"name": "y", "range": "^^1"}]})");
	auto packed3 = pack_bundle(bad_range.value(), {{"linux-x86_64", "x.so", native_bytes()}}, nullptr);
	REQUIRE_FALSE(packed3.has_value());
	CHECK(has(packed3.error().message, "dependency 'y'"));
}

TEST_CASE("key_files_round_trip_and_a_forged_key_id_is_caught")
{
	KeyPair keys = generate_key_pair("ops@example");
	auto pub = parse_public_key(format_public_key(keys.public_key));
	REQUIRE(pub.has_value());
	CHECK(pub->id == keys.public_key.id);
	CHECK(pub->comment == "ops@example");
	auto sec = parse_secret_key(format_secret_key(keys.secret_key));
	REQUIRE(sec.has_value());
	CHECK(sec->key == keys.secret_key.key);

	std::string forged = format_public_key(keys.public_key);
	forged[forged.find(' ') + 1] = forged[forged.find(' ') + 1] == 'a' ? 'b' : 'a';
	CHECK(has(parse_public_key(forged).error().message, "does not match the key"));
	CHECK(has(parse_public_key("ssh-rsa AAAAB3NzaC1yc2E foo").error().message, "RSA"));
	CHECK(has(parse_public_key(format_secret_key(keys.secret_key)).error().message, "secret key"));

	TrustStore trust;
	KeyPair other = generate_key_pair("");
	PublicKey clash = other.public_key;
	clash.id = keys.public_key.id;
	REQUIRE(trust.add(keys.public_key).has_value());
	CHECK_FALSE(trust.add(clash).has_value());
}

TEST_CASE("semantic_versions_order_and_ranges_match_like_npm")
{
	auto v = [](const char *s) { return Version::parse(s).value(); };
	auto in = [&](const char *range, const char *version) {
		auto r = VersionRange::parse(range);
		REQUIRE_MESSAGE(r.has_value(), r.error().message);
		return r->contains(v(version));
	};
	CHECK(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
	CHECK(v("1.0.0-alpha.1") < v("1.0.0-alpha.beta"));
	CHECK(v("1.0.0-beta.2") < v("1.0.0-beta.11"));
	CHECK(v("1.0.0-rc.1") < v("1.0.0"));
	CHECK(v("1.0.0+build.5") == v("1.0.0"));
	CHECK_FALSE(Version::parse("01.0.0").has_value());
	CHECK_FALSE(Version::parse("1.0").has_value());
	CHECK_FALSE(Version::parse("1.0.0-").has_value());

	CHECK(in("^1.2.3", "1.9.9"));
	CHECK_FALSE(in("^1.2.3", "2.0.0"));
	CHECK_FALSE(in("^1.2.3", "1.2.2"));
	CHECK(in("^0.2.3", "0.2.9"));
	CHECK_FALSE(in("^0.2.3", "0.3.0"));
	CHECK(in("~1.2.3", "1.2.9"));
	CHECK_FALSE(in("~1.2.3", "1.3.0"));
	CHECK(in(">=1.0.0 <2.0.0", "1.5.0"));
	CHECK(in(">= 1.0.0 < 2.0.0", "1.5.0"));
	CHECK(in("1.x", "1.7.0"));
	CHECK(in("*", "3.0.0"));
	CHECK(in("1.2.3 - 2.3", "2.3.9"));
	CHECK_FALSE(in("1.2.3 - 2.3", "2.4.0"));
	CHECK(in("<1.0.0 || >=3.0.0", "3.1.0"));
	CHECK_FALSE(in("^1.2.0", "1.3.0-alpha"));
	CHECK(in(">=1.3.0-alpha <2.0.0", "1.3.0-beta"));
	CHECK_FALSE(VersionRange::parse("^^1").has_value());
	CHECK_FALSE(VersionRange::parse("?1.0").has_value());
}

TEST_CASE("plugin_root_refuses_escapes_symlinks_nul_long_names_and_non_files")
{
	TempDir root, outside;
	std::ofstream(root.path / "good.bhb") << "x";
	std::ofstream(outside.path / "secret") << "s";
	std::filesystem::create_directory(root.path / "sub");
	std::filesystem::create_symlink(outside.path / "secret", root.path / "link.bhb");
	std::filesystem::create_symlink(outside.path, root.path / "sub" / "out");
	::mkfifo((root.path / "fifo.bhb").c_str(), 0600);

	auto r = PluginRoot::open(root.path);
	REQUIRE(r.has_value());
	CHECK(r->read("good.bhb").has_value());
	auto why = [&](std::string_view name) {
		auto f = r->open_file(name);
		return f.has_value() ? std::string("opened") : f.error().message;
	};
	CHECK(has(why("../" + outside.path.filename().string() + "/secret"), "'..'"));
	CHECK(has(why("sub/../../x"), "'..'"));
	CHECK(has(why(outside.path.string() + "/secret"), "absolute"));
	CHECK(has(why("link.bhb"), "symbolic link"));
	CHECK(has(why("sub/out/secret"), "symbolic link"));
	CHECK(has(why(std::string("good\0.bhb", 9)), "NUL"));
	CHECK(has(why(std::string(300, 'a')), "at most 255"));
	CHECK(has(why(std::string(2000, 'a')), "at most 1024"));
	CHECK(has(why("sub"), "not a regular file"));
	CHECK(has(why("fifo.bhb"), "not a regular file"));
	CHECK(has(why(""), "empty"));
	CHECK(r->open_file("missing.bhb").error().code == ErrorCode::NotFound);
	auto listed = r->list(".bhb");
	REQUIRE(listed.has_value());
	CHECK(listed.value() == std::vector<std::string>{"good.bhb"});
}

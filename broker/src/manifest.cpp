// SPDX-License-Identifier: Apache-2.0
// Decoding and checking manifests; their JSON form.
#include <bulkhead/broker/manifest.hpp>

#include <algorithm>

#include <flatbuffers/idl.h>
#include <fmt/format.h>

#include "manifest_generated.h"
#include "manifest_schema.hpp"

namespace bulkhead::broker {

namespace fb = bulkhead::bundle;

const char *const kHostPlatform = BULKHEAD_HOST_PLATFORM;

namespace {

constexpr std::size_t kMaxNameLength = 64;

Error invalid(std::string message) { return Error{ErrorCode::InvalidArgument, std::move(message)}; }

std::string str(const flatbuffers::String *s) { return s ? s->str() : std::string(); }

bool name_ok(std::string_view name)
{
	return !name.empty() && name.size() <= kMaxNameLength && name.front() != '.' &&
	       std::all_of(name.begin(), name.end(), [](char c) {
		       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_' || c == '.';
	       });
}

std::vector<std::string> strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>> *v)
{
	std::vector<std::string> out;
	if (v)
		for (const auto *s : *v)
			out.push_back(str(s));
	return out;
}

Result<flatbuffers::Parser *> schema_parser(flatbuffers::Parser &parser)
{
	parser.opts.strict_json = true;
	if (!parser.Parse(kManifestSchemaText))
		return Unexpected(Error{ErrorCode::Internal, "the manifest schema does not parse: " + parser.error_});
	return &parser;
}

} // namespace

std::string hex(ByteView bytes)
{
	static constexpr char kDigits[] = "0123456789abcdef";
	std::string out;
	out.reserve(bytes.size() * 2);
	for (auto b : bytes) {
		out += kDigits[b >> 4];
		out += kDigits[b & 15];
	}
	return out;
}

Result<Manifest> decode_manifest(ByteView bytes)
{
	flatbuffers::Verifier verifier(bytes.data(), bytes.size());
	if (!fb::VerifyManifestBuffer(verifier))
		return Unexpected(invalid("the manifest is not a valid flatbuffers Manifest (identifier BHMF)"));
	const fb::Manifest *m = fb::GetManifest(bytes.data());
	Manifest out;
	out.name = str(m->name());
	if (!name_ok(out.name))
		return Unexpected(invalid(fmt::format(
			"manifest field 'name': '{}' is not a plugin name (1 to {} of a-z A-Z 0-9 - _ ., "
			"not starting with '.')", out.name, kMaxNameLength)));
	auto version = Version::parse(str(m->version()));
	if (!version.has_value())
		return Unexpected(invalid("manifest field 'version': " + version.error().message));
	out.version = std::move(version).value();
	out.abi_version = m->abi_version();
	out.description = str(m->description());
	out.author = str(m->author());
	out.categories = strings(m->categories());
	out.capabilities = strings(m->capabilities());
	if (const auto *l = m->limits())
		out.limits = {l->memory_bytes(), l->cpu_percent(), l->pids(), l->call_deadline_ms(), l->fuel()};
	if (m->dependencies())
		for (const auto *d : *m->dependencies()) {
			if (!name_ok(str(d->name())))
				return Unexpected(invalid(fmt::format("manifest dependency '{}' is not a plugin name",
								      str(d->name()))));
			auto range = VersionRange::parse(str(d->range()));
			if (!range.has_value())
				return Unexpected(invalid(fmt::format("manifest dependency '{}': {}", str(d->name()),
								      range.error().message)));
			out.dependencies.push_back({str(d->name()), std::move(range).value()});
		}
	if (m->payloads())
		for (const auto *p : *m->payloads()) {
			ManifestPayload mp;
			mp.platform = str(p->platform());
			mp.file = str(p->file());
			mp.offset = p->offset();
			mp.size = p->size();
			if (mp.platform.empty())
				return Unexpected(invalid("a manifest payload has no platform"));
			if (!p->blake2b() || p->blake2b()->size() != mp.blake2b.size())
				return Unexpected(invalid(fmt::format(
					"manifest payload for {} does not pin a 32-byte BLAKE2b hash", mp.platform)));
			std::copy(p->blake2b()->begin(), p->blake2b()->end(), mp.blake2b.begin());
			out.payloads.push_back(std::move(mp));
		}
	if (out.payloads.empty())
		return Unexpected(invalid("the manifest lists no payload"));
	return out;
}

Result<Bytes> manifest_from_json(std::string_view json)
{
	flatbuffers::Parser parser;
	TRY(schema_parser(parser));
	const std::string text(json);
	if (!parser.Parse(text.c_str()))
		return Unexpected(invalid("manifest JSON: " + parser.error_));
	const auto *data = parser.builder_.GetBufferPointer();
	return Bytes(data, data + parser.builder_.GetSize());
}

Result<std::string> manifest_to_json(ByteView bytes)
{
	flatbuffers::Verifier verifier(bytes.data(), bytes.size());
	if (!fb::VerifyManifestBuffer(verifier))
		return Unexpected(invalid("the manifest is not a valid flatbuffers Manifest (identifier BHMF)"));
	flatbuffers::Parser parser;
	TRY(schema_parser(parser));
	std::string text;
	if (!flatbuffers::GenerateText(parser, bytes.data(), &text))
		return Unexpected(Error{ErrorCode::Internal, "cannot print the manifest as JSON"});
	return text;
}

Result<std::vector<ManifestPayload>> manifest_payload_files(ByteView bytes)
{
	flatbuffers::Verifier verifier(bytes.data(), bytes.size());
	if (!fb::VerifyManifestBuffer(verifier))
		return Unexpected(invalid("the manifest is not a valid flatbuffers Manifest (identifier BHMF)"));
	std::vector<ManifestPayload> out;
	if (const auto *payloads = fb::GetManifest(bytes.data())->payloads())
		for (const auto *p : *payloads) {
			ManifestPayload mp;
			mp.platform = str(p->platform());
			mp.file = str(p->file());
			out.push_back(std::move(mp));
		}
	return out;
}

Result<Bytes> manifest_with_payloads(ByteView bytes, const std::vector<ManifestPayload> &payloads)
{
	flatbuffers::Verifier verifier(bytes.data(), bytes.size());
	if (!fb::VerifyManifestBuffer(verifier))
		return Unexpected(invalid("the manifest is not a valid flatbuffers Manifest (identifier BHMF)"));
	fb::ManifestT m;
	fb::GetManifest(bytes.data())->UnPackTo(&m);
	m.payloads.clear();
	for (const auto &p : payloads) {
		auto t = std::make_unique<fb::PayloadT>();
		t->platform = p.platform;
		t->file = p.file;
		t->offset = p.offset;
		t->size = p.size;
		t->blake2b.assign(p.blake2b.begin(), p.blake2b.end());
		m.payloads.push_back(std::move(t));
	}
	flatbuffers::FlatBufferBuilder fbb;
	fb::FinishManifestBuffer(fbb, fb::Manifest::Pack(fbb, &m));
	return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

} // namespace bulkhead::broker

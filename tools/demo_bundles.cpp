// SPDX-License-Identifier: Apache-2.0
// Packing and signing the example plugins for the demo.
#include "demo_bundles.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fmt/format.h>

#include <bulkhead/broker/bundle.hpp>

#include "paths.hpp"

namespace bulkhead::tools {

namespace {

Result<Bytes> read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return make_error(ErrorCode::NotFound, fmt::format("cannot read {}", path));
	return Bytes(std::istreambuf_iterator<char>(in), {});
}

Result<void> write_file(const std::string &path, const Bytes &bytes)
{
	std::ofstream out(path, std::ios::binary);
	out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
	if (!out)
		return make_error(ErrorCode::Internal, fmt::format("cannot write {}", path));
	return {};
}

} // namespace

DemoRoot::DemoRoot(DemoRoot &&other) noexcept
	: base_(std::exchange(other.base_, {})), root_(std::move(other.root_)),
	  staging_(std::move(other.staging_)), key_(std::move(other.key_))
{
}

DemoRoot::~DemoRoot()
{
	if (!base_.empty()) {
		std::error_code ignored;
		std::filesystem::remove_all(base_, ignored);
	}
}

Result<DemoRoot> DemoRoot::create()
{
	DemoRoot d;
	char tmpl[] = "/tmp/bulkhead-demo-XXXXXX";
	if (!::mkdtemp(tmpl))
		return Unexpected(errno_error("mkdtemp", errno));
	d.base_ = tmpl;
	d.root_ = d.base_ + "/plugins";
	d.staging_ = d.base_ + "/staging";
	std::filesystem::create_directory(d.root_);
	std::filesystem::create_directory(d.staging_);

	broker::KeyPair keys = broker::generate_key_pair("bulkhead demo");
	d.key_ = keys.public_key;
	for (const char *name : {"echo", "hash"}) {
		auto manifest = TRY(broker::manifest_from_json(fmt::format(
			R"({{"name": "{}", "version": "1.0.0", "abi_version": 1,
			    "description": "example plugin", "author": "Bulkhead"}})", name)));
		Bytes so = TRY(read_file(plugin_path(name)));
		Bytes bundle = TRY(broker::pack_bundle(
			manifest, {{broker::kHostPlatform, fmt::format("{}.so", name), std::move(so)}},
			&keys.secret_key));
		TRY(write_file(fmt::format("{}/{}.bhb", d.staging_, name), bundle));
		if (std::string_view(name) == "echo") {
			bundle[bundle.size() / 2] ^= 0x01; // one flipped bit
			TRY(write_file(d.staging_ + "/echo-tampered.bhb", bundle));
		}
	}
	return d;
}

} // namespace bulkhead::tools

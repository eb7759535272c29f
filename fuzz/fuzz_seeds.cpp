// SPDX-License-Identifier: Apache-2.0
// Writes the fuzzers' seed corpus at build time: <dir>/bundle/ (bundles
// signed with the fuzz key, unsigned, with native and wasm payloads) and
// <dir>/manifest/ (binary and JSON manifests). Small, so the fuzzers start
// from valid inputs rather than having to find the magic and the layout.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <bulkhead/broker/bundle.hpp>

#include "fuzz_key.hpp"

using namespace bulkhead;
using namespace bulkhead::broker;

namespace {

constexpr const char *kManifest = R"({
  "name": "seed", "version": "1.2.3-rc.1+b5", "abi_version": 1,
  "description": "fuzz seed", "author": "fuzz",
  "categories": ["compression"], "capabilities": ["network", "read_path:/usr/share"],
  "limits": {"memory_bytes": 1048576, "cpu_percent": 50, "pids": 8, "call_deadline_ms": 100, "fuel": 1000},
  "dependencies": [{"name": "base", "range": "^1.0 || >=2.1.0 <3"}],
  "payloads": [{"platform": "linux-x86_64", "file": "seed.so"}]
})";

void write(const std::filesystem::path &path, ByteView bytes)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
	if (!out) {
		std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", path.c_str());
		std::exit(1);
	}
}

Bytes bundle(const std::vector<PackPayload> &payloads, const SecretKey *key)
{
	auto manifest = manifest_from_json(kManifest);
	auto packed = manifest.has_value() ? pack_bundle(manifest.value(), payloads, key) : Unexpected(manifest.error());
	if (!packed.has_value()) {
		std::fprintf(stderr, "fuzz_seeds: %s\n", packed.error().message.c_str());
		std::exit(1);
	}
	return packed.value();
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	const std::filesystem::path dir = argv[1];
	std::filesystem::create_directories(dir / "bundle");
	std::filesystem::create_directories(dir / "manifest");
	const KeyPair keys = fuzz::fixed_key_pair();
	const Bytes elf{0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
	const Bytes wasm{0, 'a', 's', 'm', 1, 0, 0, 0};
	write(dir / "bundle" / "signed.bhb", bundle({{"linux-x86_64", "seed.so", elf}}, &keys.secret_key));
	write(dir / "bundle" / "unsigned.bhb", bundle({{"linux-x86_64", "seed.so", elf}}, nullptr));
	write(dir / "bundle" / "native-and-wasm.bhb",
	      bundle({{"linux-aarch64", "seed.so", elf}, {"wasm32", "seed.wasm", wasm}}, &keys.secret_key));
	const Bytes binary = manifest_from_json(kManifest).value();
	write(dir / "manifest" / "manifest.bin", binary);
	write(dir / "manifest" / "manifest.json", as_bytes(kManifest));
	write(dir / "manifest" / "minimal.json", as_bytes(R"({"name": "x", "version": "0.0.1"})"));
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Shared by the wasm tests: where the build put the shims and the guests, a
// private AOT cache for the test process, and a host for either tier.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <bulkhead/host.hpp>

namespace bulkhead::test {

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline std::string wasm_plugin(const char *name)
{
	return std::string(BULKHEAD_TEST_WASM_DIR) + "/bulkhead-plugin-" + name + ".wasm";
}

// One cache per test process, removed at exit: tests never touch the
// user's cache, and the guests compile once per process.
inline const std::string &test_cache_dir()
{
	// Never destroyed: the atexit handler runs after static destructors.
	static const std::string *dir = [] {
		auto *t = new std::string(
			(std::filesystem::temp_directory_path() / "bulkhead-wasm-test.XXXXXX").string());
		if (!::mkdtemp(t->data()))
			std::abort();
		std::atexit([] {
			std::error_code ec;
			std::filesystem::remove_all(*dir, ec);
		});
		return t;
	}();
	return *dir;
}

inline HostOptions wasm_options(wasm::TierPolicy tier, std::string cache = test_cache_dir())
{
	HostOptions o;
	o.development_mode = true; // bare .wasm files (wasm_bundle_test signs bundles)
	o.shim_path = BULKHEAD_TEST_SHIM;
	o.wasm_shim_path = BULKHEAD_TEST_WASM_SHIM;
	o.wasm_cache_dir = std::move(cache);
	o.wasm.tier = tier;
	return o;
}

// RunOptions for `tier`, adjusted by `tweak`.
template<typename Tweak = void (*)(wasm::RunOptions &)>
inline wasm::RunOptions run(wasm::TierPolicy tier, Tweak tweak = [](wasm::RunOptions &) {})
{
	wasm::RunOptions r;
	r.tier = tier;
	tweak(r);
	return r;
}

inline std::unique_ptr<Host> wasm_host(wasm::TierPolicy tier)
{
	return std::move(Host::create(wasm_options(tier)).value());
}

} // namespace bulkhead::test

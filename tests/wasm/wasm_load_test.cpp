// SPDX-License-Identifier: Apache-2.0
// Loading WebAssembly: tier A's cache and compiler, the fallbacks to the
// interpreter, refusals of crafted modules, and no leaked descriptors or
// children.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <bulkhead/wasm/aot_cache.hpp>

#include "../broker/test_support.hpp"
#include "module_builder.hpp"
#include "wasm_test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;
using wasm::TierPolicy;
namespace fs = std::filesystem;

namespace {

// A fresh, private directory for one test; removed with it.
struct TempDir {
	std::string path;
	TempDir()
	{
		path = (fs::temp_directory_path() / "bulkhead-wasm-load.XXXXXX").string();
		REQUIRE(::mkdtemp(path.data()));
	}
	~TempDir()
	{
		std::error_code ec;
		fs::remove_all(path, ec);
	}
	std::string file(const std::string &name, const Bytes &bytes, mode_t mode = 0600) const
	{
		std::string p = path + "/" + name;
		std::ofstream(p, std::ios::binary)
			.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
		::chmod(p.c_str(), mode);
		return p;
	}
};

std::size_t cached_objects(const std::string &dir)
{
	std::size_t n = 0;
	for (const auto &e : fs::directory_iterator(dir))
		n += e.path().extension() == ".so";
	return n;
}

} // namespace

TEST_CASE("second_load_of_a_module_uses_the_cache_without_compiling")
{
	TempDir cache;
	auto host = std::move(Host::create(test::wasm_options(TierPolicy::Aot, cache.path)).value());
	std::vector<std::string> first, second;
	LoadOptions o1;
	o1.progress = [&](std::string_view s) { first.emplace_back(s); };
	auto a = host->load(test::wasm_plugin("echo"), std::move(o1));
	REQUIRE_MESSAGE(a.has_value(), a.error().to_string());
	LoadOptions o2;
	o2.progress = [&](std::string_view s) { second.emplace_back(s); };
	auto b = host->load(test::wasm_plugin("echo"), std::move(o2));
	REQUIRE(b.has_value());
	CHECK(b->info().runtime == "wasm-aot");
	REQUIRE(!first.empty());
	CHECK(std::find_if(first.begin(), first.end(), [](auto &s) { return s.find("compiling") == 0; }) !=
	      first.end());
	CHECK(second == std::vector<std::string>{"using the cached native code"});
	CHECK(cached_objects(cache.path) == 1);
	// Metered code is another object.
	wasm::RunOptions fuel;
	fuel.tier = TierPolicy::Aot;
	fuel.fuel = 1'000'000;
	LoadOptions o3;
	o3.wasm = fuel;
	REQUIRE(host->load(test::wasm_plugin("echo"), std::move(o3)).has_value());
	CHECK(cached_objects(cache.path) == 2);
	struct stat st;
	REQUIRE(::stat(cache.path.c_str(), &st) == 0);
	CHECK((st.st_mode & 022) == 0);
}

// The cache must never hand out native code built from another module, by
// another toolchain or without the metering the load asked for.
TEST_CASE("the_cache_key_changes_with_the_module_the_toolchain_and_metering")
{
	TempDir dir;
	auto cache = wasm::AotCache::open(dir.path + "/cache");
	REQUIRE_MESSAGE(cache.has_value(), cache.error().to_string());
	const wasm::Toolchain tc{"/usr/bin/wasm2c", "/usr/bin/gcc", "wasm2c 1.0.32; gcc 12.2.0"};
	wasm::Toolchain other = tc;
	other.fingerprint = "wasm2c 1.0.32; gcc 12.3.0";
	const Bytes a = test::bytes("module a");
	Bytes b = a;
	b.back() ^= 1; // one bit of the module
	const std::string base = cache->key(a, tc, false);
	CHECK(base == cache->key(a, tc, false)); // stable
	CHECK(base.size() >= 32);
	CHECK(base != cache->key(b, tc, false));
	CHECK(base != cache->key(a, other, false));
	CHECK(base != cache->key(a, tc, true));
	CHECK(cache->key(a, tc, true) != cache->key(a, other, true));
	// An absent key is not found, not an error.
	auto miss = cache->find(base);
	REQUIRE(miss.has_value());
	CHECK_FALSE(miss->has_value());
}

TEST_CASE("a_failing_compiler_is_a_clear_error")
{
	TempDir dir;
	const std::string cc = dir.file(
		"failing-cc", test::bytes("#!/bin/sh\necho 'cc: fatal error: simulated failure' >&2\nexit 3\n"), 0700);
	auto o = test::wasm_options(TierPolicy::Aot, dir.path + "/cache");
	o.wasm_cc_path = cc;
	auto host = std::move(Host::create(o).value());
	auto r = host->load(test::wasm_plugin("echo"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::FailedPrecondition);
	CHECK(r.error().message.find("compiling the module failed (status 3)") != std::string::npos);
	CHECK(r.error().message.find("simulated failure") != std::string::npos);
	CHECK(host->plugins().empty());
	CHECK(cached_objects(dir.path + "/cache") == 0);
}

TEST_CASE("without_a_compiler_the_interpreter_runs_the_module_unless_aot_is_required")
{
	TempDir dir;
	auto o = test::wasm_options(TierPolicy::Auto, dir.path);
	o.wasm_cc_path = "/nonexistent/gcc";
	auto host = std::move(Host::create(o).value());
	auto p = host->load(test::wasm_plugin("echo"));
	REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
	CHECK(p->info().runtime == "wasm-interp");
	CHECK(as_string(p->call("echo", as_bytes("hi"), Deadline::after(5s)).value()) == "hi");

	LoadOptions aot;
	aot.wasm = test::run(TierPolicy::Aot);
	auto refused = host->load(test::wasm_plugin("echo"), std::move(aot));
	REQUIRE_FALSE(refused.has_value());
	CHECK(refused.error().code == ErrorCode::FailedPrecondition);
	CHECK(refused.error().message.find("/nonexistent/gcc") != std::string::npos);
}

TEST_CASE("instant_start_uses_the_interpreter_until_the_cache_is_warm")
{
	TempDir cache;
	auto host = std::move(Host::create(test::wasm_options(TierPolicy::InstantStart, cache.path)).value());
	auto cold = host->load(test::wasm_plugin("compute"));
	REQUIRE(cold.has_value());
	CHECK(cold->info().runtime == "wasm-interp");
	LoadOptions warm_up;
	warm_up.wasm = test::run(TierPolicy::Aot);
	REQUIRE(host->load(test::wasm_plugin("compute"), std::move(warm_up)).has_value());
	auto warm = host->load(test::wasm_plugin("compute"));
	REQUIRE(warm.has_value());
	CHECK(warm->info().runtime == "wasm-aot");
}

TEST_CASE("a_crafted_module_with_interleaved_imports_is_refused_listing_them")
{
	TempDir dir;
	const std::string path = dir.file("crafted.wasm", test::interleaved_imports_module());
	auto host = test::wasm_host(TierPolicy::Interp);
	auto r = host->load(path);
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PermissionDenied);
	CHECK(r.error().message.find("env.memory (memory import), env.table (table import), "
				     "env.counter (global import), env.memory64 (memory import)") !=
	      std::string::npos);
}

TEST_CASE("a_cache_others_can_write_is_refused")
{
	TempDir dir;
	const std::string open_dir = dir.path + "/open";
	REQUIRE(::mkdir(open_dir.c_str(), 0777) == 0);
	REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
	auto host = std::move(Host::create(test::wasm_options(TierPolicy::Aot, open_dir)).value());
	// Bulkhead tightens a directory it owns...
	REQUIRE(host->load(test::wasm_plugin("echo")).has_value());
	struct stat st;
	REQUIRE(::stat(open_dir.c_str(), &st) == 0);
	CHECK((st.st_mode & 077) == 0);
	// ...and refuses one it does not.
	if (::geteuid() == 0) {
		REQUIRE(::chown(open_dir.c_str(), 65534, 65534) == 0);
		auto r = host->load(test::wasm_plugin("echo"));
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::PermissionDenied);
	}
}

TEST_CASE("loading_and_unloading_wasm_plugins_leaks_no_descriptors_or_children")
{
	// Warm the cache first: the first compile's tools are children too.
	test::wasm_host(TierPolicy::Aot)->load(test::wasm_plugin("spin")).value();
	const int before = test::open_fds();
	{
		auto host = test::wasm_host(TierPolicy::Aot);
		for (auto tier : {TierPolicy::Aot, TierPolicy::Interp}) {
			LoadOptions o;
			o.wasm = test::run(tier, [](wasm::RunOptions &r) { r.call_limit = 50ms; });
			auto p = host->load(test::wasm_plugin("spin"), std::move(o)).value();
			CHECK(p.call("spin", {}, Deadline::after(5s)).error().code == ErrorCode::DeadlineExceeded);
			host->unload(p);
		}
		CHECK(host->load(test::wasm_plugin("forbidden")).has_value() == false);
	}
	CHECK(test::open_fds() == before);
	CHECK(test::no_children());
}

int main(int argc, char **argv)
{
	if (std::strlen(BULKHEAD_TEST_WASM_SKIP) > 0) {
		std::printf("SKIP: %s\n", BULKHEAD_TEST_WASM_SKIP);
		return 77;
	}
	doctest::Context context(argc, argv);
	return context.run();
}

// SPDX-License-Identifier: Apache-2.0
// Host::load, install and discover with signed bundles and real shims:
// trusted bundles run, everything else is refused before any process starts.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/log.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace bulkhead::broker;
namespace fs = std::filesystem;

namespace {

struct Fixture {
	fs::path root;
	fs::path elsewhere;
	KeyPair keys = generate_key_pair("signed_load_test");

	Fixture()
	{
		char a[] = "/tmp/bulkhead-root-XXXXXX", b[] = "/tmp/bulkhead-src-XXXXXX";
		root = ::mkdtemp(a);
		elsewhere = ::mkdtemp(b);
	}
	~Fixture()
	{
		fs::remove_all(root);
		fs::remove_all(elsewhere);
	}

	static Bytes echo_so()
	{
		std::ifstream in(test::plugin("echo"), std::ios::binary);
		return Bytes(std::istreambuf_iterator<char>(in), {});
	}

	Bytes bundle(const SecretKey *key, std::string_view name = "echo", std::string_view version = "1.0.0")
	{
		auto manifest = manifest_from_json(fmt::format(
			R"({{"name": "{}", "version": "{}", "abi_version": 1, "payloads": []}})", name, version));
		REQUIRE(manifest.has_value());
		auto b = pack_bundle(manifest.value(), {{kHostPlatform, "echo.so", echo_so()}}, key);
		REQUIRE_MESSAGE(b.has_value(), b.error().message);
		return b.value();
	}

	static void write(const fs::path &path, const Bytes &bytes)
	{
		std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
							    static_cast<std::streamsize>(bytes.size()));
	}

	std::unique_ptr<Host> host(bool development = false)
	{
		HostOptions o = test::options();
		o.development_mode = development;
		o.plugin_root = root;
		REQUIRE(o.trust.add(keys.public_key).has_value());
		auto h = Host::create(std::move(o));
		REQUIRE_MESSAGE(h.has_value(), h.error().to_string());
		return std::move(h).value();
	}
};

} // namespace

TEST_CASE("a_bundle_signed_by_a_trusted_key_loads_and_answers")
{
	Fixture f;
	f.write(f.root / "echo.bhb", f.bundle(&f.keys.secret_key));
	auto host = f.host();
	auto echo = host->load("echo.bhb");
	REQUIRE_MESSAGE(echo.has_value(), echo.error().to_string());
	auto out = echo->call("echo", as_bytes("signed"));
	REQUIRE(out.has_value());
	CHECK(as_string(out.value()) == "signed");
	PluginInfo info = echo->info();
	CHECK(info.key_id == f.keys.public_key.id);
	CHECK(info.payload_hash == hex(blake2b_256(Fixture::echo_so())));
	CHECK(info.source == "echo.bhb");
}

TEST_CASE("untrusted_tampered_and_bare_plugins_are_refused_before_any_process_starts")
{
	Fixture f;
	KeyPair stranger = generate_key_pair("");
	f.write(f.root / "unsigned.bhb", f.bundle(nullptr));
	f.write(f.root / "stranger.bhb", f.bundle(&stranger.secret_key));
	Bytes tampered = f.bundle(&f.keys.secret_key);
	tampered[tampered.size() - 100] ^= 0x20;
	f.write(f.root / "tampered.bhb", tampered);
	f.write(f.root / "bare.so", Fixture::echo_so());
	fs::create_symlink(f.root / "unsigned.bhb", f.root / "link.bhb");

	auto host = f.host();
	const int fds = test::open_fds();
	struct Case {
		const char *name;
		const char *reason;
	} cases[] = {
		{"unsigned.bhb", "not signed"},
		{"stranger.bhb", "does not trust"},
		{"tampered.bhb", "does not match the hash"},
		{"bare.so", "not a signed bundle"},
		{"link.bhb", "symbolic link"},
		{"../etc/passwd", "'..'"},
	};
	for (const auto &c : cases) {
		auto r = host->load(c.name);
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::PermissionDenied);
		CHECK_MESSAGE(r.error().message.find(c.reason) != std::string::npos, r.error().message);
		CHECK(r.error().message.find(c.name) != std::string::npos);
	}
	CHECK(test::no_children());
	CHECK(test::open_fds() == fds);

	// Development mode lets the unsigned ones through, loudly.
	auto dev = f.host(true);
	auto u = dev->load("unsigned.bhb");
	REQUIRE_MESSAGE(u.has_value(), u.error().to_string());
	CHECK(u->info().key_id.empty());
	CHECK(dev->load("bare.so").has_value());
	CHECK_FALSE(dev->load("tampered.bhb").has_value());
}

// The broker verifies the bytes it read and hands the shim a sealed copy of
// exactly those bytes: rewriting the bundle on disk after the load changes
// nothing that runs, and the plugin's code is mapped from the memfd, never
// from a path in the plugin root.
TEST_CASE("the_shim_runs_the_sealed_copy_and_never_the_file_on_disk")
{
	Fixture f;
	f.write(f.root / "echo.bhb", f.bundle(&f.keys.secret_key));
	auto host = f.host();
	auto echo = host->load("echo.bhb");
	REQUIRE_MESSAGE(echo.has_value(), echo.error().to_string());
	const int pid = echo->info().pid;
	REQUIRE(pid > 0);

	std::ifstream maps(fmt::format("/proc/{}/maps", pid));
	REQUIRE(maps.good());
	bool from_memfd = false;
	std::string line;
	while (std::getline(maps, line)) {
		CHECK_MESSAGE(line.find(f.root.string()) == std::string::npos, line);
		if (line.find("memfd:bulkhead-payload") != std::string::npos)
			from_memfd = true;
	}
	CHECK(from_memfd);

	// Overwrite the file with garbage: the running plugin is unaffected.
	f.write(f.root / "echo.bhb", Bytes(4096, 0x5a));
	auto out = echo->call("echo", as_bytes("still sealed"));
	REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
	CHECK(as_string(out.value()) == "still sealed");
}

TEST_CASE("development_mode_warns_on_every_load_of_an_unsigned_bundle")
{
	Fixture f;
	f.write(f.root / "unsigned.bhb", f.bundle(nullptr));
	f.write(f.root / "trusted.bhb", f.bundle(&f.keys.secret_key));
	f.write(f.root / "bare.so", Fixture::echo_so());
	std::mutex mutex;
	std::vector<std::string> warnings;
	log::set_sink([&](log::Level level, std::string_view line) {
		if (level != log::Level::Warning)
			return;
		std::lock_guard lock(mutex);
		warnings.emplace_back(line);
	});
	const auto count = [&](std::string_view needle) {
		std::lock_guard lock(mutex);
		int n = 0;
		for (const auto &w : warnings)
			n += w.find(needle) != std::string::npos;
		return n;
	};
	{
		auto dev = f.host(true);
		CHECK(count("DEVELOPMENT MODE is on") == 1);
		for (int i = 0; i < 2; ++i) {
			auto u = dev->load("unsigned.bhb");
			REQUIRE_MESSAGE(u.has_value(), u.error().to_string());
		}
		CHECK(count("loading unsigned.bhb, an UNSIGNED bundle") == 2);
		auto bare = dev->load("bare.so");
		REQUIRE_MESSAGE(bare.has_value(), bare.error().to_string());
		CHECK(count("loading bare.so, a bare plugin file") == 1);
		// A signed bundle loads without a warning, even in development mode.
		auto s = dev->load("trusted.bhb");
		REQUIRE_MESSAGE(s.has_value(), s.error().to_string());
		CHECK(count("trusted.bhb") == 0);
	}
	log::set_sink({});
}

TEST_CASE("a_manifest_that_lies_about_its_plugin_is_refused_and_its_shim_stopped")
{
	Fixture f;
	f.write(f.root / "liar.bhb", f.bundle(&f.keys.secret_key, "compress", "9.9.9"));
	auto host = f.host();
	auto r = host->load("liar.bhb");
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PermissionDenied);
	CHECK(r.error().message.find("compress 9.9.9") != std::string::npos);
	CHECK(r.error().message.find("echo 1.0.0") != std::string::npos);
	CHECK(host->plugins().empty());
	CHECK(test::eventually([] { return test::no_children_but_a_spare(); }));
}

TEST_CASE("install_copies_a_verified_bundle_into_the_root_and_discover_finds_it")
{
	Fixture f;
	f.write(f.elsewhere / "echo.bhb", f.bundle(&f.keys.secret_key));
	f.write(f.elsewhere / "unsigned.bhb", f.bundle(nullptr));
	auto host = f.host();

	auto installed = host->install(f.elsewhere / "echo.bhb");
	REQUIRE_MESSAGE(installed.has_value(), installed.error().to_string());
	CHECK(installed.value() == "echo-1.0.0.bhb");
	CHECK(fs::is_regular_file(f.root / "echo-1.0.0.bhb"));
	auto again = host->install(f.elsewhere / "echo.bhb");
	REQUIRE_FALSE(again.has_value());
	CHECK(again.error().message.find("already installed") != std::string::npos);
	auto refused = host->install(f.elsewhere / "unsigned.bhb");
	REQUIRE_FALSE(refused.has_value());
	CHECK(refused.error().code == ErrorCode::PermissionDenied);
	CHECK_FALSE(fs::exists(f.root / "echo-1.0.0.bhb.tmp"));

	f.write(f.root / "junk.bhb", Bytes{'B', 'H', 'B', 'U', 'N', 'D', 'L', 'E', 0});
	auto found = host->discover();
	REQUIRE(found.has_value());
	REQUIRE(found->size() == 2);
	CHECK(found->at(0).file == "echo-1.0.0.bhb");
	CHECK(found->at(0).manifest.name == "echo");
	CHECK(found->at(0).key_id == f.keys.public_key.id);
	CHECK_FALSE(found->at(0).refused.has_value());
	CHECK(found->at(1).file == "junk.bhb");
	REQUIRE(found->at(1).refused.has_value());
	CHECK(found->at(1).refused->message.find("malformed") != std::string::npos);

	auto echo = host->load("echo-1.0.0.bhb");
	REQUIRE_MESSAGE(echo.has_value(), echo.error().to_string());
	CHECK(echo->call("reverse", as_bytes("abc")).has_value());
}

TEST_CASE("a_host_with_a_missing_plugin_root_is_not_created")
{
	HostOptions o = test::options();
	o.plugin_root = "/nonexistent/plugins";
	auto h = Host::create(o);
	REQUIRE_FALSE(h.has_value());
	CHECK(h.error().message.find("/nonexistent/plugins") != std::string::npos);
}

// SPDX-License-Identifier: Apache-2.0
// Extensions with real shims and signed bundles: dependency order, graph
// errors before anything starts, unload refusing to strand dependents,
// shutdown reporting every error, placement decided by trust, and custom
// operations whose anchors run in plugin processes.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/bundle.hpp>
#include <bulkhead/broker/trust_store.hpp>
#include <bulkhead/ext/extensions.hpp>

#include "../broker/test_support.hpp"

using namespace bulkhead;
using namespace bulkhead::ext;
namespace fs = std::filesystem;

namespace {

std::string text(const Bytes &b) { return std::string(b.begin(), b.end()); }
Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

struct Fixture {
	fs::path root;
	broker::KeyPair keys = broker::generate_key_pair("extensions_test");
	broker::KeyPair first_party = broker::generate_key_pair("first_party");

	Fixture()
	{
		char a[] = "/tmp/bulkhead-ext-XXXXXX";
		root = ::mkdtemp(a);
	}
	~Fixture()
	{
		fs::remove_all(root);
		fs::remove(audit_path());
	}
	std::string audit_path() const { return root.string() + ".audit"; }

	static Bytes read(const std::string &path)
	{
		std::ifstream in(path, std::ios::binary);
		return Bytes(std::istreambuf_iterator<char>(in), {});
	}

	// A signed bundle of tests/plugins/named.cpp built as `name` `version`,
	// its manifest naming `deps` ("name": "range").
	std::string bundle(std::string_view name, std::string_view version, std::string_view deps = "",
			   const broker::SecretKey *key = nullptr, std::string_view file = {})
	{
		auto manifest = broker::manifest_from_json(fmt::format(
			R"({{"name": "{}", "version": "{}", "abi_version": 1, "description": "test plugin {}",
			    "author": "tests", "categories": ["operations"], "dependencies": [{}], "payloads": []}})",
			name, version, name, deps));
		REQUIRE_MESSAGE(manifest.has_value(), manifest.error().message);
		const auto so = fmt::format("{}/bulkhead-plugin-named-{}-{}.so", BULKHEAD_TEST_FAULTY_DIR, name, version);
		auto b = broker::pack_bundle(manifest.value(), {{broker::kHostPlatform, "plugin.so", read(so)}},
					     key ? key : &keys.secret_key);
		REQUIRE_MESSAGE(b.has_value(), b.error().message);
		const std::string out = std::string(file.empty() ? fmt::format("{}-{}.bhb", name, version) : file);
		std::ofstream(root / out, std::ios::binary)
			.write(reinterpret_cast<const char *>(b->data()), static_cast<std::streamsize>(b->size()));
		return out;
	}

	std::unique_ptr<Host> host(bool mark_first_party = false)
	{
		HostOptions o = test::options();
		o.development_mode = false;
		o.plugin_root = root;
		REQUIRE(o.trust.add(keys.public_key).has_value());
		REQUIRE(o.trust.add(first_party.public_key).has_value());
		if (mark_first_party)
			o.first_party_keys = {first_party.public_key.id};
		o.audit_log = audit_path();
		auto h = Host::create(std::move(o));
		REQUIRE_MESSAGE(h.has_value(), h.error().to_string());
		return std::move(h).value();
	}
};

std::string who(Extensions &ext, std::string_view name)
{
	const auto *e = ext.registry().find(name);
	REQUIRE(e != nullptr);
	auto r = e->endpoint->call("who", {}, Deadline::after(std::chrono::seconds(5)));
	REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
	return text(r.value());
}

} // namespace

TEST_CASE("plugins_load_in_dependency_order_whatever_order_they_are_given_in")
{
	Fixture f;
	const auto c = f.bundle("dep-c", "1.0.0", R"({"name": "dep-a", "range": "*"})");
	const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "^1.0.0"})");
	const auto b = f.bundle("dep-b", "1.0.0");
	auto host = f.host();
	{
		Extensions ext(*host);
		auto loaded = ext.load({c, a, b});
		REQUIRE_MESSAGE(loaded.has_value(), loaded.error().to_string());
		CHECK(loaded.value() == std::vector<std::string>{"dep-b", "dep-a", "dep-c"});
		CHECK(who(ext, "dep-a") == "dep-a 1.0.0");
		auto list = ext.registry().list();
		REQUIRE(list.size() == 3);
		CHECK(list[0].description == "test plugin dep-a");
		CHECK(list[0].author == "tests");
		CHECK(list[0].placement == Placement::Isolated);
		CHECK(host->plugins().size() == 3);
	}
	// The Extensions destructor stopped them all.
	CHECK(host->plugins().empty());
}

TEST_CASE("a_dependency_loaded_earlier_satisfies_a_later_load")
{
	Fixture f;
	const auto b = f.bundle("dep-b", "1.0.0");
	const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "1.x"})");
	auto host = f.host();
	Extensions ext(*host);
	REQUIRE(ext.load({b}).has_value());
	auto later = ext.load({a});
	REQUIRE_MESSAGE(later.has_value(), later.error().to_string());
	CHECK(later.value() == std::vector<std::string>{"dep-a"});
	auto again = ext.load({b});
	REQUIRE_FALSE(again.has_value());
	CHECK(again.error().message.find("loaded already") != std::string::npos);
}

TEST_CASE("graph_errors_are_named_and_nothing_starts")
{
	Fixture f;
	auto host = f.host();
	Extensions ext(*host);
	SUBCASE("a cycle")
	{
		const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "*"})");
		const auto b = f.bundle("dep-b", "1.0.0", R"({"name": "dep-a", "range": "*"})");
		auto r = ext.load({a, b});
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().message == "dependency cycle: dep-a 1.0.0 -> dep-b 1.0.0 -> dep-a 1.0.0");
	}
	SUBCASE("a missing dependency")
	{
		const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-c", "range": "^1.0.0"})");
		auto r = ext.load({a});
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::NotFound);
		CHECK(r.error().message == "dep-a 1.0.0 needs dep-c ^1.0.0, which is not present");
	}
	SUBCASE("an incompatible dependency")
	{
		const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "^2.0.0"})");
		const auto b = f.bundle("dep-b", "1.0.0");
		auto r = ext.load({a, b});
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::FailedPrecondition);
		CHECK(r.error().message == "dep-a 1.0.0 needs dep-b ^2.0.0, but dep-b 1.0.0 is present");
	}
	CHECK(host->plugins().empty());
	CHECK(ext.registry().size() == 0);
	CHECK(test::eventually([] { return test::no_children(); }));
}

TEST_CASE("unloading_a_plugin_others_depend_on_is_refused_unless_cascading")
{
	Fixture f;
	const auto b = f.bundle("dep-b", "1.0.0");
	const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "*"})");
	const auto c = f.bundle("dep-c", "1.0.0", R"({"name": "dep-a", "range": "*"})");
	auto host = f.host();
	Extensions ext(*host);
	REQUIRE(ext.load({a, b, c}).has_value());

	auto refused = ext.unload("dep-b");
	REQUIRE_FALSE(refused.has_value());
	CHECK(refused.error().code == ErrorCode::FailedPrecondition);
	CHECK(refused.error().message ==
	      "cannot unload dep-b: dep-c 1.0.0, dep-a 1.0.0 depend on it (unload with cascade to stop them first)");
	CHECK(ext.registry().size() == 3);
	CHECK(host->plugins().size() == 3);

	// A leaf goes alone.
	REQUIRE(ext.unload("dep-c").has_value());
	CHECK(ext.registry().find("dep-c") == nullptr);
	CHECK(ext.unload("dep-c").error().code == ErrorCode::NotFound);

	auto cascade = ext.unload("dep-b", true);
	REQUIRE_MESSAGE(cascade.has_value(), cascade.error().to_string());
	CHECK(ext.registry().size() == 0);
	CHECK(host->plugins().empty());
	CHECK(test::eventually([] { return test::no_children_but_a_spare(); }));
}

TEST_CASE("shutdown_runs_in_reverse_dependency_order_and_reports_every_error")
{
	Fixture f;
	const auto b = f.bundle("dep-b", "1.0.0");
	const auto a = f.bundle("dep-a", "1.0.0", R"({"name": "dep-b", "range": "*"})");
	const auto c = f.bundle("dep-c", "1.0.0");
	auto host = f.host();
	Extensions ext(*host);
	REQUIRE(ext.load({a, b, c}).has_value());
	// Two of them crash before the shutdown: each is an error of its own.
	for (auto name : {"dep-a", "dep-b"}) {
		auto p = ext.plugin(name);
		REQUIRE(p.has_value());
		p->kill();
		REQUIRE(p->wait_exit(std::chrono::seconds(10)));
	}
	auto r = ext.shutdown();
	REQUIRE_FALSE(r.has_value());
	const auto &m = r.error().message;
	CHECK(m.find("shutdown: 2 of 3 reported errors") == 0);
	const auto at_a = m.find("plugin dep-a stopped");
	const auto at_b = m.find("plugin dep-b stopped");
	REQUIRE(at_a != std::string::npos);
	REQUIRE(at_b != std::string::npos);
	CHECK(at_a < at_b); // the dependent first
	CHECK(m.find("dep-c") == std::string::npos);
	CHECK(host->plugins().empty());
	CHECK(ext.shutdown().has_value()); // nothing left
}

TEST_CASE("a_first_party_bundle_runs_in_process_only_when_asked_and_trusted")
{
	Fixture f;
	const auto mine = f.bundle("dep-b", "1.0.0", "", &f.first_party.secret_key, "mine.bhb");
	const auto theirs = f.bundle("dep-c", "1.0.0", "", &f.keys.secret_key, "theirs.bhb");
	SUBCASE("first-party key, in-process allowed")
	{
		auto host = f.host(true);
		Extensions ext(*host);
		ExtensionOptions o;
		o.allow_in_process = true;
		REQUIRE(ext.load({mine, theirs}, o).has_value());
		CHECK(ext.registry().find("dep-b")->info.placement == Placement::InProcess);
		CHECK(ext.registry().find("dep-c")->info.placement == Placement::Isolated);
		CHECK(who(ext, "dep-b") == "dep-b 1.0.0");
		CHECK(who(ext, "dep-c") == "dep-c 1.0.0");
		// Only the isolated one has a shim.
		CHECK(host->plugins().size() == 1);
		CHECK(ext.plugin("dep-b").error().code == ErrorCode::FailedPrecondition);
		// Same proxies: a custom operation runs its anchor in process.
		REQUIRE(ext.operations().declare("shout", [](ByteView in) { return Result<Bytes>(Bytes(in.begin(), in.end())); }).has_value());
		REQUIRE(ext.operations().attach("shout", Anchor::Define, ext.registry().find("dep-b")->endpoint, "upper.define").has_value());
		auto out = ext.operations().run("shout", bytes("quiet"));
		REQUIRE(out.has_value());
		CHECK(text(out.value()) == "QUIET");
		REQUIRE(ext.unload("dep-b").has_value());
		auto after = ext.registry().find("dep-b");
		CHECK(after == nullptr);
		// In process or not, a load and an unload are audit records.
		std::ifstream in(f.audit_path());
		const std::string log((std::istreambuf_iterator<char>(in)), {});
		CHECK(log.find(R"x("detail":"in process, from mine.bhb (first-party key)")x") != std::string::npos);
		CHECK(log.find(R"("event":"unload","plugin":"dep-b")") != std::string::npos);
	}
	SUBCASE("first-party key, in-process not asked for: isolated (the default)")
	{
		auto host = f.host(true);
		Extensions ext(*host);
		REQUIRE(ext.load({mine}).has_value());
		CHECK(ext.registry().find("dep-b")->info.placement == Placement::Isolated);
		CHECK(host->plugins().size() == 1);
	}
	SUBCASE("asked for, but the host marks no key first-party: isolated")
	{
		auto host = f.host(false);
		Extensions ext(*host);
		ExtensionOptions o;
		o.allow_in_process = true;
		REQUIRE(ext.load({mine}, o).has_value());
		CHECK(ext.registry().find("dep-b")->info.placement == Placement::Isolated);
	}
}

TEST_CASE("custom_operations_run_before_define_and_after_anchors_in_plugin_processes")
{
	Fixture f;
	const auto a = f.bundle("dep-a", "1.0.0");
	const auto b = f.bundle("dep-b", "1.0.0");
	const auto c = f.bundle("dep-c", "1.0.0");
	auto host = f.host();
	Extensions ext(*host);
	REQUIRE(ext.load({a, b, c}).has_value());
	auto &ops = ext.operations();
	auto ep = [&](const char *n) { return ext.registry().find(n)->endpoint; };
	REQUIRE(ops.declare("normalize", [](ByteView in) {
		std::string s(in.begin(), in.end());
		s = "[" + s + "]";
		return Result<Bytes>(Bytes(s.begin(), s.end()));
	}).has_value());
	CHECK(ops.declare("normalize", [](ByteView) { return Result<Bytes>(Bytes{}); }).error().code ==
	      ErrorCode::InvalidArgument);

	// The default alone.
	CHECK(text(ops.run("normalize", bytes(" hi ")).value()) == "[ hi ]");

	REQUIRE(ops.attach("normalize", Anchor::Before, ep("dep-a"), "trim.before").has_value());
	CHECK(text(ops.run("normalize", bytes("  hi  ")).value()) == "[hi]");

	REQUIRE(ops.attach("normalize", Anchor::Define, ep("dep-b"), "upper.define").has_value());
	auto second = ops.attach("normalize", Anchor::Define, ep("dep-c"), "upper.define");
	REQUIRE_FALSE(second.has_value());
	CHECK(second.error().message.find("defined by plugin dep-b") != std::string::npos);

	REQUIRE(ops.attach("normalize", Anchor::After, ep("dep-a"), "suffix.after").has_value());
	REQUIRE(ops.attach("normalize", Anchor::After, ep("dep-c"), "suffix.after").has_value());
	CHECK(text(ops.run("normalize", bytes("  hi  ")).value()) == "HI+dep-a+dep-c");

	auto listed = ops.list();
	REQUIRE(listed.size() == 1);
	CHECK(listed[0].anchors.size() == 4);
	CHECK(listed[0].anchors[1].anchor == Anchor::Define);
	CHECK(listed[0].anchors[1].plugin == "dep-b");

	CHECK(ops.attach("normalize", Anchor::Before, ep("dep-a"), "nope").error().code == ErrorCode::NotFound);
	CHECK(ops.attach("undeclared", Anchor::Before, ep("dep-a"), "trim.before").error().code == ErrorCode::NotFound);

	// Unloading a plugin takes its anchors with it: the default is back.
	REQUIRE(ext.unload("dep-b").has_value());
	CHECK(text(ops.run("normalize", bytes(" hi ")).value()) == "[hi]+dep-a+dep-c");

	// A refusing anchor fails the operation, naming where.
	REQUIRE(ops.declare("guarded", [](ByteView in) { return Result<Bytes>(Bytes(in.begin(), in.end())); }).has_value());
	REQUIRE(ops.attach("guarded", Anchor::Before, ep("dep-a"), "refuse.before").has_value());
	auto refused = ops.run("guarded", bytes("x"));
	REQUIRE_FALSE(refused.has_value());
	CHECK(refused.error().code == ErrorCode::InvalidArgument);
	CHECK(refused.error().message.find("operation guarded: before hook refuse.before of plugin dep-a failed") == 0);

	// A crashed anchor plugin fails the operation; the host carries on.
	auto p = ext.plugin("dep-c");
	REQUIRE(p.has_value());
	p->kill();
	REQUIRE(p->wait_exit(std::chrono::seconds(10)));
	auto crashed = ops.run("normalize", bytes("x"));
	REQUIRE_FALSE(crashed.has_value());
	CHECK(crashed.error().message.find("after hook suffix.after of plugin dep-c failed") != std::string::npos);
}

TEST_CASE("typed_proxies_are_handed_out_only_for_their_category")
{
	Fixture f;
	const auto a = f.bundle("dep-a", "1.0.0");
	auto host = f.host();
	Extensions ext(*host);
	REQUIRE(ext.load({a}).has_value());
	auto s = ext.storage("dep-a");
	REQUIRE_FALSE(s.has_value());
	CHECK(s.error().message == "extension dep-a is not a storage plugin (its categories: operations)");
	CHECK(ext.compression("absent").error().code == ErrorCode::NotFound);
	CHECK(ext.observability().size() == 0);
	// A proxy with no endpoint fails rather than crashing.
	Storage none;
	CHECK(none.get(bytes("k")).error().code == ErrorCode::FailedPrecondition);
}

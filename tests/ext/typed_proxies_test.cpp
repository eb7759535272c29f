// SPDX-License-Identifier: Apache-2.0
// The host's typed proxies over the real example plugins in their shims:
// what a database sees through Extensions. Range answers page through a
// small channel without losing or repeating an entry; nearest says when an
// index type has none; observability fans out and names a dead sink.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <bulkhead/ext/extensions.hpp>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::ext;
using bulkhead::test::bytes;
using bulkhead::test::why;

namespace {

std::string text(const Bytes &b) { return std::string(b.begin(), b.end()); }

// The channel's default 4 KiB cells: a few dozen entries fill an answer.
HostOptions small_cells()
{
	HostOptions o = test::options();
	o.geometry = ipc::Geometry{};
	return o;
}

} // namespace

TEST_CASE("bare_plugins_register_under_the_categories_their_operations_name")
{
	auto host = test::make_host();
	Extensions ext(*host);
	auto loaded = ext.load({test::plugin_file("memory-storage"), test::plugin_file("zstd"),
				test::plugin_file("vector-index"), test::plugin_file("prometheus")});
	REQUIRE_MESSAGE(loaded.has_value(), why(loaded));
	auto list = ext.registry().list();
	REQUIRE(list.size() == 4);
	for (const auto &i : list) {
		CAPTURE(i.name);
		REQUIRE(i.categories.size() == 1);
		CHECK(i.placement == Placement::Isolated);
	}
	CHECK(ext.registry().in_category("storage").size() == 1);
	CHECK(ext.registry().in_category("compression").size() == 1);
	CHECK(ext.registry().in_category("index").size() == 1);
	CHECK(ext.observability().size() == 1);
}

TEST_CASE("storage_through_the_proxy_on_both_backends_pages_a_scan_that_would_not_fit")
{
	auto host = test::make_host(small_cells());
	Extensions ext(*host);
	REQUIRE(ext.load({test::plugin_file("memory-storage"), test::plugin_file("sqlite-storage")}).has_value());
	for (const auto &name : ext.registry().list()) {
		CAPTURE(name.name);
		REQUIRE(ext.registry().set_active_storage(name.name).has_value());
		auto store = ext.registry().active_storage();
		REQUIRE_MESSAGE(store.has_value(), why(store));
		// 600 keys of ~100 bytes: ~60 KB, many times one 4 KiB answer.
		for (int i = 0; i < 600; ++i)
			REQUIRE(store->put(bytes(fmt::format("key-{:04}", i)), Bytes(90, static_cast<std::uint8_t>(i))).has_value());
		auto all = store->scan({});
		REQUIRE_MESSAGE(all.has_value(), why(all));
		REQUIRE(all->entries.size() == 600);
		CHECK_FALSE(all->more);
		for (int i = 0; i < 600; ++i)
			CHECK(text(all->entries[static_cast<std::size_t>(i)].key) == fmt::format("key-{:04}", i));

		auto some = store->scan({bytes("key-0100"), bytes("key-0400"), 250});
		REQUIRE(some.has_value());
		REQUIRE(some->entries.size() == 250);
		CHECK(some->more);
		CHECK(text(some->entries.front().key) == "key-0100");
		CHECK(text(some->entries.back().key) == "key-0349");

		auto tail = store->scan({bytes("key-0590"), std::nullopt, 0});
		REQUIRE(tail.has_value());
		CHECK(tail->entries.size() == 10);
		CHECK_FALSE(tail->more);

		CHECK(store->get(bytes("key-0007")).value() == std::optional<Bytes>(Bytes(90, 7)));
		CHECK(store->remove(bytes("key-0007")).value());
		CHECK_FALSE(store->get(bytes("key-0007")).value().has_value());
		CHECK(store->flush().has_value());
		CHECK(store->compact().has_value());
		auto stats = store->stats();
		REQUIRE(stats.has_value());
		CHECK(stats->entries == 599);
	}
}

TEST_CASE("an_index_pages_ranges_and_only_a_vector_index_answers_nearest")
{
	auto host = test::make_host(small_cells());
	Extensions ext(*host);
	REQUIRE(ext.load({test::plugin_file("vector-index"), test::plugin_file("ordered-index")}).has_value());
	auto vec = ext.index("vector-index");
	auto ordered = ext.index("ordered-index");
	REQUIRE(vec.has_value());
	REQUIRE(ordered.has_value());
	CHECK(vec->supports_nearest());
	CHECK_FALSE(ordered->supports_nearest());

	std::vector<IndexEntry> points;
	for (int i = 0; i < 300; ++i)
		points.push_back({bytes(fmt::format("p{:03}", i)), bytes("row"), {static_cast<float>(i), 0.0f, 1.0f}});
	auto built = vec->build(points);
	REQUIRE_MESSAGE(built.has_value(), why(built));
	CHECK(vec->size().value() == 300);
	auto range = vec->range({});
	REQUIRE_MESSAGE(range.has_value(), why(range));
	CHECK(range->size() == 300);
	auto near = vec->nearest({41.2f, 0.0f, 1.0f}, 3);
	REQUIRE_MESSAGE(near.has_value(), why(near));
	REQUIRE(near->size() == 3);
	CHECK(text((*near)[0].key) == "p041");
	CHECK(text((*near)[1].key) == "p042");
	CHECK(text((*near)[2].key) == "p040");

	REQUIRE(ordered->insert({bytes("k"), bytes("v"), {}}).has_value());
	CHECK(ordered->lookup(bytes("k")).value()->value == bytes("v"));
	auto none = ordered->nearest({1.0f}, 1);
	REQUIRE_FALSE(none.has_value());
	CHECK(none.error().code == ErrorCode::NotFound);
	CHECK(none.error().message.find("index ordered-index does not support nearest") == 0);
}

TEST_CASE("compression_through_the_proxy_round_trips_and_names_bad_input")
{
	auto host = test::make_host();
	Extensions ext(*host);
	REQUIRE(ext.load({test::plugin_file("zstd")}).has_value());
	auto z = ext.compression("zstd");
	REQUIRE(z.has_value());
	CHECK(z->algorithm().value() == "zstd");
	const Bytes data = bytes(std::string(20'000, 'a') + "tail");
	auto packed = z->compress(data);
	REQUIRE(packed.has_value());
	CHECK(packed->size() < data.size() / 10);
	CHECK(z->decompress(packed.value()).value() == data);
	REQUIRE(z->set_level(19).has_value());
	CHECK(z->decompress(z->compress(data).value()).value() == data);
	auto bad_level = z->set_level(1000);
	REQUIRE_FALSE(bad_level.has_value());
	CHECK(bad_level.error().code == ErrorCode::InvalidArgument);
	auto corrupt = z->decompress(bytes("not zstd at all"));
	REQUIRE_FALSE(corrupt.has_value());
	CHECK(corrupt.error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("observability_fans_out_to_every_sink_and_names_the_one_that_died")
{
	auto host = test::make_host();
	Extensions ext(*host);
	// The same plugin twice, as two sinks (a reload-free A/B, say).
	REQUIRE(ext.load({test::plugin_file("prometheus")}).has_value());
	auto second = host->load(test::plugin_file("prometheus"));
	REQUIRE(second.has_value());
	ExtensionInfo info;
	info.name = "prometheus-b";
	info.version = "1.0.0";
	info.categories = {"observability"};
	REQUIRE(ext.registry().add(info, isolated(second.value())).has_value());

	auto obs = ext.observability();
	REQUIRE(obs.size() == 2);
	REQUIRE(obs.counter("rows_read_total", 5, {{"table", "t"}}).has_value());
	REQUIRE(obs.gauge("open_cursors", 2).has_value());
	REQUIRE(obs.histogram("scan_seconds", 0.02).has_value());
	REQUIRE(obs.span({"scan", 1, 2, 0, 100, 200, true, {}}).has_value());
	REQUIRE(obs.log({2, "slow scan", {{"table", "t"}}}).has_value());
	for (auto &[name, exported] : obs.export_text()) {
		CAPTURE(name);
		REQUIRE(exported.has_value());
		CHECK(exported->find("rows_read_total{table=\"t\"} 5\n") != std::string::npos);
		CHECK(exported->find("open_cursors 2\n") != std::string::npos);
	}
	for (auto &h : obs.health())
		CHECK(h.health.has_value());

	second->kill();
	REQUIRE(second->wait_exit(std::chrono::seconds(10)));
	auto r = obs.counter("rows_read_total", 1, {{"table", "t"}});
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().message.find("1 of 2 observability plugins failed observability.counter; prometheus-b") == 0);
	// The live sink still got it.
	auto exports = obs.export_text();
	REQUIRE(exports[0].second.has_value());
	CHECK(exports[0].second->find("rows_read_total{table=\"t\"} 6\n") != std::string::npos);
	CHECK_FALSE(exports[1].second.has_value());
	CHECK_FALSE(obs.health()[1].health.has_value());
	host->unload(second.value());
}

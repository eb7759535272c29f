// SPDX-License-Identifier: Apache-2.0
// The storage plugins (SQLite, in-memory) end to end through real shims,
// each test run against both: point operations, scans in bytewise key order
// with limit and `more`, stats, flush and compact, and the data kept across
// a hot reload by the state hand-off.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <optional>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

const std::string kStores[] = {"sqlite-storage", "memory-storage"};

std::optional<Bytes> get(const Plugin &p, ByteView key)
{
	return decoded(codec::decode_found(ok(p, op::kStorageGet, codec::encode_blob(key))));
}

void put(const Plugin &p, ByteView key, ByteView value)
{
	CHECK(ok(p, op::kStoragePut, codec::encode_key_value(key, value)).empty());
}

bool remove(const Plugin &p, ByteView key)
{
	return decoded(codec::decode_flag(ok(p, op::kStorageDelete, codec::encode_blob(key))));
}

ext::ScanResult scan(const Plugin &p, std::string_view start, std::optional<std::string_view> end,
		     std::uint32_t limit = 0)
{
	ext::KeyRange r{bytes(start), end ? std::optional<Bytes>(bytes(*end)) : std::nullopt,
			limit};
	return decoded(codec::decode_entries(ok(p, op::kStorageScan, codec::encode_range(r))));
}

ext::StorageStats stats(const Plugin &p)
{
	return decoded(codec::decode_stats(ok(p, op::kStorageStats)));
}

// The keys of a scan, as strings.
std::vector<std::string> keys(const ext::ScanResult &r)
{
	std::vector<std::string> out;
	for (const auto &kv : r.entries)
		out.emplace_back(as_string(kv.key));
	return out;
}

using Keys = std::vector<std::string>;

} // namespace

TEST_CASE("storage_puts_gets_overwrites_and_deletes")
{
	for (const std::string &store : kStores) {
		CAPTURE(store);
		auto host = make_host();
		auto p = load(*host, store);
		CHECK_FALSE(get(p, bytes("k")).has_value());
		put(p, bytes("k"), bytes("one"));
		CHECK(get(p, bytes("k")) == bytes("one"));
		put(p, bytes("k"), bytes("two"));
		CHECK(get(p, bytes("k")) == bytes("two"));
		// An empty key and an empty value are values, not absences.
		put(p, {}, {});
		CHECK(get(p, {}) == Bytes{});
		const Bytes binary = {0x00, 0xff, 0x00, 0x7f};
		put(p, binary, binary);
		CHECK(get(p, binary) == binary);
		CHECK(remove(p, bytes("k")));
		CHECK_FALSE(remove(p, bytes("k")));
		CHECK_FALSE(get(p, bytes("k")).has_value());
		CHECK(stats(p).entries == 2);
	}
}

TEST_CASE("storage_scans_ranges_in_bytewise_key_order_with_limit_and_more")
{
	const std::string nul("b\0", 2), low("\0", 1), high("\xff", 1);
	for (const std::string &store : kStores) {
		CAPTURE(store);
		auto host = make_host();
		auto p = load(*host, store);
		for (const std::string &k :
		     {std::string("d"), std::string("a"), high, std::string("c"), nul,
		      std::string("b"), low, std::string("e")})
			put(p, bytes(k), bytes("v:" + k));

		auto all = scan(p, "", std::nullopt);
		CHECK(keys(all) == Keys{low, "a", "b", nul, "c", "d", "e", high});
		CHECK_FALSE(all.more);
		CHECK(all.entries[1].value == bytes("v:a"));

		CHECK(keys(scan(p, "b", "d")) == Keys{"b", nul, "c"});
		CHECK(keys(scan(p, "c", std::nullopt)) == Keys{"c", "d", "e", high});
		CHECK(keys(scan(p, "bb", "zz")) == Keys{"c", "d", "e"});

		auto cut = scan(p, "a", std::nullopt, 2);
		CHECK(keys(cut) == Keys{"a", "b"});
		CHECK(cut.more);
		// A limit the range exactly fills is not cut short.
		auto exact = scan(p, "a", "c", 3);
		CHECK(keys(exact) == Keys{"a", "b", nul});
		CHECK_FALSE(exact.more);
		auto bounded = scan(p, "a", "c", 2);
		CHECK(keys(bounded) == Keys{"a", "b"});
		CHECK(bounded.more);
		// Resuming after the last key seen.
		auto next = scan(p, nul, "c", 2);
		CHECK(keys(next) == Keys{nul});
		CHECK_FALSE(next.more);

		CHECK(scan(p, "d", "b").entries.empty());
		CHECK(scan(p, "f", "g").entries.empty());
		CHECK(scan(p, "\xff\xff", std::nullopt).entries.empty());
	}
}

TEST_CASE("storage_stats_count_entries_and_bytes_and_name_the_backend")
{
	for (const std::string &store : kStores) {
		CAPTURE(store);
		auto host = make_host();
		auto p = load(*host, store);
		auto empty = stats(p);
		CHECK(empty.entries == 0);
		CHECK(empty.bytes == 0);
		put(p, bytes("ab"), bytes("cde"));
		put(p, bytes("f"), bytes(""));
		put(p, bytes("f"), bytes("ghij")); // overwritten: counted once
		auto s = stats(p);
		CHECK(s.entries == 2);
		CHECK(s.bytes == 2 + 3 + 1 + 4);
		if (store == "sqlite-storage") {
			CHECK(s.backend == fmt::format("sqlite {}", sqlite3_libversion()));
			CHECK(s.detail.find("in-memory database") != std::string::npos);
		} else {
			CHECK(s.backend == "memory");
		}
		remove(p, bytes("ab"));
		CHECK(stats(p).bytes == 5);
	}
}

TEST_CASE("storage_flush_and_compact_keep_every_entry")
{
	for (const std::string &store : kStores) {
		CAPTURE(store);
		auto host = make_host();
		auto p = load(*host, store);
		for (int i = 0; i < 300; ++i)
			put(p, bytes(fmt::format("key{:04}", i)),
			    Bytes(500, static_cast<std::uint8_t>(i)));
		for (int i = 0; i < 300; i += 2)
			CHECK(remove(p, bytes(fmt::format("key{:04}", i))));
		CHECK(ok(p, op::kStorageFlush).empty());
		CHECK(ok(p, op::kStorageCompact).empty());
		auto s = stats(p);
		CHECK(s.entries == 150);
		CHECK(s.bytes == 150 * (7 + 500));
		auto all = scan(p, "", std::nullopt);
		REQUIRE(all.entries.size() == 150);
		CHECK(as_string(all.entries.front().key) == "key0001");
		CHECK(all.entries.back().value == Bytes(500, 299 % 256));
	}
}

TEST_CASE("storage_keeps_its_data_across_hot_reloads_by_the_state_hand_off")
{
	for (const std::string &store : kStores) {
		CAPTURE(store);
		auto host = make_host();
		auto p = load(*host, store);
		for (int i = 0; i < 1000; ++i)
			put(p, bytes(fmt::format("row{:05}", i)),
			    bytes(fmt::format("value of row {}", i)));
		put(p, {}, Bytes{0x00, 0x01});
		const auto before = scan(p, "", std::nullopt);
		const auto first = p.info().instance;

		auto reloaded = host->reload(p, plugin_file(store));
		REQUIRE_MESSAGE(reloaded.has_value(), why(reloaded));
		CHECK(p.info().instance != first);
		const auto after = scan(p, "", std::nullopt);
		CHECK(after.entries == before.entries);
		CHECK(get(p, {}) == Bytes{0x00, 0x01});
		CHECK(stats(p).entries == 1001);
		// The restored database is a whole one: it compacts and flushes.
		CHECK(ok(p, op::kStorageCompact).empty());
		CHECK(ok(p, op::kStorageFlush).empty());
		CHECK(scan(p, "", std::nullopt).entries == before.entries);

		// The new version writes on, and hands that over in turn.
		put(p, bytes("written after"), bytes("the first reload"));
		CHECK(remove(p, bytes("row00000")));
		REQUIRE(host->reload(p, plugin_file(store)).has_value());
		CHECK(get(p, bytes("written after")) == bytes("the first reload"));
		CHECK_FALSE(get(p, bytes("row00000")).has_value());
		CHECK(stats(p).entries == 1001);
	}
}

TEST_CASE("storage_starts_empty_after_a_restart_since_nothing_is_durable")
{
	for (const std::string &store : kStores) {
		CAPTURE(store);
		HostOptions o = options();
		o.restart.enabled = true;
		o.restart.initial_backoff = std::chrono::milliseconds(10);
		auto host = make_host(o);
		auto p = load(*host, store);
		put(p, bytes("k"), bytes("v"));
		const auto first = p.info().instance;
		p.kill();
		bool restarted = false;
		for (int i = 0; i < 1000 && !restarted; ++i) {
			restarted = p.info().instance != first && p.alive();
			if (!restarted)
				std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
		REQUIRE(restarted);
		CHECK_FALSE(get(p, bytes("k")).has_value());
	}
}

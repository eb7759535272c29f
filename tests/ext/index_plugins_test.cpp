// SPDX-License-Identifier: Apache-2.0
// The index plugins end to end through real shims: the vector index's exact
// nearest neighbours (order, ties, dimension and value checks) and its
// key operations; an index type without nearest, which does not list it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

ext::IndexEntry entry(std::string_view key, std::vector<float> v, std::string_view value = "")
{
	return {bytes(key),
		bytes(value.empty() ? std::string("row:") + std::string(key) : std::string(value)),
		std::move(v)};
}

void build(const Plugin &p, const std::vector<ext::IndexEntry> &entries)
{
	CHECK(ok(p, op::kIndexBuild, codec::encode_index_entries(entries)).empty());
}

void insert(const Plugin &p, const ext::IndexEntry &e)
{
	CHECK(ok(p, op::kIndexInsert, codec::encode_index_entry(e)).empty());
}

std::vector<ext::Neighbor> nearest(const Plugin &p, const std::vector<float> &q, std::uint32_t k)
{
	return decoded(
		codec::decode_neighbors(ok(p, op::kIndexNearest, codec::encode_nearest(q, k))));
}

std::vector<std::string> keys_of(const std::vector<ext::Neighbor> &ns)
{
	std::vector<std::string> out;
	for (const auto &n : ns)
		out.emplace_back(as_string(n.key));
	return out;
}

std::vector<std::string> keys_of(const std::vector<ext::IndexEntry> &es)
{
	std::vector<std::string> out;
	for (const auto &e : es)
		out.emplace_back(as_string(e.key));
	return out;
}

std::uint64_t size(const Plugin &p)
{
	return static_cast<std::uint64_t>(decoded(codec::decode_number(ok(p, op::kIndexSize))));
}

std::vector<ext::IndexEntry> range(const Plugin &p, std::string_view start,
				   std::optional<std::string_view> end, std::uint32_t limit = 0)
{
	ext::KeyRange r{bytes(start), end ? std::optional<Bytes>(bytes(*end)) : std::nullopt,
			limit};
	return decoded(codec::decode_index_entries(ok(p, op::kIndexRange, codec::encode_range(r))));
}

using Keys = std::vector<std::string>;

} // namespace

TEST_CASE("vector_index_answers_the_k_nearest_nearest_first_and_equal_distances_by_key")
{
	auto host = make_host();
	auto p = load(*host, "vector-index");
	build(p, {entry("d", {3, 4}), entry("c", {0, 1}), entry("b", {1, 0}), entry("a", {0, 0}),
		  entry("e", {-1, -1})});
	auto three = nearest(p, {0, 0}, 3);
	CHECK(keys_of(three) == Keys{"a", "b", "c"});
	CHECK(three[0].distance == 0.0f);
	CHECK(three[1].distance == 1.0f);
	CHECK(three[2].value == bytes("row:c"));

	auto all = nearest(p, {0, 0}, 100);
	CHECK(keys_of(all) == Keys{"a", "b", "c", "e", "d"});
	CHECK(all[3].distance == doctest::Approx(std::sqrt(2.0)));
	CHECK(all[4].distance == 5.0f);

	// From elsewhere the order changes: exact L2, not anything cheaper.
	CHECK(keys_of(nearest(p, {3, 3.5f}, 2)) == Keys{"d", "c"}); // by L1, b ties c
}

TEST_CASE("vector_index_refuses_a_vector_of_another_dimension_naming_both")
{
	auto host = make_host();
	auto p = load(*host, "vector-index");
	insert(p, entry("a", {1, 2}));
	Error e = refused(p, op::kIndexInsert, codec::encode_index_entry(entry("b", {1, 2, 3})));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "the entry has dimension 3, the index has dimension 2"));
	e = refused(p, op::kIndexNearest, codec::encode_nearest({1}, 1));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "the query has dimension 1, the index has dimension 2"));

	// A build with mixed dimensions changes nothing.
	e = refused(p, op::kIndexBuild,
		    codec::encode_index_entries({entry("x", {1}), entry("y", {1, 2})}));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "dimension 2, the index has dimension 1"));
	CHECK(size(p) == 1);
	// A build fixes the dimension afresh.
	build(p, {entry("x", {1, 2, 3})});
	CHECK(keys_of(nearest(p, {0, 0, 0}, 1)) == Keys{"x"});
}

TEST_CASE("vector_index_refuses_nan_infinite_and_missing_vectors")
{
	auto host = make_host();
	auto p = load(*host, "vector-index");
	const float nan = std::numeric_limits<float>::quiet_NaN();
	const float inf = std::numeric_limits<float>::infinity();
	Error e = refused(p, op::kIndexInsert, codec::encode_index_entry(entry("a", {1, nan})));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "component 1 is NaN"));
	e = refused(p, op::kIndexInsert, codec::encode_index_entry(entry("a", {-inf, 0})));
	CHECK(mentions(e, "component 0 is infinite"));
	e = refused(p, op::kIndexInsert, codec::encode_index_entry(entry("a", {})));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "has no vector"));
	CHECK(size(p) == 0);
	insert(p, entry("a", {1, 1}));
	e = refused(p, op::kIndexNearest, codec::encode_nearest({nan, 0}, 1));
	CHECK(e.code == ErrorCode::InvalidArgument);
	// Large finite components: squares past float's range still order
	// right (in float they would all be +inf and tie by key).
	insert(p, entry("y", {3e38f, 0}));
	insert(p, entry("z", {-3e38f, 0}));
	auto ns = nearest(p, {2e38f, 0}, 3);
	CHECK(keys_of(ns) == Keys{"y", "a", "z"});
	CHECK(ns[0].distance == doctest::Approx(1e38));
	CHECK(std::isinf(ns[2].distance)); // 5e38 is past float
}

TEST_CASE("vector_index_with_k_zero_or_no_entries_answers_no_neighbours")
{
	auto host = make_host();
	auto p = load(*host, "vector-index");
	CHECK(nearest(p, {1, 2, 3}, 5).empty());
	insert(p, entry("a", {1, 2}));
	CHECK(nearest(p, {1, 2}, 0).empty());
	CHECK(keys_of(nearest(p, {1, 2}, 1)) == Keys{"a"});
	// Emptied by removal: no neighbours, the dimension still fixed.
	CHECK(decoded(codec::decode_flag(ok(p, op::kIndexDelete, codec::encode_blob(bytes("a"))))));
	CHECK(nearest(p, {1, 2}, 3).empty());
}

TEST_CASE("vector_index_inserts_replaces_removes_looks_up_and_ranges_by_key")
{
	auto host = make_host();
	auto p = load(*host, "vector-index");
	for (std::string_view k : {"m", "c", "x", "a", "q"})
		insert(p, entry(k, {float(k[0]), 0}));
	CHECK(size(p) == 5);
	insert(p, entry("c", {9, 9}, "replaced"));
	CHECK(size(p) == 5);

	auto found = decoded(codec::decode_index_entries(
		ok(p, op::kIndexLookup, codec::encode_blob(bytes("c")))));
	REQUIRE(found.size() == 1);
	CHECK(found[0] == entry("c", {9, 9}, "replaced"));
	CHECK(decoded(codec::decode_index_entries(
			      ok(p, op::kIndexLookup, codec::encode_blob(bytes("zz")))))
		      .empty());

	CHECK(keys_of(range(p, "", std::nullopt)) == Keys{"a", "c", "m", "q", "x"});
	CHECK(keys_of(range(p, "b", "q")) == Keys{"c", "m"});
	CHECK(keys_of(range(p, "c", std::nullopt, 2)) == Keys{"c", "m"});
	CHECK(range(p, "c", std::nullopt)[0].vector == std::vector<float>{9, 9});

	auto gone = [&](std::string_view k) {
		return decoded(
			codec::decode_flag(ok(p, op::kIndexDelete, codec::encode_blob(bytes(k)))));
	};
	CHECK(gone("m"));
	CHECK_FALSE(gone("m"));
	CHECK(size(p) == 4);
	CHECK(keys_of(nearest(p, {float('m'), 0}, 4)) == Keys{"q", "x", "a", "c"});
}

TEST_CASE("an_index_without_nearest_does_not_list_it_and_a_nearest_call_answers_not_found")
{
	auto host = make_host();
	auto p = load(*host, "ordered-index");
	const auto ops = p.info().operations;
	CHECK(std::find(ops.begin(), ops.end(), std::string(op::kIndexNearest)) == ops.end());
	CHECK(std::find(ops.begin(), ops.end(), std::string(op::kIndexRange)) != ops.end());

	insert(p, entry("b", {}));
	insert(p, entry("a", {}));
	CHECK(size(p) == 2);
	CHECK(keys_of(range(p, "", std::nullopt)) == Keys{"a", "b"});

	const Error e = refused(p, op::kIndexNearest, codec::encode_nearest({1, 2}, 1));
	CHECK(e.code == ErrorCode::NotFound);
	CHECK(mentions(e, "index.nearest"));
	CHECK(p.alive());
}

// SPDX-License-Identifier: Apache-2.0
// The dependency graph's rules over plain manifests: topological order,
// cycles named, missing and incompatible dependencies named with versions,
// the dependents an unload would strand, in stop order.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <bulkhead/ext/dependency_graph.hpp>

using namespace bulkhead;
using namespace bulkhead::ext;

namespace {

GraphNode node(std::string name, std::string version, std::vector<std::pair<std::string, std::string>> deps = {})
{
	GraphNode n;
	n.name = std::move(name);
	n.version = broker::Version::parse(version).value();
	for (auto &[d, range] : deps)
		n.dependencies.push_back({d, broker::VersionRange::parse(range).value()});
	return n;
}

std::vector<std::string> names(const std::vector<GraphNode> &nodes, const std::vector<std::size_t> &order)
{
	std::vector<std::string> out;
	for (auto i : order)
		out.push_back(nodes[i].name);
	return out;
}

} // namespace

TEST_CASE("every_plugin_loads_after_what_it_depends_on")
{
	std::vector<GraphNode> nodes = {
		node("app", "1.0.0", {{"codec", "^2.0.0"}, {"store", ">=1.0.0 <2.0.0"}}),
		node("codec", "2.3.1", {{"store", "1.x"}}),
		node("store", "1.4.0"),
		node("lonely", "0.1.0"),
	};
	auto order = load_order(nodes);
	REQUIRE(order.has_value());
	CHECK(names(nodes, order.value()) == std::vector<std::string>{"store", "codec", "app", "lonely"});
}

TEST_CASE("a_cycle_is_an_error_that_names_the_cycle")
{
	std::vector<GraphNode> nodes = {
		node("a", "1.0.0", {{"b", "*"}}),
		node("b", "1.0.0", {{"c", "*"}}),
		node("c", "1.0.0", {{"a", "*"}}),
		node("d", "1.0.0"),
	};
	auto order = load_order(nodes);
	REQUIRE_FALSE(order.has_value());
	CHECK(order.error().code == ErrorCode::InvalidArgument);
	CHECK(order.error().message == "dependency cycle: a 1.0.0 -> b 1.0.0 -> c 1.0.0 -> a 1.0.0");
}

TEST_CASE("a_plugin_depending_on_itself_is_a_cycle")
{
	auto order = load_order({node("self", "1.0.0", {{"self", "*"}})});
	REQUIRE_FALSE(order.has_value());
	CHECK(order.error().message == "dependency cycle: self 1.0.0 -> self 1.0.0");
}

TEST_CASE("a_missing_dependency_names_the_plugin_and_the_range")
{
	auto order = load_order({node("app", "1.0.0", {{"store", "^2.0.0"}})});
	REQUIRE_FALSE(order.has_value());
	CHECK(order.error().code == ErrorCode::NotFound);
	CHECK(order.error().message == "app 1.0.0 needs store ^2.0.0, which is not present");
}

TEST_CASE("an_incompatible_dependency_names_both_versions")
{
	auto order = load_order({node("app", "1.0.0", {{"store", "^2.0.0"}}), node("store", "1.4.0")});
	REQUIRE_FALSE(order.has_value());
	CHECK(order.error().code == ErrorCode::FailedPrecondition);
	CHECK(order.error().message == "app 1.0.0 needs store ^2.0.0, but store 1.4.0 is present");
}

TEST_CASE("a_name_given_twice_is_refused")
{
	auto order = load_order({node("x", "1.0.0"), node("x", "2.0.0")});
	REQUIRE_FALSE(order.has_value());
	CHECK(order.error().message.find("x 1.0.0 and x 2.0.0") != std::string::npos);
}

TEST_CASE("dependents_come_in_the_order_to_stop_them")
{
	std::vector<GraphNode> nodes = {
		node("store", "1.0.0"),
		node("codec", "1.0.0", {{"store", "*"}}),
		node("app", "1.0.0", {{"codec", "*"}}),
		node("other", "1.0.0"),
	};
	CHECK(dependents_of(nodes, "store") == std::vector<std::string>{"app", "codec"});
	CHECK(dependents_of(nodes, "codec") == std::vector<std::string>{"app"});
	CHECK(dependents_of(nodes, "app").empty());
	CHECK(dependents_of(nodes, "other").empty());
}

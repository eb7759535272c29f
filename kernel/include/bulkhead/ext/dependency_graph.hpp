// SPDX-License-Identifier: Apache-2.0
// The plugin dependency graph: manifests name dependencies with semver
// ranges; plugins load in topological order and stop in the reverse.
// Pure functions over plain data, so the rules are tested without
// processes; Extensions applies them to the host.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/broker/manifest.hpp>
#include <bulkhead/broker/semver.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ext {

struct GraphNode {
	std::string name;
	broker::Version version;
	std::vector<broker::ManifestDependency> dependencies;
};

// Indices of `nodes` in an order where each comes after everything it
// depends on (ties: the order given). Errors, each naming what it found:
// InvalidArgument for a cycle ("dependency cycle: a 1.0.0 -> b 1.0.0 ->
// a 1.0.0") or a name given twice; NotFound for a missing dependency
// ("a 1.0.0 needs b ^2.0.0, which is not present"); FailedPrecondition for
// an incompatible one ("a 1.0.0 needs b ^2.0.0, but b 1.4.0 is present").
Result<std::vector<std::size_t>> load_order(const std::vector<GraphNode> &nodes);

// Everything that depends on `name`, directly or through others, in the
// order to stop them in (dependents before what they depend on).
std::vector<std::string> dependents_of(const std::vector<GraphNode> &nodes, std::string_view name);

} // namespace bulkhead::ext

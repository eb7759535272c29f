// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/dependency_graph.hpp>

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace bulkhead::ext {

namespace {

std::string label(const GraphNode &n)
{
	return n.name + " " + n.version.to_string();
}

using Index = std::map<std::string_view, std::size_t>;

// Depth-first, colouring nodes; the stack names the cycle when one closes.
struct Sorter {
	const std::vector<GraphNode> &nodes;
	const Index &index;
	std::vector<std::uint8_t> state; // 0 new, 1 on the stack, 2 done
	std::vector<std::size_t> stack;
	std::vector<std::size_t> order;

	Result<void> visit(std::size_t i)
	{
		if (state[i] == 2)
			return {};
		if (state[i] == 1) {
			auto from = std::find(stack.begin(), stack.end(), i);
			std::string cycle;
			for (auto it = from; it != stack.end(); ++it)
				cycle += label(nodes[*it]) + " -> ";
			cycle += label(nodes[i]);
			return make_error(ErrorCode::InvalidArgument, "dependency cycle: " + cycle);
		}
		state[i] = 1;
		stack.push_back(i);
		for (const auto &d : nodes[i].dependencies)
			TRY(visit(index.at(d.name)));
		stack.pop_back();
		state[i] = 2;
		order.push_back(i);
		return {};
	}
};

} // namespace

Result<std::vector<std::size_t>> load_order(const std::vector<GraphNode> &nodes)
{
	Index index;
	for (std::size_t i = 0; i < nodes.size(); ++i)
		if (!index.emplace(nodes[i].name, i).second)
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("plugin {} is given twice: {} and {}", nodes[i].name,
						      label(nodes[index[nodes[i].name]]), label(nodes[i])));
	// Missing and incompatible first: a cycle through a missing node is
	// reported as what is missing.
	for (const auto &n : nodes)
		for (const auto &d : n.dependencies) {
			auto it = index.find(d.name);
			if (it == index.end())
				return make_error(ErrorCode::NotFound,
						  fmt::format("{} needs {} {}, which is not present", label(n), d.name,
							      d.range.text()));
			const auto &found = nodes[it->second];
			if (!d.range.contains(found.version))
				return make_error(ErrorCode::FailedPrecondition,
						  fmt::format("{} needs {} {}, but {} is present", label(n), d.name,
							      d.range.text(), label(found)));
		}
	Sorter s{nodes, index, std::vector<std::uint8_t>(nodes.size(), 0), {}, {}};
	for (std::size_t i = 0; i < nodes.size(); ++i)
		TRY(s.visit(i));
	return s.order;
}

std::vector<std::string> dependents_of(const std::vector<GraphNode> &nodes, std::string_view name)
{
	// The set by a walk over reverse edges, then ordered by reverse load
	// order (a graph that does not sort keeps the order given).
	std::vector<bool> in(nodes.size(), false);
	std::vector<std::string_view> frontier{name};
	while (!frontier.empty()) {
		const auto target = frontier.back();
		frontier.pop_back();
		for (std::size_t i = 0; i < nodes.size(); ++i) {
			if (in[i])
				continue;
			for (const auto &d : nodes[i].dependencies)
				if (d.name == target) {
					in[i] = true;
					frontier.push_back(nodes[i].name);
					break;
				}
		}
	}
	std::vector<std::string> out;
	auto order = load_order(nodes);
	if (order.has_value()) {
		auto o = order.value();
		for (auto it = o.rbegin(); it != o.rend(); ++it)
			if (in[*it])
				out.push_back(nodes[*it].name);
	} else {
		for (std::size_t i = 0; i < nodes.size(); ++i)
			if (in[i])
				out.push_back(nodes[i].name);
	}
	return out;
}

} // namespace bulkhead::ext

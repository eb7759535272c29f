// SPDX-License-Identifier: Apache-2.0
// SandboxReport and SandboxPolicy helpers.
#include <bulkhead/sandbox/policy.hpp>
#include <bulkhead/sandbox/report.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace bulkhead::sandbox {

std::string_view to_string(LayerState state)
{
	switch (state) {
	case LayerState::Enforced: return "enforced";
	case LayerState::Degraded: return "degraded";
	case LayerState::Off: return "off";
	}
	return "unknown";
}

std::string_view to_string(Capability capability)
{
	switch (capability) {
	case Capability::Network: return "network";
	case Capability::ReadPath: return "read_path";
	}
	return "unknown";
}

void SandboxReport::add(std::string name, LayerState state, std::string detail)
{
	layers.push_back({std::move(name), state, std::move(detail)});
}

const SandboxLayer *SandboxReport::find(std::string_view name) const
{
	for (const auto &l : layers)
		if (l.name == name)
			return &l;
	return nullptr;
}

bool SandboxReport::fully_enforced() const
{
	return !layers.empty() && std::all_of(layers.begin(), layers.end(), [](const auto &l) {
		return l.state == LayerState::Enforced;
	});
}

std::string SandboxReport::to_string() const
{
	std::size_t width = 0;
	for (const auto &l : layers)
		width = std::max(width, l.name.size());
	std::string out;
	for (const auto &l : layers)
		out += fmt::format("{:<{}}  {:<8}  {}\n", l.name, width, sandbox::to_string(l.state),
				   l.detail);
	for (const auto &c : cgroups)
		out += fmt::format("{:<{}}  {}\n", "cgroup", width, c);
	return out;
}

Result<void> validate(const SandboxPolicy &policy)
{
	if (policy.memory_limit < (16ull << 20) || policy.memory_limit > kMaxMemoryLimit)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("sandbox memory limit {} bytes is outside [16 MiB, 2 GiB]",
					      policy.memory_limit));
	if (policy.max_tasks < 4)
		return make_error(ErrorCode::InvalidArgument,
				  "sandbox max_tasks must be at least 4 (the shim needs 3 processes "
				  "and a thread)");
	if (policy.max_open_files < 16)
		return make_error(ErrorCode::InvalidArgument,
				  "sandbox max_open_files must be at least 16");
	if (policy.cgroup_parent.empty() || policy.cgroup_parent.find('/') != std::string::npos ||
	    policy.cgroup_parent.starts_with('.'))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("sandbox cgroup parent '{}' must be one plain name",
					      policy.cgroup_parent));
	for (const auto &g : policy.grantable)
		if (g.kind == Capability::ReadPath && !g.path.starts_with('/'))
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("grantable read_path '{}' is not absolute", g.path));
	return {};
}

Result<void> check_grants(const SandboxPolicy &policy,
			  const std::vector<CapabilityGrant> &requested)
{
	for (const auto &r : requested) {
		bool allowed = false;
		for (const auto &g : policy.grantable) {
			if (g.kind != r.kind)
				continue;
			if (r.kind != Capability::ReadPath) {
				allowed = true;
				break;
			}
			const bool beneath = r.path == g.path ||
					     (r.path.starts_with(g.path) &&
					      (g.path.ends_with('/') || r.path[g.path.size()] == '/'));
			if (beneath && r.path.find("/..") == std::string::npos) {
				allowed = true;
				break;
			}
		}
		if (!allowed)
			return make_error(ErrorCode::PermissionDenied,
					  fmt::format("the plugin requests capability {}{}{}, which the "
						      "host's sandbox policy does not grant",
						      to_string(r.kind), r.path.empty() ? "" : " ",
						      r.path));
	}
	return {};
}

} // namespace bulkhead::sandbox

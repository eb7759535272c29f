// SPDX-License-Identifier: Apache-2.0
// SandboxReport: the state of each sandbox layer of one shim, as the shim
// applied it and the broker set it up: enforced, degraded or off, and why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulkhead::sandbox {

enum class LayerState : std::uint8_t {
	Enforced = 0, // in place as designed
	Degraded = 1, // a weaker fallback is in place; the detail says which
	Off = 2,      // not in place; the detail says why
};

std::string_view to_string(LayerState state);

struct SandboxLayer {
	std::string name;   // "seccomp", "user-namespace", "memory", ...
	LayerState state = LayerState::Off;
	std::string detail; // what is enforced, or why not
};

struct SandboxReport {
	std::vector<SandboxLayer> layers;
	// Cgroup directories created for this shim (removed when it ends).
	std::vector<std::string> cgroups;

	void add(std::string name, LayerState state, std::string detail);
	const SandboxLayer *find(std::string_view name) const;
	// True when every layer is Enforced.
	bool fully_enforced() const;
	// One aligned line per layer: "seccomp   enforced  allowlist of ...".
	std::string to_string() const;
};

} // namespace bulkhead::sandbox

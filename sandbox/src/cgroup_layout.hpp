// SPDX-License-Identifier: Apache-2.0
// Internal: where this machine mounts each cgroup hierarchy.
#pragma once

#include <string>

namespace bulkhead::sandbox::detail {

struct CgroupLayout {
	std::string unified;            // a cgroup2 mount, or empty
	bool unified_controllers = false; // it offers memory, pids and cpu
	std::string memory, pids, cpu;  // v1 mounts of those controllers
};

const CgroupLayout &cgroup_layout();
std::string read_text(const std::string &path);

} // namespace bulkhead::sandbox::detail

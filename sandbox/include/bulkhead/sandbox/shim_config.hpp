// SPDX-License-Identifier: Apache-2.0
// ShimSandboxConfig: what the broker tells a shim to apply, carried on the
// shim's command line. Both sides include this header; the shim applies it
// (sandbox/src/enter.cpp) before any plugin code runs.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include <bulkhead/result.hpp>

namespace bulkhead::sandbox {

struct ShimSandboxConfig {
	bool enabled = false;
	uid_t uid = 0;                   // unprivileged host uid the shim becomes
	gid_t gid = 0;
	std::uint64_t address_space = 0; // RLIMIT_AS; 0 = none (cgroups cap memory)
	std::uint32_t max_tasks = 64;    // RLIMIT_NPROC (per uid: one uid per shim)
	std::uint32_t max_open_files = 64;
	std::uint64_t max_file_size = 16ull << 20;
	bool network = false;            // granted: keep the host's network
	std::vector<std::string> read_paths; // granted read-only host paths
	// Descriptors of cgroup.procs files the shim joins first, then closes.
	std::vector<int> cgroup_fds;

	// "--sandbox", "uid=...", ... appended to a shim's argv.
	void append_to(std::vector<std::string> &argv) const;
	// Consumes argv[i] (and what follows) when it is a sandbox flag.
	// Returns false when argv[i] is not one; an error when it is malformed.
	Result<bool> parse(int argc, char **argv, int &i);
};

inline constexpr const char *kSandboxFlag = "--sandbox";

} // namespace bulkhead::sandbox

// SPDX-License-Identifier: Apache-2.0
// SandboxPolicy: what the host allows every shim, and the capabilities a
// plugin may ask for on top. Plain data, read by the broker before it spawns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/result.hpp>

namespace bulkhead::sandbox {

// Whether shims are confined at all. Off exists for debugging a plugin
// under a debugger; every layer then reports Off.
enum class SandboxMode : std::uint8_t { Enforced, Off };

// An extra right a plugin requests (from its manifest). Granted only when
// the host's policy lists a matching one.
enum class Capability : std::uint8_t {
	Network,  // keep the host's network namespace; sockets allowed
	ReadPath, // read (not write) one host path and what is beneath it
};

std::string_view to_string(Capability capability);

struct CapabilityGrant {
	Capability kind = Capability::Network;
	std::string path; // ReadPath: an absolute path; empty otherwise

	bool operator==(const CapabilityGrant &) const = default;
};

inline constexpr std::uint64_t kDefaultMemoryLimit = 256ull << 20;
inline constexpr std::uint64_t kMaxMemoryLimit = 2ull << 30;

struct SandboxPolicy {
	SandboxMode mode = SandboxMode::Enforced;
	// Per plugin: all its threads and processes together.
	std::uint64_t memory_limit = kDefaultMemoryLimit; // at most kMaxMemoryLimit
	std::uint32_t max_tasks = 64;        // threads + processes (pids.max)
	std::uint32_t cpu_percent = 100;     // of one CPU (cfs quota); 0 = no cap
	std::uint32_t max_open_files = 64;   // RLIMIT_NOFILE
	std::uint64_t max_file_size = 16ull << 20; // RLIMIT_FSIZE
	// Capabilities plugins may be granted; anything else is refused.
	std::vector<CapabilityGrant> grantable;
	// false: no cgroups at all, as on a machine without writable ones
	// (the last-resort path: rlimits and RSS polling, reported degraded).
	bool cgroups = true;
	// Name of the bulkhead-owned parent cgroup in each hierarchy.
	std::string cgroup_parent = "bulkhead";
};

// Checks limits and grants: InvalidArgument naming the bad field.
Result<void> validate(const SandboxPolicy &policy);

// Whether `policy` allows `requested`: PermissionDenied naming the first
// capability it does not allow. A ReadPath grant covers paths beneath it.
Result<void> check_grants(const SandboxPolicy &policy,
			  const std::vector<CapabilityGrant> &requested);

} // namespace bulkhead::sandbox

// SPDX-License-Identifier: Apache-2.0
// CgroupSet: the single owner of one shim's cgroups, in every hierarchy this
// machine offers: cgroup v2 where it has controllers, else the v1 memory,
// pids and cpu controllers, plus a controller-less v2 group for cgroup.kill.
// Broker side. Destroying the set kills what is left in it and removes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/result.hpp>
#include <bulkhead/sandbox/report.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::sandbox {

struct CgroupLimits {
	std::uint64_t memory = 0;     // bytes
	std::uint32_t tasks = 0;      // threads + processes
	std::uint32_t cpu_percent = 0; // of one CPU; 0 = no cap
};

class CgroupSet {
public:
	// Creates `<hierarchy>/<parent>/<unique name>` wherever it can and sets
	// the limits; records in `report` what is enforced and what is not.
	// Never fails: with no writable cgroup the set is empty and the report
	// says the memory cap is degraded to rlimits.
	static CgroupSet create(const std::string &parent, const CgroupLimits &limits,
				SandboxReport &report);
	// What the report says when no cgroup is used at all.
	static void report_without(std::uint64_t memory, std::uint32_t tasks, std::string_view why,
				   SandboxReport &report);
	CgroupSet() = default;
	CgroupSet(CgroupSet &&) noexcept = default;
	CgroupSet &operator=(CgroupSet &&other) noexcept;
	~CgroupSet();

	// cgroup.procs of every group, open for writing: the shim writes "0"
	// to each before anything else, so it joins them itself.
	std::vector<UniqueFd> open_procs() const;
	// Readable (an eventfd count) when the memory cgroup hits an OOM; -1
	// when there is no such notification (then oom_killed() after exit).
	int oom_event_fd() const { return oom_event_.get(); }
	// A memory cgroup caps this shim.
	bool caps_memory() const { return caps_memory_; }
	// The kernel OOM-killed a task of this group (counters, not guesses).
	bool oom_killed() const;
	// Kills every task: cgroup.kill where there is one, else SIGKILL per pid.
	void kill() const;
	// Kills, waits for the groups to empty (bounded), removes them.
	// Idempotent; the destructor calls it.
	void remove();
	const std::vector<std::string> &paths() const { return paths_; }

private:
	std::vector<std::string> paths_; // every directory created, for removal
	std::string unified_;            // v2 group (cgroup.kill, cgroup.events)
	bool unified_controllers_ = false;
	std::string memory_v1_;
	UniqueFd oom_event_, oom_control_;
	bool caps_memory_ = false;
};

// Removes cgroups under `parent` whose host process is gone (a host that
// crashed), killing anything still in them. Called when a Host starts.
void remove_stale_cgroups(const std::string &parent);

} // namespace bulkhead::sandbox

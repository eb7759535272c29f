// SPDX-License-Identifier: Apache-2.0
// Per-shim cgroups: creation with limits, OOM notification, kill, removal,
// and the removal of leftovers from hosts that crashed.
#include <bulkhead/sandbox/cgroup.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <sstream>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/log.hpp>

#include "cgroup_layout.hpp"

namespace bulkhead::sandbox {

namespace {

using detail::cgroup_layout;
using detail::read_text;

constexpr auto kEmptyWait = std::chrono::seconds(2);

bool write_text(const std::string &path, std::string_view text)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	return fd.valid() && ::write(fd.get(), text.data(), text.size()) ==
				     static_cast<ssize_t>(text.size());
}

// Field 22 of /proc/<pid>/stat: tells a live host from a reused pid.
std::string start_time(pid_t pid)
{
	std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
	auto close = stat.rfind(')');
	if (close == std::string::npos)
		return "";
	std::istringstream s(stat.substr(close + 2));
	std::string field;
	for (int i = 3; i <= 22 && s >> field; ++i) {
	}
	return field;
}

// "<host pid>-<host start time>-<sequence>": unique per shim, and says
// which host owns it.
std::string unique_name()
{
	static std::atomic<std::uint64_t> sequence{0};
	static const std::string self = fmt::format("{}-{}", ::getpid(), start_time(::getpid()));
	return fmt::format("{}-{}", self, ++sequence);
}

std::string ensure_parent(const std::string &hierarchy, const std::string &parent)
{
	const std::string dir = hierarchy + "/" + parent;
	if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
		return "";
	return dir;
}

std::uint64_t counter(const std::string &path, std::string_view key)
{
	std::istringstream s(read_text(path));
	std::string k;
	std::uint64_t v = 0;
	while (s >> k >> v)
		if (k == key)
			return v;
	return 0;
}

bool empty(const std::string &dir)
{
	return read_text(dir + "/cgroup.procs").empty();
}

void kill_listed(const std::string &dir)
{
	std::istringstream s(read_text(dir + "/cgroup.procs"));
	pid_t pid;
	while (s >> pid)
		::kill(pid, SIGKILL);
}

// Kills what is left in dir and removes it, by `until`. An emptied
// cgroup.procs does not mean rmdir succeeds at once: a killed task leaves
// the cgroup only when its exit completes, so EBUSY is retried.
bool drain_and_remove(const std::string &dir, std::chrono::steady_clock::time_point until)
{
	while (!empty(dir) && std::chrono::steady_clock::now() < until) {
		kill_listed(dir);
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	while (::rmdir(dir.c_str()) != 0) {
		if (errno != EBUSY || std::chrono::steady_clock::now() >= until) {
			log::warning("sandbox: cgroup {} could not be removed: {}", dir,
				     strerrordesc_np(errno));
			return false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return true;
}

} // namespace

CgroupSet CgroupSet::create(const std::string &parent, const CgroupLimits &limits,
			    SandboxReport &report)
{
	const auto &l = cgroup_layout();
	const std::string name = unique_name();
	CgroupSet set;
	auto make = [&](const std::string &hierarchy) -> std::string {
		if (hierarchy.empty())
			return "";
		const std::string p = ensure_parent(hierarchy, parent);
		if (p.empty())
			return "";
		const std::string dir = p + "/" + name;
		if (::mkdir(dir.c_str(), 0755) != 0)
			return "";
		set.paths_.push_back(dir);
		return dir;
	};
	const std::string mib = fmt::format("{} MiB", limits.memory >> 20);
	const std::string quota = fmt::format("{} {}", limits.cpu_percent * 1000, 100000);
	bool memory = false, tasks = false, cpu = limits.cpu_percent == 0;
	std::string memory_how, tasks_how, cpu_how = "no CPU cap configured";

	if (l.unified_controllers) {
		// Pure cgroup v2: one group carries every limit.
		write_text(l.unified + "/cgroup.subtree_control", "+memory +pids +cpu");
		const std::string p = ensure_parent(l.unified, parent);
		if (!p.empty())
			write_text(p + "/cgroup.subtree_control", "+memory +pids +cpu");
		set.unified_ = make(l.unified);
		set.unified_controllers_ = !set.unified_.empty();
		if (set.unified_controllers_) {
			const std::string &g = set.unified_;
			memory = write_text(g + "/memory.max", std::to_string(limits.memory));
			write_text(g + "/memory.swap.max", "0");
			write_text(g + "/memory.oom.group", "1");
			memory_how = fmt::format("cgroup v2 memory.max {}, memory.oom.group", mib);
			tasks = write_text(g + "/pids.max", std::to_string(limits.tasks));
			tasks_how = fmt::format("cgroup v2 pids.max {}", limits.tasks);
			if (limits.cpu_percent) {
				cpu = write_text(g + "/cpu.max", quota);
				cpu_how = fmt::format("cgroup v2 cpu.max {}% of a CPU", limits.cpu_percent);
			}
		}
	} else {
		// Hybrid or v1: v1 controllers carry the limits, a v2 group
		// without controllers gives cgroup.kill and cgroup.events.
		set.unified_ = make(l.unified);
		set.memory_v1_ = make(l.memory);
		if (!set.memory_v1_.empty()) {
			const std::string &g = set.memory_v1_;
			memory = write_text(g + "/memory.limit_in_bytes", std::to_string(limits.memory));
			write_text(g + "/memory.memsw.limit_in_bytes", std::to_string(limits.memory));
			memory_how = fmt::format("cgroup v1 memory.limit_in_bytes {}; the broker kills "
						 "the whole plugin on the OOM event",
						 mib);
			set.oom_control_ = UniqueFd(::open((g + "/memory.oom_control").c_str(),
							   O_RDONLY | O_CLOEXEC));
			set.oom_event_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
			if (set.oom_control_.valid() && set.oom_event_.valid())
				write_text(g + "/cgroup.event_control",
					   fmt::format("{} {}", set.oom_event_.get(),
						       set.oom_control_.get()));
		}
		if (const std::string g = make(l.pids); !g.empty()) {
			tasks = write_text(g + "/pids.max", std::to_string(limits.tasks));
			tasks_how = fmt::format("cgroup v1 pids.max {}", limits.tasks);
		}
		if (limits.cpu_percent) {
			if (const std::string g = make(l.cpu); !g.empty()) {
				cpu = write_text(g + "/cpu.cfs_period_us", "100000") &&
				      write_text(g + "/cpu.cfs_quota_us",
						 std::to_string(limits.cpu_percent * 1000));
				cpu_how = fmt::format("cgroup v1 cpu.cfs_quota_us: {}% of a CPU",
						      limits.cpu_percent);
			}
		}
	}
	set.caps_memory_ = memory;
	for (const auto &p : set.paths_)
		report.cgroups.push_back(p);

	if (memory)
		report.add("memory", LayerState::Enforced, memory_how);
	else
		report.add("memory", LayerState::Degraded,
			   fmt::format("no writable memory cgroup: resident memory polled every 10 "
				       "ms against {} and RLIMIT_AS (kernel memory escapes both)",
				       mib));
	if (tasks)
		report.add("tasks", LayerState::Enforced, tasks_how);
	else
		report.add("tasks", LayerState::Degraded,
			   fmt::format("no pids cgroup: RLIMIT_NPROC {} on the shim's own uid",
				       limits.tasks));
	if (cpu)
		report.add("cpu", limits.cpu_percent ? LayerState::Enforced : LayerState::Off,
			   cpu_how);
	else
		report.add("cpu", LayerState::Off, "no writable cpu cgroup");
	if (!set.unified_.empty())
		report.add("kill", LayerState::Enforced,
			   "cgroup.kill: every process of the plugin at once");
	else
		report.add("kill", LayerState::Degraded,
			   "no cgroup v2: SIGKILL to the shim, whose pid namespace ends with it");
	return set;
}

void CgroupSet::report_without(std::uint64_t memory, std::uint32_t tasks, std::string_view why,
			       SandboxReport &report)
{
	report.add("memory", LayerState::Degraded,
		   fmt::format("{}: resident memory polled every 10 ms against {} MiB, and "
			       "RLIMIT_AS (kernel memory escapes both)",
			       why, memory >> 20));
	report.add("tasks", LayerState::Degraded,
		   fmt::format("{}: RLIMIT_NPROC {} on the shim's own uid", why, tasks));
	report.add("cpu", LayerState::Off, std::string(why));
	report.add("kill", LayerState::Degraded,
		   fmt::format("{}: SIGKILL to the shim, whose pid namespace ends with it", why));
}

CgroupSet &CgroupSet::operator=(CgroupSet &&other) noexcept
{
	if (this != &other) {
		remove();
		paths_ = std::move(other.paths_);
		unified_ = std::move(other.unified_);
		unified_controllers_ = other.unified_controllers_;
		memory_v1_ = std::move(other.memory_v1_);
		oom_event_ = std::move(other.oom_event_);
		oom_control_ = std::move(other.oom_control_);
		caps_memory_ = other.caps_memory_;
		other.paths_.clear();
	}
	return *this;
}

CgroupSet::~CgroupSet() { remove(); }

std::vector<UniqueFd> CgroupSet::open_procs() const
{
	std::vector<UniqueFd> out;
	for (const auto &p : paths_)
		out.emplace_back(::open((p + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
	return out;
}

bool CgroupSet::oom_killed() const
{
	if (unified_controllers_)
		return counter(unified_ + "/memory.events", "oom_kill") > 0 ||
		       counter(unified_ + "/memory.events", "oom_group_kill") > 0;
	if (!memory_v1_.empty())
		return counter(memory_v1_ + "/memory.oom_control", "oom_kill") > 0;
	return false;
}

void CgroupSet::kill() const
{
	if (!unified_.empty() && write_text(unified_ + "/cgroup.kill", "1"))
		return;
	for (const auto &p : paths_)
		kill_listed(p);
}

void CgroupSet::remove()
{
	if (paths_.empty())
		return;
	kill();
	const auto until = std::chrono::steady_clock::now() + kEmptyWait;
	for (const auto &p : paths_)
		drain_and_remove(p, until);
	paths_.clear();
	oom_event_.reset();
	oom_control_.reset();
}

void remove_stale_cgroups(const std::string &parent)
{
	const auto &l = cgroup_layout();
	for (const std::string &h : {l.unified, l.memory, l.pids, l.cpu}) {
		if (h.empty())
			continue;
		const std::string dir = h + "/" + parent;
		DIR *d = ::opendir(dir.c_str());
		if (!d)
			continue;
		std::vector<std::string> stale;
		while (const dirent *e = ::readdir(d)) {
			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			const std::string name = e->d_name;
			pid_t pid = 0;
			char start[32] = {};
			if (std::sscanf(name.c_str(), "%d-%31[0-9]-", &pid, start) != 2)
				continue;
			if (pid > 0 && start_time(pid) == start)
				continue; // its host is alive
			stale.push_back(dir + "/" + name);
		}
		::closedir(d);
		for (const auto &s : stale) {
			write_text(s + "/cgroup.kill", "1");
			if (drain_and_remove(s, std::chrono::steady_clock::now() + kEmptyWait))
				log::info("sandbox: removed stale cgroup {}", s);
		}
	}
}

} // namespace bulkhead::sandbox

// SPDX-License-Identifier: Apache-2.0
// An instance's sandbox on the broker's side: its cgroups and uid before the
// spawn, the shim's report and seccomp listener, the OOM and violation
// watchers, and the verdict a sandboxed death becomes.
#include <bulkhead/broker/instance.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/log.hpp>
#include <bulkhead/sandbox/confine.hpp>
#include <bulkhead/sandbox/shim_config.hpp>

#include "instance_watchers.hpp"

namespace bulkhead::broker {

namespace asio = boost::asio;
namespace sp = ipc::shim_protocol;

namespace {

// Host uids of shims: one per instance, far above any account's, so a
// plugin shares its uid with no other process (ptrace, signals, files,
// RLIMIT_NPROC). The host pid spreads concurrent hosts apart.
constexpr uid_t kUidBase = 0x50000000;

uid_t next_uid()
{
	static std::atomic<std::uint32_t> sequence{0};
	const std::uint32_t host = static_cast<std::uint32_t>(::getpid()) & 0x3fff;
	return kUidBase + (host << 14) + (++sequence & 0x3fff);
}

// What follows `key` ("VmRSS:") on its line of /proc/<pid>/status; empty
// when the process or the line is not there.
std::string proc_status(pid_t pid, std::string_view key)
{
	std::ifstream status(fmt::format("/proc/{}/status", pid));
	std::string line;
	while (std::getline(status, line))
		if (line.starts_with(key))
			return line.substr(key.size());
	return std::string();
}

// The child of the spawned shim `pid` that is pid 2 of its pid namespace
// (the other is pid 1), with a pidfd. The pidfd is taken before the check
// that it is still that child: a pid read from /proc could have been
// reused by then, a pidfd cannot change process.
std::optional<std::pair<pid_t, UniqueFd>> sandboxed_child(pid_t pid)
{
	auto last_field = [](const std::string &s) {
		const auto at = s.find_last_of(" \t");
		return at == std::string::npos ? s : s.substr(at + 1);
	};
	std::ifstream children(fmt::format("/proc/{}/task/{}/children", pid, pid));
	pid_t child;
	while (children >> child) {
		if (last_field(proc_status(child, "NSpid:")) != "2")
			continue;
		UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
		if (fd.valid() && last_field(proc_status(child, "PPid:")) == std::to_string(pid))
			return std::make_pair(child, std::move(fd));
	}
	return std::nullopt;
}

// The shim's seccomp program, compiled once per policy (the network grant
// is its only variable) for the life of the process: libseccomp takes
// about a millisecond to build one, which every sandboxed start would pay.
Result<Bytes> seccomp_program(const sandbox::ShimSandboxConfig &config)
{
	static std::mutex mutex;
	static std::optional<Bytes> compiled[2];
	std::lock_guard lock(mutex);
	std::optional<Bytes> &slot = compiled[config.network ? 1 : 0];
	if (!slot)
		slot = TRY(sandbox::compile_seccomp(config, sp::kControlFd));
	return *slot;
}

} // namespace

Result<void> Instance::prepare_sandbox(std::vector<std::pair<int, int>> &fds,
				       std::vector<std::string> &argv, std::vector<UniqueFd> &keep,
				       std::uint64_t guard_bytes)
{
	const sandbox::SandboxPolicy &policy = options_.sandbox;
	if (policy.mode == sandbox::SandboxMode::Off) {
		report_.add("sandbox", sandbox::LayerState::Off,
			    "disabled by HostOptions::sandbox.mode");
		return {};
	}
	TRY(sandbox::check_grants(policy, options_.capabilities));
	sandbox::ShimSandboxConfig config;
	config.enabled = true;
	config.uid = next_uid();
	config.gid = config.uid;
	config.max_tasks = policy.max_tasks;
	config.max_open_files = policy.max_open_files;
	config.max_file_size = policy.max_file_size;
	for (const auto &c : options_.capabilities) {
		if (c.kind == sandbox::Capability::Network)
			config.network = true;
		else
			config.read_paths.push_back(c.path);
	}
	if (policy.cgroups)
		cgroups_ = sandbox::CgroupSet::create(
			policy.cgroup_parent,
			{policy.memory_limit, policy.max_tasks, policy.cpu_percent}, report_);
	else
		sandbox::CgroupSet::report_without(policy.memory_limit, policy.max_tasks,
						   "cgroups disabled by HostOptions::sandbox.cgroups",
						   report_);
	// No memory cgroup: the broker polls resident memory and kills at the
	// limit; RLIMIT_AS, with room for stacks and libraries, stops what
	// the poll would see too late.
	if (!cgroups_.caps_memory())
		config.address_space = 2 * policy.memory_limit + (256ull << 20) + guard_bytes;
	int number = sp::kFirstFreeFd;
	for (auto &fd : cgroups_.open_procs()) {
		if (!fd.valid())
			return Unexpected(errno_error("opening cgroup.procs", errno));
		fds.emplace_back(fd.get(), number);
		config.cgroup_fds.push_back(number++);
		keep.push_back(std::move(fd));
	}
	const Bytes program = TRY(seccomp_program(config));
	auto sealed = TRY(SealedPayload::seal(program, "seccomp program"));
	UniqueFd program_fd = TRY(sealed.read_only());
	fds.emplace_back(program_fd.get(), sp::kSeccompFd);
	keep.push_back(std::move(program_fd));
	config.append_to(argv);
	return {};
}

void Instance::take_sandbox_report(const bulkhead::control::Sandboxed &message, UniqueFd listener)
{
	std::lock_guard lock(sandbox_mutex_);
	if (message.layers())
		for (const auto *l : *message.layers()) {
			const auto state = l->state() <= 2 ? static_cast<sandbox::LayerState>(l->state())
							   : sandbox::LayerState::Off;
			report_.add(l->name() ? l->name()->str() : "?", state,
				    l->detail() ? l->detail()->str() : "");
		}
	if (!listener.valid()) {
		report_.add("seccomp-listener", sandbox::LayerState::Degraded,
			    "the shim passed no listener: violations block until a deadline");
		return;
	}
	seccomp_listener_ = std::move(listener);
	// The plugin process is a child of the spawned one, beside pid 1, and
	// exists once the shim has sent this message. Its pidfd is what the
	// broker kills from now on (ShimProcess::adopt_plugin).
	if (auto plugin = sandboxed_child(process_.pid())) {
		plugin_pid_ = plugin->first;
		process_.adopt_plugin(std::move(plugin->second));
	}
	std::weak_ptr<Instance> weak = weak_from_this();
	auto w = watchers_;
	asio::post(supervisor_->io(), [w, weak, fd = dup_cloexec(seccomp_listener_.get())]() mutable {
		boost::system::error_code ec;
		w->seccomp.assign(fd.release(), ec);
		struct Loop {
			std::weak_ptr<Instance> weak;
			std::shared_ptr<Watchers> w;
			void operator()(boost::system::error_code ec) const
			{
				if (ec)
					return;
				auto self = weak.lock();
				if (!self)
					return;
				// POLLIN only: a hung-up listener (every filtered
				// process gone) would block the receive below.
				struct pollfd p = {w->seccomp.native_handle(), POLLIN, 0};
				if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
					return;
				self->on_seccomp_notification();
				w->seccomp.async_wait(asio::posix::stream_descriptor::wait_read, *this);
			}
		};
		w->seccomp.async_wait(asio::posix::stream_descriptor::wait_read, Loop{weak, w});
	});
}

void Instance::on_seccomp_notification()
{
	struct seccomp_notif_sizes sizes = {};
	if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
		sizes.seccomp_notif = sizeof(struct seccomp_notif);
	std::vector<std::uint8_t> buffer(std::max<std::size_t>(sizes.seccomp_notif,
							       sizeof(struct seccomp_notif)));
	auto *n = reinterpret_cast<struct seccomp_notif *>(buffer.data());
	if (::ioctl(watchers_->seccomp.native_handle(), SECCOMP_IOCTL_NOTIF_RECV, n) != 0)
		return; // the caller died meanwhile
	const std::string name = sandbox::syscall_name(n->data.arch, n->data.nr);
	// No answer: the calling thread stays blocked until the kill lands,
	// so the call never runs.
	kill_for(Termination::SandboxViolation,
		 fmt::format("the plugin made a forbidden system call: {} (#{}); all its "
			     "processes were killed",
			     name, n->data.nr),
		 name);
}

namespace {

// The last resort without a memory cgroup: how often the broker sums the
// plugin's resident memory.
constexpr auto kRssPoll = std::chrono::milliseconds(10);

// Resident bytes of `pid` and its descendants (the mirror, pid 1, pid 2;
// the first two share one address space, counted twice).
std::uint64_t tree_rss(pid_t pid, int depth = 0)
{
	// "   1234 kB"; strtoull skips the blanks and stops at the unit.
	std::uint64_t total = std::strtoull(proc_status(pid, "VmRSS:").c_str(), nullptr, 10) << 10;
	std::ifstream children(fmt::format("/proc/{}/task/{}/children", pid, pid));
	pid_t child;
	while (depth < 4 && children >> child)
		total += tree_rss(child, depth + 1);
	return total;
}

} // namespace

void Instance::poll_memory()
{
	std::weak_ptr<Instance> weak = weak_from_this();
	watchers_->rss.expires_after(kRssPoll);
	watchers_->rss.async_wait([weak](boost::system::error_code ec) {
		auto self = weak.lock();
		if (ec || !self || !self->alive())
			return;
		const std::uint64_t limit = self->options_.sandbox.memory_limit;
		const std::uint64_t rss = tree_rss(self->process_.pid());
		if (rss > limit) {
			self->kill_for(Termination::MemoryLimit,
				       fmt::format("the plugin went over its memory limit of {} MiB "
						   "({} MiB resident, found by polling: no memory "
						   "cgroup); all its processes were killed",
						   limit >> 20, rss >> 20));
			return;
		}
		self->poll_memory();
	});
}

void Instance::watch_sandbox()
{
	if (options_.sandbox.mode == sandbox::SandboxMode::Enforced && !cgroups_.caps_memory())
		asio::post(supervisor_->io(), [weak = weak_from_this()] {
			if (auto self = weak.lock())
				self->poll_memory();
		});
	const int oom = cgroups_.oom_event_fd();
	if (oom < 0)
		return;
	std::weak_ptr<Instance> weak = weak_from_this();
	auto w = watchers_;
	asio::post(supervisor_->io(), [w, weak, fd = dup_cloexec(oom)]() mutable {
		boost::system::error_code ec;
		w->oom.assign(fd.release(), ec);
		w->oom.async_wait(asio::posix::stream_descriptor::wait_read,
				  [w, weak](boost::system::error_code ec) {
					  if (ec)
						  return;
					  auto self = weak.lock();
					  if (!self)
						  return;
					  self->kill_for(Termination::MemoryLimit,
							 fmt::format("the plugin went over its memory "
								     "limit of {} MiB; all its "
								     "processes were killed",
								     self->options_.sandbox.memory_limit >> 20));
				  });
	});
}

Error Instance::verdict(const ExitStatus &status)
{
	Termination reason = kill_reason_.load();
	std::string detail, syscall;
	{
		std::lock_guard lock(mutex_);
		detail = kill_detail_;
		syscall = kill_syscall_;
	}
	const bool sandboxed = options_.sandbox.mode == sandbox::SandboxMode::Enforced;
	if (sandboxed && (reason == Termination::None || reason == Termination::Deadline)) {
		std::lock_guard lock(sandbox_mutex_);
		// The kernel's OOM killer may strike before the broker reads
		// the event: the counter, not the signal, says why.
		if (cgroups_.oom_killed()) {
			reason = Termination::MemoryLimit;
			detail = fmt::format("the plugin went over its memory limit of {} MiB; all "
					     "its processes were killed",
					     options_.sandbox.memory_limit >> 20);
		}
	}
	if (sandboxed && reason == Termination::None && status.signaled && status.signal == SIGSYS) {
		// Killed by the filter itself, which only does that for a call
		// through a foreign ABI (no notification comes for those).
		reason = Termination::SandboxViolation;
		syscall = "foreign-abi";
		detail = "the plugin made a system call through a foreign ABI (i386 int 0x80 or "
			 "x32); the filter killed it";
	}

	Error e;
	e.signal = status.signaled ? status.signal : 0;
	e.exit_status = status.signaled ? 0 : status.status;
	e.message = detail;
	switch (reason) {
	case Termination::Deadline:
	case Termination::SandboxViolation:
	case Termination::MemoryLimit:
		e.code = ErrorCode::PluginCrashed;
		e.termination = reason;
		e.syscall = syscall;
		break;
	case Termination::Protocol:
		e.code = ErrorCode::ProtocolViolation;
		e.termination = Termination::Protocol;
		break;
	case Termination::HostRequest:
		e.code = ErrorCode::Unavailable;
		e.termination = Termination::HostRequest;
		break;
	default:
		e.code = ErrorCode::PluginCrashed;
		e.termination = status.signaled ? Termination::Signal : Termination::Exit;
		if (!status.signaled && status.status == sp::kExitBrokerGone)
			e.message = "the shim lost its descriptors to the broker";
		else if (!status.signaled && status.status == sp::kExitStartFailed)
			e.message = "the shim failed; its log says why";
		else
			e.message = "the instance died";
		break;
	}
	return e;
}

sandbox::SandboxReport Instance::sandbox() const
{
	std::lock_guard lock(sandbox_mutex_);
	sandbox::SandboxReport r = report_;
	if (options_.sandbox.mode == sandbox::SandboxMode::Enforced && !seccomp_listener_.valid() &&
	    !r.find("seccomp"))
		r.add("seccomp", sandbox::LayerState::Off,
		      "the shim reported no sandbox (not a Bulkhead shim?)");
	return r;
}

} // namespace bulkhead::broker

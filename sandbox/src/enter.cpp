// SPDX-License-Identifier: Apache-2.0
// The shim's sandbox entry: cgroups, uid, namespaces and the three-process
// tree (docs/sandbox.md explains why three, and why only one is a fork).
#include <bulkhead/sandbox/confine.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "steps.hpp"

namespace bulkhead::sandbox {

namespace detail {

Error os_error(std::string_view what, int err)
{
	return Error(ErrorCode::Internal,
		     fmt::format("sandbox: {}: {}", what, strerrordesc_np(err) ? strerrordesc_np(err) : "?"));
}

Result<void> write_file(const char *path, std::string_view text)
{
	UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
	if (!fd.valid())
		return Unexpected(os_error(fmt::format("open {}", path), errno));
	if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
		return Unexpected(os_error(fmt::format("write {}", path), errno));
	return {};
}

} // namespace detail

namespace {

using detail::os_error;

bool broker_gone(int lifeline_fd)
{
	struct pollfd p = {lifeline_fd, POLLIN, 0};
	return ::poll(&p, 1, 0) != 0;
}

// Dies with the parent; the lifeline covers a broker that went before.
void die_with_parent(int lifeline_fd)
{
	::prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (lifeline_fd >= 0 && broker_gone(lifeline_fd))
		::_exit(71);
}

Result<void> join_cgroups(const ShimSandboxConfig &config)
{
	for (int fd : config.cgroup_fds) {
		ssize_t n = ::write(fd, "0", 1);
		int err = errno;
		::close(fd);
		if (n != 1)
			return Unexpected(os_error("joining a cgroup", err));
	}
	return {};
}

// Ends this process the way `status` ended its child: the same exit status,
// or death by the same signal, so the broker's verdict needs no relay.
[[noreturn]] void mirror(int status)
{
	if (WIFSIGNALED(status)) {
		const int sig = WTERMSIG(status);
		struct sigaction dfl = {};
		dfl.sa_handler = SIG_DFL;
		::sigaction(sig, &dfl, nullptr);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		::sigprocmask(SIG_UNBLOCK, &set, nullptr);
		::kill(::getpid(), sig);
		::_exit(128 + sig);
	}
	::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 70);
}

#if !defined(__x86_64__)
#error "pid 1's raw system calls are written for x86-64"
#endif
[[gnu::always_inline]] inline long raw_syscall(long nr, long a = 0, long b = 0, long c = 0)
{
	long ret;
	asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

// pid 1 of the new pid namespace. It shares the spawned process's memory
// (CLONE_VM: creating it copies no page tables, where a fork of the shim
// costs a millisecond here), so it makes raw system calls only: no libc
// call that could write errno or take a lock in the memory it shares, and
// no sanitizer runtime, whose per-thread state would be the spawned
// process's. The namespace lives as long as it does, and it lives as long
// as the spawned process holds the pipe's other end. It has no orphans to
// reap: the plugin process, its only possible source, cannot create one.
[[gnu::no_sanitize("address", "undefined", "thread")]] int run_init(void *arg)
{
	const int alive = static_cast<int>(reinterpret_cast<long>(arg));
	raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	raw_syscall(SYS_close_range, 0, alive - 1, 0);
	raw_syscall(SYS_close_range, alive + 1, ~0u, 0);
	char byte;
	while (raw_syscall(SYS_read, alive, reinterpret_cast<long>(&byte), 1) == -EINTR) {
	}
	raw_syscall(SYS_exit, 0);
	return 0;
}

alignas(64) char init_stack[4096];

// The process the broker spawned, once pid 1 and the plugin process exist:
// waits for the plugin's end, ends pid 1 (and with it the namespace),
// reaps it, and mirrors the plugin's end. The broker kills the plugin
// process, never this one first, so nothing of the shim outlives it.
[[noreturn]] void run_mirror(pid_t init, int init_alive, pid_t worker)
{
	// Not dumpable: that flag belongs to the memory this process and
	// pid 1 share (the plugin process has its own copy, dropped later).
	::prctl(PR_SET_DUMPABLE, 0);
	if (init_alive > 0)
		::close_range(0, static_cast<unsigned>(init_alive - 1), 0);
	::close_range(static_cast<unsigned>(init_alive + 1), ~0u, 0);
	int status = 0;
	while (::waitpid(worker, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 70 << 8; // cannot happen: the plugin process is our child
			break;
		}
	}
	::close(init_alive);
	::kill(init, SIGKILL);
	while (::waitpid(init, nullptr, 0) < 0 && errno == EINTR) {
	}
	mirror(status);
}

const char *describe_namespaces(bool network)
{
	return network ? "user, pid, mount, ipc, uts, cgroup (network granted: host network)"
		       : "user, pid, mount, network, ipc, uts, cgroup";
}

} // namespace

Result<SandboxReport> enter(const ShimSandboxConfig &config, const EnterContext &context)
{
	SandboxReport report;

	// An unprivileged uid first: a root broker's child that only entered
	// a user namespace would keep kuid 0 on every object it can reach.
	if (::geteuid() == 0) {
		if (::setgroups(0, nullptr) != 0 || ::setresgid(config.gid, config.gid, config.gid) != 0 ||
		    ::setresuid(config.uid, config.uid, config.uid) != 0)
			return Unexpected(os_error("dropping to the sandbox uid", errno));
		report.add("uid", LayerState::Enforced,
			   fmt::format("host uid {} and gid {}, of this shim alone", config.uid, config.gid));
	} else {
		report.add("uid", LayerState::Degraded,
			   fmt::format("the broker is not root: the shim keeps host uid {}", ::geteuid()));
	}
	// A credential change clears the parent-death signal: set it again.
	die_with_parent(context.lifeline_fd);
	struct rlimit no_core = {0, 0};
	::setrlimit(RLIMIT_CORE, &no_core);

	const uid_t uid = ::geteuid();
	const gid_t gid = ::getegid();
	// The maps below are written through /proc/self, which a changed
	// credential made root-owned; dumpable again until the plugin runs.
	::prctl(PR_SET_DUMPABLE, 1);
	// The cgroup namespace comes later, from the plugin process once it
	// is in its groups, so that they are its root.
	int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	if (!config.network)
		flags |= CLONE_NEWNET;
	if (::unshare(flags) != 0)
		return Unexpected(os_error("unshare (namespaces)", errno));
	TRY(detail::write_file("/proc/self/setgroups", "deny"));
	TRY(detail::write_file("/proc/self/uid_map", fmt::format("0 {} 1\n", uid)));
	TRY(detail::write_file("/proc/self/gid_map", fmt::format("0 {} 1\n", gid)));
	::sethostname("bulkhead", 8);
	report.add("namespaces", config.network ? LayerState::Degraded : LayerState::Enforced,
		   describe_namespaces(config.network));

	// pid 1 first (the namespace's first process is its init), then the
	// plugin process, both children of this one.
	int alive[2];
	if (::pipe2(alive, O_CLOEXEC) != 0)
		return Unexpected(os_error("pipe2", errno));
	const pid_t init = ::clone(run_init, init_stack + sizeof init_stack, CLONE_VM | SIGCHLD,
				   reinterpret_cast<void *>(static_cast<long>(alive[0])));
	if (init < 0) {
		const int err = errno;
		::close(alive[0]);
		::close(alive[1]);
		return Unexpected(os_error("clone (pid 1)", err));
	}
	::close(alive[0]);
	const pid_t worker = ::fork();
	if (worker < 0) {
		const int err = errno;
		::close(alive[1]);
		::kill(init, SIGKILL);
		::waitpid(init, nullptr, 0);
		return Unexpected(os_error("fork (plugin process)", err));
	}
	if (worker > 0)
		run_mirror(init, alive[1], worker);
	::close(alive[1]);
	die_with_parent(context.lifeline_fd);
	// A spawned process that died before the prctl left this one to pid 1
	// (its parent is outside the namespace, where getppid() says 0).
	if (::getppid() != 0)
		::_exit(71);
	// Only the plugin process is in the plugin's groups: a kill of the
	// groups ends it, and the spawned process reaps it and follows.
	TRY(join_cgroups(config));
	if (::unshare(CLONE_NEWCGROUP) != 0)
		return Unexpected(os_error("unshare (cgroup namespace)", errno));
	TRY(detail::build_root(config));
	report.add("filesystem", LayerState::Enforced,
		   fmt::format("read-only tmpfs root: /usr, /lib*, /etc/ld.so.cache, own /proc{}{}",
			       config.read_paths.empty() ? "" : ", granted: ",
			       fmt::join(config.read_paths, ", ")));
	::setsid();

	// Descriptor hygiene: only the channel's survive (stdin was pointed
	// at /dev/null by the shim; stdout and stderr are the broker's log pipe).
	::close_range(static_cast<unsigned>(context.first_free_fd), ~0u, 0);
	// The seccomp program's descriptor, the last below first_free_fd, is
	// closed once the filter is loaded, before any plugin code.
	const int last_kept =
		(context.seccomp_fd >= 0 ? context.seccomp_fd : context.first_free_fd) - 1;
	report.add("descriptors", LayerState::Enforced,
		   fmt::format("only 0-2 and the channel's 3-{} are open", last_kept));
	TRY(detail::apply_rlimits(config, report));
	TRY(detail::drop_privileges(report));
	detail::apply_landlock(config, report);
	return report;
}

} // namespace bulkhead::sandbox

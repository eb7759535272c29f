// SPDX-License-Identifier: Apache-2.0
// The shim's sandbox entry: cgroups, uid, namespaces and the three-process
// tree (docs/sandbox.md explains why three).
#include <bulkhead/sandbox/confine.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

void close_all_but(int keep)
{
	if (keep > 3)
		::close_range(3, static_cast<unsigned>(keep - 1), 0);
	::close_range(static_cast<unsigned>(keep + 1), ~0u, 0);
}

// The process the broker spawned, after pid 1 is forked: waits for the
// plugin's end as pid 1 reports it, and mirrors it.
[[noreturn]] void run_mirror(pid_t init, int status_fd)
{
	close_all_but(status_fd);
	int status = 0;
	ssize_t n;
	do
		n = ::read(status_fd, &status, sizeof status);
	while (n < 0 && errno == EINTR);
	int init_status = 0;
	while (::waitpid(init, &init_status, 0) < 0 && errno == EINTR) {
	}
	mirror(n == sizeof status ? status : init_status);
}

// pid 1 of the new pid namespace: reaps until the plugin process ends,
// hands its status to the mirror, and exits (which ends the namespace).
[[noreturn]] void run_init(pid_t worker, int status_fd)
{
	close_all_but(status_fd);
	::prctl(PR_SET_DUMPABLE, 0);
	for (;;) {
		int status = 0;
		pid_t p = ::waitpid(-1, &status, 0);
		if (p == worker) {
			[[maybe_unused]] ssize_t n = ::write(status_fd, &status, sizeof status);
			::_exit(0);
		}
		if (p < 0 && errno == ECHILD)
			::_exit(70);
	}
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
	TRY(join_cgroups(config));

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
	int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		    CLONE_NEWCGROUP;
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

	int sp[2];
	if (::pipe2(sp, O_CLOEXEC) != 0)
		return Unexpected(os_error("pipe2", errno));
	const pid_t init = ::fork();
	if (init < 0)
		return Unexpected(os_error("fork (pid 1)", errno));
	if (init > 0) {
		::close(sp[1]);
		run_mirror(init, sp[0]);
	}
	::close(sp[0]);
	die_with_parent(context.lifeline_fd);
	TRY(detail::build_root(config));
	report.add("filesystem", LayerState::Enforced,
		   fmt::format("read-only tmpfs root: /usr, /lib*, /etc/ld.so.cache, own /proc{}{}",
			       config.read_paths.empty() ? "" : ", granted: ",
			       fmt::join(config.read_paths, ", ")));

	const pid_t worker = ::fork();
	if (worker < 0)
		return Unexpected(os_error("fork (plugin process)", errno));
	if (worker > 0)
		run_init(worker, sp[1]);
	::close(sp[1]);
	die_with_parent(context.lifeline_fd);
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

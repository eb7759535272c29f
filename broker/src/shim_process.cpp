// SPDX-License-Identifier: Apache-2.0
// Spawning and reaping shim processes.
#include <bulkhead/broker/shim_process.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/ipc/shim_protocol.hpp>

namespace bulkhead::broker {

namespace {

class FileActions {
public:
	FileActions() { ::posix_spawn_file_actions_init(&a_); }
	~FileActions() { ::posix_spawn_file_actions_destroy(&a_); }
	posix_spawn_file_actions_t *get() { return &a_; }

private:
	posix_spawn_file_actions_t a_;
};

class SpawnAttr {
public:
	SpawnAttr() { ::posix_spawnattr_init(&a_); }
	~SpawnAttr() { ::posix_spawnattr_destroy(&a_); }
	posix_spawnattr_t *get() { return &a_; }

private:
	posix_spawnattr_t a_;
};

ExitStatus decode(const siginfo_t &info)
{
	ExitStatus s;
	if (info.si_code == CLD_EXITED) {
		s.status = info.si_status;
	} else {
		s.signaled = true;
		s.signal = info.si_status;
	}
	return s;
}

} // namespace

Result<ShimLinks> ShimLinks::create()
{
	ShimLinks links;
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return Unexpected(errno_error("socketpair", errno));
	links.control = UniqueFd(sv[0]);
	links.shim_control = UniqueFd(sv[1]);
	int lp[2];
	if (::pipe2(lp, O_CLOEXEC) != 0)
		return Unexpected(errno_error("pipe2", errno));
	links.lifeline_read = UniqueFd(lp[0]);
	links.lifeline = UniqueFd(lp[1]);
	return links;
}

ShimProcess &ShimProcess::operator=(ShimProcess &&other) noexcept
{
	if (this != &other) {
		if (pidfd_.valid() && !status_) {
			kill();
			reap();
		}
		pid_ = std::exchange(other.pid_, -1);
		pidfd_ = std::move(other.pidfd_);
		plugin_pidfd_ = std::move(other.plugin_pidfd_);
		status_ = std::exchange(other.status_, std::nullopt);
	}
	return *this;
}

ShimProcess::~ShimProcess()
{
	if (pidfd_.valid() && !status_) {
		kill();
		reap();
	}
}

Result<ShimProcess> ShimProcess::spawn(const SpawnSpec &spec)
{
	std::vector<UniqueFd> staged;
	FileActions actions;
	for (auto [from, to] : spec.fds) {
		UniqueFd high(::fcntl(from, F_DUPFD_CLOEXEC, ipc::shim_protocol::kStagingFloor));
		if (!high.valid())
			return Unexpected(errno_error("fcntl(F_DUPFD_CLOEXEC)", errno));
		// dup2 onto a different number clears FD_CLOEXEC on the copy.
		::posix_spawn_file_actions_adddup2(actions.get(), high.get(), to);
		staged.push_back(std::move(high));
	}
	int first_closed = 3;
	for (auto [from, to] : spec.fds)
		first_closed = std::max(first_closed, to + 1);
	// Below that, a number the spec leaves out (9 with no compiled wasm
	// object, say) would otherwise keep whatever the host has there
	// without close-on-exec. Closing one that is not open is harmless.
	// 0-2 the shim points at /dev/null or its log pipe itself.
	for (int n = 3; n < first_closed; ++n)
		if (std::none_of(spec.fds.begin(), spec.fds.end(), [n](auto fd) { return fd.second == n; }))
			::posix_spawn_file_actions_addclose(actions.get(), n);
	::posix_spawn_file_actions_addclosefrom_np(actions.get(), first_closed);

	SpawnAttr attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	::posix_spawnattr_setsigmask(attr.get(), &none);
	::posix_spawnattr_setsigdefault(attr.get(), &all);
	::posix_spawnattr_setflags(attr.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	std::vector<char *> argv;
	for (const auto &a : spec.argv)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	// An empty environment: nothing of the host's (LD_PRELOAD, secrets)
	// reaches plugin code.
	char *envp[] = {nullptr};

	pid_t pid = -1;
	int err = ::posix_spawn(&pid, spec.executable.c_str(), actions.get(), attr.get(),
				argv.data(), envp);
	if (err == ENOENT)
		return make_error(ErrorCode::NotFound,
				  fmt::format("shim executable {} does not exist", spec.executable));
	if (err != 0)
		return Unexpected(errno_error("posix_spawn " + spec.executable, err));

	ShimProcess p;
	p.pid_ = pid;
	p.pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
	if (!p.pidfd_.valid()) {
		Error e = errno_error("pidfd_open", errno);
		::kill(pid, SIGKILL);
		::waitpid(pid, nullptr, 0);
		return Unexpected(std::move(e));
	}
	return p;
}

void ShimProcess::kill() const
{
	// No check of status_: kill() may race with the reaping thread, and a
	// signal to a reaped pidfd fails with ESRCH, harmlessly.
	if (plugin_pidfd_.valid())
		::syscall(SYS_pidfd_send_signal, plugin_pidfd_.get(), SIGKILL, nullptr, 0);
	else if (pidfd_.valid())
		::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

std::optional<ExitStatus> ShimProcess::try_reap()
{
	if (status_ || !pidfd_.valid())
		return status_;
	siginfo_t info{};
	if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
		     WEXITED | WNOHANG) == 0 &&
	    info.si_pid != 0)
		status_ = decode(info);
	return status_;
}

ExitStatus ShimProcess::reap()
{
	while (!status_ && pidfd_.valid()) {
		siginfo_t info{};
		if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
			     WEXITED) == 0) {
			status_ = decode(info);
		} else if (errno != EINTR) {
			status_ = ExitStatus{}; // ECHILD: someone else reaped it
		}
	}
	return status_.value_or(ExitStatus{});
}

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// Starting, stopping and reaping the baseline peers, and their entry point.
#include "bench_peer.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/prctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace bulkhead::tools {

Result<void> pin_to_cpu(pid_t pid, int cpu)
{
	if (cpu < 0)
		return {};
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (::sched_setaffinity(pid, sizeof set, &set) != 0)
		return Unexpected(errno_error(fmt::format("sched_setaffinity({}, cpu {})", pid, cpu),
					      errno));
	return {};
}

Result<PeerProcess> PeerProcess::spawn(std::string_view kind, int fd, int cpu)
{
	broker::SpawnSpec spec;
	spec.executable = "/proc/self/exe";
	spec.argv = {"bulkhead", std::string(kBenchPeerCommand), std::string(kind),
		     std::to_string(kPeerFd), std::to_string(::getpid())};
	spec.fds = {{fd, kPeerFd}};
	PeerProcess peer(TRY(broker::ShimProcess::spawn(spec)));
	TRY(pin_to_cpu(peer.pid(), cpu));
	return peer;
}

bool PeerProcess::alive() { return !process_.try_reap().has_value(); }

Result<void> PeerProcess::finish(std::chrono::milliseconds grace)
{
	if (!process_.reaped()) {
		struct pollfd p = {process_.pidfd(), POLLIN, 0};
		int r;
		do
			r = ::poll(&p, 1, static_cast<int>(grace.count()));
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			process_.kill();
	}
	const broker::ExitStatus s = process_.reap();
	if (s.signaled)
		return make_error(ErrorCode::Internal,
				  fmt::format("benchmark peer {} was killed by signal {}", pid(),
					      s.signal));
	if (s.status != 0)
		return make_error(ErrorCode::Internal,
				  fmt::format("benchmark peer {} exited with status {}", pid(),
					      s.status));
	return {};
}

int bench_peer_main(std::span<char *const> args)
{
	// kind, descriptor, the pid of the benchmark that spawned us.
	if (args.size() != 3) {
		fmt::print(stderr, "bulkhead {}: internal subcommand, not for direct use\n",
			   kBenchPeerCommand);
		return 2;
	}
	const std::string_view kind = args[0];
	const int fd = std::atoi(args[1]);
	const pid_t parent = static_cast<pid_t>(std::atol(args[2]));
	// Die with the benchmark. PDEATHSIG covers a parent that dies from
	// now on; the getppid() check one that died before the prctl.
	::prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (::getppid() != parent)
		return 1;
	if (kind == "futex")
		return run_futex_peer(fd);
	if (kind == "uds")
		return run_uds_peer(fd);
	fmt::print(stderr, "bulkhead {}: unknown peer kind '{}'\n", kBenchPeerCommand, kind);
	return 2;
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// The peer processes of the baseline benchmarks: this executable started
// again with a hidden subcommand, `bulkhead __bench-peer <kind> <fd> <ppid>`.
//
// Lifetime: a PeerProcess owns its process; destroying one that is still
// running kills and reaps it, so no path leaves a zombie. A peer dies with
// the benchmark (PR_SET_PDEATHSIG), so none outlives it either.
#pragma once

#include <chrono>
#include <span>
#include <string_view>
#include <sys/types.h>

#include <bulkhead/broker/shim_process.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::tools {

inline constexpr std::string_view kBenchPeerCommand = "__bench-peer";
// The descriptor number a peer finds its channel on.
inline constexpr int kPeerFd = 3;

class PeerProcess {
public:
	// posix_spawn of /proc/self/exe (never fork() of the benchmark) with
	// `fd` as descriptor kPeerFd; every other descriptor is closed. Pinned
	// to `cpu` unless it is negative.
	static Result<PeerProcess> spawn(std::string_view kind, int fd, int cpu);

	pid_t pid() const { return process_.pid(); }
	// False once the peer has exited (it is reaped then).
	bool alive();
	// Waits up to `grace` for the peer to exit by itself, kills it if it
	// does not, and reaps it. Fails unless it exited with status 0.
	Result<void> finish(std::chrono::milliseconds grace);

private:
	explicit PeerProcess(broker::ShimProcess process) : process_(std::move(process)) {}
	broker::ShimProcess process_;
};

// Restricts thread `pid` (0: the calling one) to `cpu`; nothing if cpu < 0.
Result<void> pin_to_cpu(pid_t pid, int cpu);

// `bulkhead __bench-peer ...`: the peer side. Returns the exit status.
int bench_peer_main(std::span<char *const> args);

// The serving loops, on descriptor `fd`; each returns the exit status.
int run_futex_peer(int fd);
int run_uds_peer(int fd);

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// ShimProcess: the single owner of one shim process and its pidfd. The
// process is reaped exactly once; destroying an unreaped one kills and reaps
// it, so no path leaves a zombie.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::broker {

struct SpawnSpec {
	std::string executable;
	std::vector<std::string> argv; // argv[0] included
	// (descriptor in the broker, number it gets in the shim); everything
	// else is closed in the shim.
	std::vector<std::pair<int, int>> fds;
};

// The two links between a shim and its broker, both ends of each:
// created close-on-exec; the shim's ends are handed to it at 3 and 7.
struct ShimLinks {
	UniqueFd control;       // the broker's end of the SOCK_SEQPACKET pair
	UniqueFd shim_control;  // the shim's end (kControlFd)
	UniqueFd lifeline;      // the pipe's write end: closed = broker gone
	UniqueFd lifeline_read; // the shim's end (kLifelineFd)

	static Result<ShimLinks> create();
};

// How a process ended, from waitid().
struct ExitStatus {
	bool signaled = false;
	int signal = 0;
	int status = 0;
};

class ShimProcess {
public:
	ShimProcess() = default;
	ShimProcess(ShimProcess &&) noexcept = default;
	ShimProcess &operator=(ShimProcess &&other) noexcept;
	~ShimProcess();

	// posix_spawn (never fork of the host), then pidfd_open. Call it from
	// a thread that outlives the shim: PR_SET_PDEATHSIG follows the
	// spawning thread, not the process.
	static Result<ShimProcess> spawn(const SpawnSpec &spec);

	pid_t pid() const { return pid_; }
	int pidfd() const { return pidfd_.get(); }
	bool reaped() const { return status_.has_value(); }
	const std::optional<ExitStatus> &status() const { return status_; }

	// A sandboxed shim's plugin process, a child of this one that this one
	// reaps and mirrors (docs/sandbox.md). From here kill() signals it, and
	// this process follows once it has reaped it: killed first, this one
	// would leave its children to the host's init to reap.
	void adopt_plugin(UniqueFd pidfd) { plugin_pidfd_ = std::move(pidfd); }

	// SIGKILL through a pidfd (the plugin process's once adopted, else
	// this one's): no PID-reuse race. Harmless once exited.
	void kill() const;
	// Reaps if the process has exited; never blocks.
	std::optional<ExitStatus> try_reap();
	// Reaps, blocking until the process exits.
	ExitStatus reap();

private:
	pid_t pid_ = -1;
	UniqueFd pidfd_;
	UniqueFd plugin_pidfd_;
	std::optional<ExitStatus> status_;
};

} // namespace bulkhead::broker

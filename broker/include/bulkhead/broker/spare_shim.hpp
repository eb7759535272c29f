// SPDX-License-Identifier: Apache-2.0
// SpareShim: one shim process spawned ahead of need, exec'd and linked and
// holding nothing of any plugin, waiting on its control socket for the start
// it is given (ipc/shim_protocol.hpp, kSpareFlag). A start that finds one
// skips posix_spawn, exec and dynamic linking: most of an unsandboxed start
// on this machine, where every page a new process touches costs a fault.
#pragma once

#include <string>

#include <bulkhead/broker/shim_process.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::broker {

// What a start owns once it has a process: the process, and the broker's
// ends of its control socket and lifeline pipe.
struct StartedShim {
	ShimProcess process;
	UniqueFd control;
	UniqueFd lifeline;
};

class SpareShim {
public:
	// Spawns a spare of `executable`. Call it from the thread that spawns
	// shims: PR_SET_PDEATHSIG follows the spawning thread.
	static Result<SpareShim> spawn(const std::string &executable);

	const std::string &executable() const { return executable_; }
	// False once the process has exited (reaping it); never blocks.
	bool alive();

	// Makes the spare the shim `spec` describes: sends it spec.argv and
	// spec.fds, which must not name the control socket or lifeline it
	// already has. The spare is used up whatever happens; on failure it
	// is killed and reaped, and the caller spawns afresh.
	static Result<StartedShim> assign(SpareShim spare, const SpawnSpec &spec);

private:
	std::string executable_;
	StartedShim shim_;
};

} // namespace bulkhead::broker

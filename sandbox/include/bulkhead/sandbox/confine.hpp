// SPDX-License-Identifier: Apache-2.0
// The shim's side of the sandbox: applied in the shim process, in order,
// before any plugin code runs (DESIGN.md §2 rule 6). Not for embedders.
//
// Process model (docs/sandbox.md): enter() turns the shim into three
// processes. The one the broker spawned stays in the host's pid namespace
// and mirrors the plugin's end (exit status or signal) as its own; pid 1 of
// the new pid namespace only reaps; pid 2 returns from enter() and runs the
// plugin. Only pid 2 ever runs plugin code.
#pragma once

#include <cstdint>
#include <string>

#include <bulkhead/result.hpp>
#include <bulkhead/sandbox/report.hpp>
#include <bulkhead/sandbox/shim_config.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::sandbox {

struct EnterContext {
	int lifeline_fd = -1;  // EOF or readable: the broker is gone
	int first_free_fd = 0; // every descriptor from here is closed
	int control_fd = -1;   // the only socket the plugin may use
};

// Joins the cgroups, drops to the unprivileged uid, enters new user, pid,
// mount, network, ipc, uts and cgroup namespaces, builds the read-only
// root, forks as described above, then (in pid 2) applies rlimits,
// descriptor hygiene, Landlock, no_new_privs and the capability drop.
// Returns in pid 2 only, with the state of each layer. The other two
// processes never return.
Result<SandboxReport> enter(const ShimSandboxConfig &config, const EnterContext &context);

// The last layer: the seccomp allowlist, whose default action notifies the
// listener returned here (the broker's, once passed over). Call it when the
// process is still single-threaded.
Result<UniqueFd> install_seccomp(const ShimSandboxConfig &config, const EnterContext &context,
				 SandboxReport &report);

// "socket" for (AUDIT_ARCH_X86_64, 41); "#<nr>" when unknown.
std::string syscall_name(std::uint32_t arch, int nr);

} // namespace bulkhead::sandbox

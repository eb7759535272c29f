// SPDX-License-Identifier: Apache-2.0
// The shim's side of the sandbox: applied in the shim process, in order,
// before any plugin code runs (DESIGN.md §2 rule 6). Not for embedders.
//
// Process model (docs/sandbox.md): enter() turns the shim into three
// processes. The one the broker spawned stays in the host's pid namespace
// and mirrors the plugin's end (exit status or signal) as its own; pid 1 of
// the new pid namespace (a CLONE_VM child of it, raw system calls only)
// keeps the namespace alive; pid 2, its one fork, joins the cgroups,
// returns from enter() and runs the plugin. Only pid 2 ever runs plugin
// code, and only pid 2 is in the plugin's cgroups.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/sandbox/report.hpp>
#include <bulkhead/sandbox/shim_config.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::sandbox {

struct EnterContext {
	int lifeline_fd = -1;  // EOF or readable: the broker is gone
	int first_free_fd = 0; // every descriptor from here is closed
	int control_fd = -1;   // the only socket the plugin may use
	int seccomp_fd = -1;   // the broker's compiled filter (compile_seccomp)
};

// The plugin process is always pid 2 of its pid namespace (forked right
// after pid 1), which is what lets the broker compile its filter.
inline constexpr pid_t kPluginPid = 2;

// Drops to the unprivileged uid, enters new user, pid, mount, network, ipc
// and uts namespaces, creates the processes described above, then (in
// pid 2) joins the cgroups, enters a cgroup namespace, builds the
// read-only root and applies rlimits, descriptor hygiene, Landlock,
// no_new_privs and the capability drop.
// Returns in pid 2 only, with the state of each layer. The other two
// processes never return.
Result<SandboxReport> enter(const ShimSandboxConfig &config, const EnterContext &context);

// The seccomp allowlist as a BPF program (struct sock_filter[]), for a
// plugin process that is kPluginPid and uses `control_fd` as its only
// socket. Building it costs about a millisecond of libseccomp, so the
// broker builds it once per policy and hands each shim the result.
Result<Bytes> compile_seccomp(const ShimSandboxConfig &config, int control_fd);

// The last layer: loads the program compile_seccomp made, read from
// context.seccomp_fd (closed here), whose default action notifies the
// listener returned here (the broker's, once passed over). Call it in the
// plugin process while it is still single-threaded.
Result<UniqueFd> install_seccomp(const ShimSandboxConfig &config, const EnterContext &context,
				 SandboxReport &report);

// "socket" for (AUDIT_ARCH_X86_64, 41); "#<nr>" when unknown.
std::string syscall_name(std::uint32_t arch, int nr);

} // namespace bulkhead::sandbox

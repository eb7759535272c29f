// SPDX-License-Identifier: Apache-2.0
// Internal to sandbox/: the individual layers enter() applies, each
// reporting its own state.
#pragma once

#include <string_view>

#include <bulkhead/result.hpp>
#include <bulkhead/sandbox/report.hpp>
#include <bulkhead/sandbox/shim_config.hpp>

namespace bulkhead::sandbox::detail {

Error os_error(std::string_view what, int err);
Result<void> write_file(const char *path, std::string_view text);

// Mount namespace: a tmpfs root with read-only binds of what the plugin
// needs, a fresh proc, pivot_root, the root made read-only. Run by pid 2
// of the new pid namespace (proc must be mounted from inside it).
Result<void> build_root(const ShimSandboxConfig &config);

// Landlock: read-only access beneath the libraries, the granted paths and
// the process's own /proc directory; TCP and scopes where the ABI has them.
void apply_landlock(const ShimSandboxConfig &config, SandboxReport &report);

// rlimits, no_new_privs, dumpable off, every capability dropped.
Result<void> apply_rlimits(const ShimSandboxConfig &config, SandboxReport &report);
Result<void> drop_privileges(SandboxReport &report);

} // namespace bulkhead::sandbox::detail

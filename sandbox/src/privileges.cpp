// SPDX-License-Identifier: Apache-2.0
// rlimits, no_new_privs and the capability drop of the plugin process.
#include <cerrno>
#include <csignal>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "steps.hpp"

namespace bulkhead::sandbox::detail {

namespace {

Result<void> limit(int resource, rlim_t value, std::string_view name)
{
	struct rlimit r = {value, value};
	if (::setrlimit(resource, &r) != 0)
		return Unexpected(os_error(fmt::format("setrlimit {}", name), errno));
	return {};
}

} // namespace

Result<void> apply_rlimits(const ShimSandboxConfig &config, SandboxReport &report)
{
	TRY(limit(RLIMIT_CORE, 0, "core"));
	TRY(limit(RLIMIT_FSIZE, config.max_file_size, "fsize"));
	TRY(limit(RLIMIT_NOFILE, config.max_open_files, "nofile"));
	TRY(limit(RLIMIT_MEMLOCK, 0, "memlock"));
	TRY(limit(RLIMIT_MSGQUEUE, 0, "msgqueue"));
	// Counted per uid, and the uid is this shim's alone: a pids cap
	// even where the pids controller is missing.
	TRY(limit(RLIMIT_NPROC, config.max_tasks, "nproc"));
	// A file size overrun fails the write instead of killing the plugin.
	::signal(SIGXFSZ, SIG_IGN);
	std::string as = "no RLIMIT_AS (the memory cgroup caps memory)";
	if (config.address_space > 0) {
#if defined(__SANITIZE_ADDRESS__)
		as = "RLIMIT_AS skipped: ASan reserves terabytes of address space";
#else
		TRY(limit(RLIMIT_AS, config.address_space, "as"));
		as = fmt::format("RLIMIT_AS {} MiB (no memory cgroup)", config.address_space >> 20);
#endif
	}
	report.add("rlimits", LayerState::Enforced,
		   fmt::format("core 0, fsize {} MiB, nofile {}, nproc {}, memlock 0; {}",
			       config.max_file_size >> 20, config.max_open_files, config.max_tasks, as));
	return {};
}

Result<void> drop_privileges(SandboxReport &report)
{
	// Not dumpable: no other process of this uid may ptrace it or read
	// its memory through /proc.
	if (::prctl(PR_SET_DUMPABLE, 0) != 0)
		return Unexpected(os_error("PR_SET_DUMPABLE", errno));
	if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return Unexpected(os_error("PR_SET_NO_NEW_PRIVS", errno));
	report.add("no-new-privs", LayerState::Enforced, "set; not dumpable");
	for (int cap = 0; cap <= 63; ++cap)
		if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			return Unexpected(os_error(fmt::format("dropping capability {}", cap), errno));
	::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {};
	if (::syscall(SYS_capset, &header, data) != 0)
		return Unexpected(os_error("capset", errno));
	report.add("capabilities", LayerState::Enforced,
		   "effective, permitted, inheritable, ambient and bounding sets empty");
	return {};
}

} // namespace bulkhead::sandbox::detail

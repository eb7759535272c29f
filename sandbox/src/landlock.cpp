// SPDX-License-Identifier: Apache-2.0
// Landlock through raw system calls: Debian 12's headers stop at ABI 2, so
// the newer constants are defined here.
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/unique_fd.hpp>

#include "steps.hpp"

namespace bulkhead::sandbox::detail {

namespace {

// Rights by ABI version (include/uapi/linux/landlock.h, kernel 6.18).
constexpr std::uint64_t kFsAbi1 = (1ull << 13) - 1;       // EXECUTE .. MAKE_SYM
constexpr std::uint64_t kFsRefer = 1ull << 13;             // ABI 2
constexpr std::uint64_t kFsTruncate = 1ull << 14;          // ABI 3
constexpr std::uint64_t kFsIoctlDev = 1ull << 15;          // ABI 5
constexpr std::uint64_t kNetBindTcp = 1ull << 0;           // ABI 4
constexpr std::uint64_t kNetConnectTcp = 1ull << 1;        // ABI 4
constexpr std::uint64_t kScopeAbstractUnix = 1ull << 0;    // ABI 6
constexpr std::uint64_t kScopeSignal = 1ull << 1;          // ABI 6
constexpr std::uint64_t kRead = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
				LANDLOCK_ACCESS_FS_READ_DIR;

struct RulesetAttr {
	std::uint64_t handled_access_fs;
	std::uint64_t handled_access_net;
	std::uint64_t scoped;
};

struct PathBeneath {
	std::uint64_t allowed_access;
	std::int32_t parent_fd;
} __attribute__((packed));

} // namespace

void apply_landlock(const ShimSandboxConfig &config, SandboxReport &report)
{
	const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0,
				   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		report.add("landlock", LayerState::Off,
			   fmt::format("the kernel has no Landlock ({})", strerrordesc_np(errno)));
		return;
	}
	RulesetAttr attr = {};
	std::size_t size = sizeof(std::uint64_t);
	attr.handled_access_fs = kFsAbi1 | (abi >= 2 ? kFsRefer : 0) | (abi >= 3 ? kFsTruncate : 0) |
				 (abi >= 5 ? kFsIoctlDev : 0);
	std::string extras;
	if (abi >= 4) {
		size = 2 * sizeof(std::uint64_t);
		if (!config.network) {
			attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
			extras += ", no TCP bind or connect";
		}
	}
	if (abi >= 6) {
		size = sizeof attr;
		attr.scoped = kScopeAbstractUnix | kScopeSignal;
		extras += ", signals and abstract sockets scoped";
	}
	UniqueFd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
	if (!ruleset.valid()) {
		report.add("landlock", LayerState::Off,
			   fmt::format("landlock_create_ruleset: {}", strerrordesc_np(errno)));
		return;
	}
	auto allow = [&](const std::string &path, std::uint64_t access) {
		UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
		if (!fd.valid())
			return;
		PathBeneath rule = {access & attr.handled_access_fs, fd.get()};
		::syscall(SYS_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	};
	for (const char *p : {"/usr", "/etc/ld.so.cache"})
		allow(p, kRead);
	for (const auto &p : config.read_paths)
		allow(p, kRead);
	// The process's own proc directory (maps, status, the payload's fd).
	allow("/proc/self", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
	if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) {
		report.add("landlock", LayerState::Off,
			   fmt::format("landlock_restrict_self: {}", strerrordesc_np(errno)));
		return;
	}
	report.add("landlock", LayerState::Enforced,
		   fmt::format("ABI {}: read-only beneath /usr, granted paths and own /proc; no "
			       "writes{}",
			       abi, extras));
}

} // namespace bulkhead::sandbox::detail

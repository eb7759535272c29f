// SPDX-License-Identifier: Apache-2.0
// The plugin's filesystem: a tmpfs root holding only read-only binds of the
// libraries and the granted paths, plus a fresh proc of its pid namespace.
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <string>
#include <vector>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/unique_fd.hpp>

#include "steps.hpp"

namespace bulkhead::sandbox::detail {

namespace {

// Where the new root is assembled. It is a mount point only inside our
// private mount namespace; the host's /tmp is untouched.
constexpr const char *kStaging = "/tmp";

// Paths every C/C++ plugin needs: the dynamic loader's search path.
constexpr const char *kLibraryPaths[] = {"/usr", "/lib", "/lib64", "/lib32", "/libx32"};

Result<void> make_parents(const std::string &path)
{
	for (std::size_t i = 1; i < path.size(); ++i) {
		if (path[i] != '/')
			continue;
		std::string dir = path.substr(0, i);
		if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
			return Unexpected(os_error("mkdir " + dir, errno));
	}
	return {};
}

// Flags a remount inside a user namespace must keep: those the mount had
// when it was inherited are locked.
unsigned long locked_flags(const std::string &path)
{
	struct statvfs s;
	if (::statvfs(path.c_str(), &s) != 0)
		return 0;
	unsigned long f = 0;
	if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (s.f_flag & ST_NODEV) f |= MS_NODEV;
	if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

// A host path to show in the new root, looked at and opened before the
// root's tmpfs covers the staging directory (a granted path may lie there).
struct Source {
	std::string path;
	struct stat st = {};
	std::string link; // a symlink's target
	UniqueFd fd;      // O_PATH; bound through /proc/self/fd
};

Result<std::optional<Source>> look(const std::string &path)
{
	Source s;
	s.path = path;
	if (::lstat(path.c_str(), &s.st) != 0)
		return std::optional<Source>(); // absent on this system
	if (S_ISLNK(s.st.st_mode)) {
		char link[4096];
		ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
		if (n < 0)
			return Unexpected(os_error("readlink " + path, errno));
		s.link.assign(link, static_cast<std::size_t>(n));
		return std::optional<Source>(std::move(s));
	}
	s.fd = UniqueFd(::open(path.c_str(), O_PATH | O_CLOEXEC));
	if (!s.fd.valid())
		return Unexpected(os_error("open " + path, errno));
	return std::optional<Source>(std::move(s));
}

Result<void> bind_read_only(const Source &source, const std::string &root)
{
	const std::string target = root + source.path;
	TRY(make_parents(target));
	if (S_ISLNK(source.st.st_mode)) {
		if (::symlink(source.link.c_str(), target.c_str()) != 0 && errno != EEXIST)
			return Unexpected(os_error("symlink " + target, errno));
		return {};
	}
	if (S_ISDIR(source.st.st_mode)) {
		if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST)
			return Unexpected(os_error("mkdir " + target, errno));
	} else {
		int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
		if (fd < 0)
			return Unexpected(os_error("create " + target, errno));
		::close(fd);
	}
	const std::string from = fmt::format("/proc/self/fd/{}", source.fd.get());
	if (::mount(from.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
		return Unexpected(os_error("bind " + source.path, errno));
	const unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
				    locked_flags(target);
	if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) != 0)
		return Unexpected(os_error("remount read-only " + target, errno));
	return {};
}

} // namespace

Result<void> build_root(const ShimSandboxConfig &config)
{
	if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
		return Unexpected(os_error("making mounts private", errno));
	const std::string root = kStaging;
	std::vector<Source> sources;
	std::vector<std::string> paths(std::begin(kLibraryPaths), std::end(kLibraryPaths));
	paths.push_back("/etc/ld.so.cache");
	paths.insert(paths.end(), config.read_paths.begin(), config.read_paths.end());
	for (const auto &p : paths)
		if (auto s = TRY(look(p)))
			sources.push_back(std::move(*s));
	if (::mount("bulkhead-root", kStaging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    "size=64k,nr_inodes=256,mode=0755") != 0)
		return Unexpected(os_error("mounting the root tmpfs", errno));
	for (const auto &s : sources)
		TRY(bind_read_only(s, root));

	// proc is mounted before the old root goes: a user namespace may only
	// mount proc while a full proc is visible (measured).
	const std::string proc = root + "/proc";
	if (::mkdir(proc.c_str(), 0555) != 0 && errno != EEXIST)
		return Unexpected(os_error("mkdir /proc", errno));
	if (::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
		return Unexpected(os_error("mounting proc", errno));

	if (::chdir(root.c_str()) != 0)
		return Unexpected(os_error("chdir to the new root", errno));
	// pivot_root(".", "."): the old root ends up on top, detached next.
	if (::syscall(SYS_pivot_root, ".", ".") != 0)
		return Unexpected(os_error("pivot_root", errno));
	if (::umount2(".", MNT_DETACH) != 0)
		return Unexpected(os_error("detaching the old root", errno));
	if (::chdir("/") != 0)
		return Unexpected(os_error("chdir /", errno));
	if (::mount(nullptr, "/", nullptr,
		    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
		return Unexpected(os_error("remounting the root read-only", errno));
	return {};
}

} // namespace bulkhead::sandbox::detail

// SPDX-License-Identifier: Apache-2.0
// Creating the channel's sealed memfds.
#include "shm_memory.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

namespace bulkhead::ipc {

Result<UniqueFd> create_region(const char *name, std::size_t bytes)
{
	UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd.valid())
		return Unexpected(errno_error("memfd_create", errno));
	if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
		return Unexpected(errno_error("ftruncate", errno));
	return fd;
}

Result<void> seal(int fd, int seals)
{
	if (::fcntl(fd, F_ADD_SEALS, seals) != 0)
		return Unexpected(errno_error("fcntl(F_ADD_SEALS)", errno));
	return {};
}

Result<UniqueFd> reopen_read_only(int fd)
{
	// A fresh open file description with O_RDONLY: mmap(PROT_WRITE,
	// MAP_SHARED) on it fails with EACCES. Re-opening it read-write via
	// /proc is closed by F_SEAL_FUTURE_WRITE on the region.
	auto path = fmt::format("/proc/self/fd/{}", fd);
	UniqueFd ro(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!ro.valid())
		return Unexpected(errno_error("open " + path, errno));
	return ro;
}

Result<UniqueFd> create_eventfd()
{
	UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!fd.valid())
		return Unexpected(errno_error("eventfd", errno));
	return fd;
}

Result<std::size_t> region_size(int fd)
{
	off_t end = ::lseek(fd, 0, SEEK_END);
	if (end < 0)
		return Unexpected(errno_error("lseek", errno));
	return static_cast<std::size_t>(end);
}

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// UniqueFd and Mapping: closing and unmapping.
#include <bulkhead/mapping.hpp>
#include <bulkhead/unique_fd.hpp>

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

namespace bulkhead {

void UniqueFd::reset(int fd)
{
	// close() is not retried on EINTR: on Linux the descriptor is gone either way.
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

Mapping &Mapping::operator=(Mapping &&other) noexcept
{
	if (this != &other) {
		if (data_)
			::munmap(data_, size_);
		data_ = std::exchange(other.data_, nullptr);
		size_ = std::exchange(other.size_, 0);
	}
	return *this;
}

Mapping::~Mapping()
{
	if (data_)
		::munmap(data_, size_);
}

Result<Mapping> Mapping::map(int fd, std::size_t size, Access access)
{
	int prot = access == Access::ReadWrite ? PROT_READ | PROT_WRITE : PROT_READ;
	void *p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return Unexpected(errno_error("mmap", errno));
	return Mapping(static_cast<std::byte *>(p), size);
}

} // namespace bulkhead

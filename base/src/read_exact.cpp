// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/read_exact.hpp>

#include <cerrno>
#include <string>
#include <unistd.h>

#include <bulkhead/error.hpp>

namespace bulkhead {

Result<Bytes> read_exact(int fd, std::size_t size, off_t offset, std::string_view what)
{
	Bytes bytes(size);
	for (std::size_t done = 0; done < size;) {
		const ssize_t n = ::pread(fd, bytes.data() + done, size - done,
					  offset + static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return Unexpected(errno_error("read " + std::string(what), n < 0 ? errno : EIO));
		done += static_cast<std::size_t>(n);
	}
	return bytes;
}

} // namespace bulkhead

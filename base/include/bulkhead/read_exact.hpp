// SPDX-License-Identifier: Apache-2.0
// read_exact: `size` bytes of a descriptor at `offset`, or an error; the
// one pread loop behind every "read this sealed memfd / file whole".
#pragma once

#include <cstddef>
#include <string_view>
#include <sys/types.h>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead {

// Retries EINTR; an end of file before `size` bytes is EIO. Errors read
// "read <what>: <reason>".
Result<Bytes> read_exact(int fd, std::size_t size, off_t offset, std::string_view what);

} // namespace bulkhead

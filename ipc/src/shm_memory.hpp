// SPDX-License-Identifier: Apache-2.0
// Helpers that create and seal the channel's memfds.
#pragma once

#include <cstddef>

#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::ipc {

Result<UniqueFd> create_region(const char *name, std::size_t bytes);
Result<void> seal(int fd, int seals);
Result<UniqueFd> reopen_read_only(int fd);
Result<UniqueFd> create_eventfd();
Result<std::size_t> region_size(int fd);

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench start`: from Host::load to the first answered call, with
// and without the sandbox, against a bare posix_spawn.
#pragma once

#include <span>

namespace bulkhead::tools {

int bench_start(std::span<char *const> args);

} // namespace bulkhead::tools

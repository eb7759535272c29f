// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench reload`: how fast a reload and a rollback swap, and how
// many calls fail while reloading.
#pragma once

#include <span>

namespace bulkhead::tools {

int bench_reload(std::span<char *const> args);

} // namespace bulkhead::tools

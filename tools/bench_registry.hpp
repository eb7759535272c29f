// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench registry`: extension lookup by name with concurrent readers.
#pragma once

#include <span>

namespace bulkhead::tools {

int bench_registry(std::span<char *const> args);

} // namespace bulkhead::tools

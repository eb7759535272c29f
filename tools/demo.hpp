// SPDX-License-Identifier: Apache-2.0
// `bulkhead demo`: the spine end to end, for a person to watch.
#pragma once

#include <span>

namespace bulkhead::tools {

int demo_main(std::span<char *const> args);

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench verify` and `bench discover`: the cost of trust.
#pragma once

#include <span>

namespace bulkhead::tools {

int bench_verify(std::span<char *const> args);
int bench_discover(std::span<char *const> args);

} // namespace bulkhead::tools

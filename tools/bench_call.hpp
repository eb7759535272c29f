// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench`: measures the call path against its baselines.
#pragma once

#include <span>

namespace bulkhead::tools {

// `bulkhead bench <suite> [options]`, given the arguments after "bench".
// Results go to stdout, logs to stderr. Returns the exit status: 0 when
// every figure was measured (met targets or not), 1 when one could not be,
// 2 for a usage error.
int bench_main(std::span<char *const> args);

} // namespace bulkhead::tools

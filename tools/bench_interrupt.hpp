// SPDX-License-Identifier: Apache-2.0
// Ctrl-C during a benchmark: the measurement stops at the next sample and
// unwinds, so the shim and every peer are stopped and reaped on that path too.
#pragma once

#include <bulkhead/result.hpp>

namespace bulkhead::tools {

// SIGINT and SIGTERM set a flag instead of killing the process; a second
// one kills it as usual.
void catch_interrupts();

// Fails with Unavailable once an interrupt has arrived.
Result<void> check_interrupt();

} // namespace bulkhead::tools

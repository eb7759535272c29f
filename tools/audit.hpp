// SPDX-License-Identifier: Apache-2.0
// `bulkhead audit`: checks and shows the tamper-evident audit log.
#pragma once

#include <span>

namespace bulkhead::tools {

// `bulkhead audit <verify|show> FILE [options]`, given the arguments after
// "audit". Exit status: 0 the chain is intact, 1 it is broken, 2 usage
// error, 3 the file could not be read.
int audit_main(std::span<char *const> args);

} // namespace bulkhead::tools

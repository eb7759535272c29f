// SPDX-License-Identifier: Apache-2.0
// bulkhead sandbox-report: load a plugin and print each sandbox layer.
#pragma once

#include <span>

namespace bulkhead::tools {

int sandbox_report_main(std::span<char *const> args);

} // namespace bulkhead::tools

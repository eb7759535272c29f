// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench wasm`: one compute plugin, native and WebAssembly.
#pragma once

#include <span>

namespace bulkhead::tools {

// Given the arguments after "bench wasm". Same exit statuses as bench_main.
int bench_wasm(std::span<char *const> args);

} // namespace bulkhead::tools

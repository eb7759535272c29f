// SPDX-License-Identifier: Apache-2.0
// The C glue compiled beside wasm2c's output: one exported table through
// which the shim drives the module, so the shim needs a single dlsym and
// no knowledge of wasm2c's name mangling or instance layout.
#pragma once

#include <cstddef>
#include <string>

namespace bulkhead::wasm {

// Raised whenever the glue or the table layout changes (part of the cache key).
inline constexpr unsigned kAotGlueVersion = 1;

// The glue for a module named `plugin` by wasm2c with `import_modules`
// distinct import modules; `metered` adds the fuel accessor, the has_
// flags the optional exports.
std::string aot_glue(std::size_t import_modules, bool metered, bool has_initialize, bool has_reset);

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// Where the command line finds the shim and the example plugins: the
// environment first, then the build tree it was built in, then the install.
#pragma once

#include <string>

namespace bulkhead::tools {

// $BULKHEAD_SHIM, else the build tree's shim, else "" (the Host's default).
std::string shim_path();
// $BULKHEAD_PLUGIN_DIR/bulkhead-plugin-<name>.so, else the build tree's,
// else the installed one.
std::string plugin_path(const std::string &name);
// $BULKHEAD_WASM_SHIM, else the build tree's wasm shim, else "".
std::string wasm_shim_path();
// bulkhead-plugin-<name>.wasm (and the native build of the same plugin,
// .so) from $BULKHEAD_WASM_PLUGIN_DIR, else the build tree, else installed.
std::string wasm_plugin_path(const std::string &name);
std::string wasm_native_plugin_path(const std::string &name);

} // namespace bulkhead::tools

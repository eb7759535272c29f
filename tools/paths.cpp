// SPDX-License-Identifier: Apache-2.0
// Locating the shim and the example plugins.
#include "paths.hpp"

#include <cstdlib>
#include <unistd.h>

#ifndef BULKHEAD_BUILD_SHIM
#define BULKHEAD_BUILD_SHIM ""
#endif
#ifndef BULKHEAD_BUILD_PLUGIN_DIR
#define BULKHEAD_BUILD_PLUGIN_DIR ""
#endif
#ifndef BULKHEAD_BUILD_WASM_SHIM
#define BULKHEAD_BUILD_WASM_SHIM ""
#endif
#ifndef BULKHEAD_BUILD_WASM_DIR
#define BULKHEAD_BUILD_WASM_DIR ""
#endif
#ifndef BULKHEAD_DEFAULT_PLUGIN_DIR
#define BULKHEAD_DEFAULT_PLUGIN_DIR "/usr/local/lib/bulkhead"
#endif

namespace bulkhead::tools {

namespace {

bool exists(const std::string &path) { return !path.empty() && ::access(path.c_str(), F_OK) == 0; }

} // namespace

std::string shim_path()
{
	if (const char *env = std::getenv("BULKHEAD_SHIM"); env && *env)
		return env;
	return exists(BULKHEAD_BUILD_SHIM) ? BULKHEAD_BUILD_SHIM : "";
}

std::string plugin_path(const std::string &name)
{
	const std::string file = "/bulkhead-plugin-" + name + ".so";
	if (const char *env = std::getenv("BULKHEAD_PLUGIN_DIR"); env && *env)
		return env + file;
	if (exists(BULKHEAD_BUILD_PLUGIN_DIR + file))
		return BULKHEAD_BUILD_PLUGIN_DIR + file;
	return BULKHEAD_DEFAULT_PLUGIN_DIR + file;
}

std::string wasm_shim_path()
{
	if (const char *env = std::getenv("BULKHEAD_WASM_SHIM"); env && *env)
		return env;
	return exists(BULKHEAD_BUILD_WASM_SHIM) ? BULKHEAD_BUILD_WASM_SHIM : "";
}

namespace {

std::string wasm_dir_file(const std::string &file)
{
	if (const char *env = std::getenv("BULKHEAD_WASM_PLUGIN_DIR"); env && *env)
		return env + file;
	if (exists(BULKHEAD_BUILD_WASM_DIR + file))
		return BULKHEAD_BUILD_WASM_DIR + file;
	return BULKHEAD_DEFAULT_PLUGIN_DIR + file;
}

} // namespace

std::string wasm_plugin_path(const std::string &name)
{
	return wasm_dir_file("/bulkhead-plugin-" + name + ".wasm");
}

std::string wasm_native_plugin_path(const std::string &name)
{
	return wasm_dir_file("/bulkhead-plugin-" + name + ".so");
}

} // namespace bulkhead::tools

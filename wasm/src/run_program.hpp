// SPDX-License-Identifier: Apache-2.0
// Running a build tool: posix_spawn with an argv array and a fixed small
// environment, never a shell; its output captured for error messages.
#pragma once

#include <string>
#include <vector>

#include <bulkhead/result.hpp>

namespace bulkhead::wasm {

struct ProgramResult {
	int status = 0;     // exit status, or 128 + signal
	std::string output; // stdout and stderr, the last 4 KiB
};

// Runs argv[0] (an absolute path) in `cwd`; fails only when it cannot start.
Result<ProgramResult> run_program(const std::vector<std::string> &argv, const std::string &cwd);

} // namespace bulkhead::wasm

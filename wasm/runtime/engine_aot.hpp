// SPDX-License-Identifier: Apache-2.0
// Tier A: the module the broker compiled with wasm2c, dlopened from a sealed
// memfd, driven through the glue's table (aot_module.h).
#pragma once

#include <memory>

#include "engine.hpp"

namespace bulkhead::wasm {

struct EngineLimits {
	std::uint64_t memory_cap_pages = 0;
	std::optional<std::uint64_t> fuel;
};

// `object_fd`: the compiled shared object (the shim's descriptor, kept open).
Result<std::unique_ptr<Engine>> create_aot_engine(int object_fd, const EngineLimits &limits);

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// Tier B: the wabt interpreter (libwabt.a), with exact instruction fuel and
// a deadline checked between slices of instructions.
#pragma once

#include <memory>

#include <bulkhead/bytes.hpp>

#include "engine_aot.hpp"

namespace bulkhead::wasm {

Result<std::unique_ptr<Engine>> create_interp_engine(ByteView module, const EngineLimits &limits);

} // namespace bulkhead::wasm

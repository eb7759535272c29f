// SPDX-License-Identifier: Apache-2.0
// The metering pass: rewrites a module so it counts its own fuel. A mutable
// i64 global, exported as __bulkhead_fuel, is charged at every function
// entry and loop header with the instructions of the straight-line code that
// follows (nested blocks and ifs included, loops charged at their own
// header); when it drops below zero the module executes `unreachable`. The
// host writes the budget into the global after instantiation and reads the
// remainder back.
#pragma once

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::wasm {

// InvalidArgument when libwabt cannot read, validate or write the module.
Result<Bytes> meter(ByteView module);

} // namespace bulkhead::wasm

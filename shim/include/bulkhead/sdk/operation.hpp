// SPDX-License-Identifier: Apache-2.0
// Custom operations for plugin authors: a plugin attached to a host
// operation (before / define / after, kernel ext/operations.hpp) receives
// an Invocation and answers bytes. In call():
//   auto inv = TRY(sdk::invocation(input));   // operation, input, output
//   return sdk::answer(transformed);          // the input or output to go on with
// Build against sdk_ext_dep.
#pragma once

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/types.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace bulkhead::sdk {

inline Result<ext::Invocation> invocation(ByteView input)
{
	return ext::codec::decode_invocation(input);
}

inline Bytes answer(ByteView bytes)
{
	return ext::codec::encode_blob(bytes);
}

} // namespace bulkhead::sdk

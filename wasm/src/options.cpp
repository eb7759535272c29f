// SPDX-License-Identifier: Apache-2.0
// Names of the wasm tiers, as the handshake and the shim's flags spell them.
#include <bulkhead/wasm/options.hpp>

namespace bulkhead::wasm {

std::string_view to_string(Tier tier)
{
	return tier == Tier::Aot ? "wasm-aot" : "wasm-interp";
}

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// Compression: the typed proxy of a compression plugin (sdk/compression.hpp).
#pragma once

#include <string>

#include <bulkhead/ext/proxy_base.hpp>

namespace bulkhead::ext {

class Compression : public ProxyBase {
public:
	using ProxyBase::ProxyBase;

	// "zstd", "lz4": the plugin's algorithm.
	Result<std::string> algorithm() const;
	Result<Bytes> compress(ByteView data) const;
	// PluginFailed naming the cause for bytes that are not the algorithm's.
	Result<Bytes> decompress(ByteView data) const;
	// PluginFailed naming the accepted range for a level outside it.
	Result<void> set_level(int level) const;
};

} // namespace bulkhead::ext

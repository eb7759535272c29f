// SPDX-License-Identifier: Apache-2.0
// Storage: the typed proxy of a storage plugin (sdk/storage.hpp implements
// the other side). Keys order bytewise. Errors are the call's: a crashed
// plugin gives PluginCrashed, a refusal PluginFailed with its message.
#pragma once

#include <optional>

#include <bulkhead/ext/proxy_base.hpp>
#include <bulkhead/ext/types.hpp>

namespace bulkhead::ext {

class Storage : public ProxyBase {
public:
	using ProxyBase::ProxyBase;

	Result<std::optional<Bytes>> get(ByteView key) const;
	Result<void> put(ByteView key, ByteView value) const;
	// Whether the key was there.
	Result<bool> remove(ByteView key) const;
	Result<ScanResult> scan(const KeyRange &range) const;
	Result<void> flush() const;
	Result<void> compact() const;
	Result<StorageStats> stats() const;
};

} // namespace bulkhead::ext

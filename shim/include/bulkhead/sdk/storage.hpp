// SPDX-License-Identifier: Apache-2.0
// The storage category for plugin authors: derive from StoragePlugin,
// implement the key-value methods, and list BULKHEAD_STORAGE_OPS:
//   BULKHEAD_PLUGIN(MyStore, "my-store", "1.0.0", BULKHEAD_STORAGE_OPS)
// Keys order bytewise. Build against sdk_ext_dep (it links the codec).
#pragma once

#include <optional>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>
#include <bulkhead/ext/types.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace bulkhead::sdk {

class StoragePlugin : public Plugin {
public:
	virtual Result<std::optional<Bytes>> get(ByteView key) = 0;
	virtual Result<void> put(ByteView key, ByteView value) = 0;
	// Whether the key was there.
	virtual Result<bool> remove(ByteView key) = 0;
	virtual Result<ext::ScanResult> scan(const ext::KeyRange &range) = 0;
	// Makes every write so far durable (as the backend understands it).
	virtual Result<void> flush() { return {}; }
	virtual Result<void> compact() { return {}; }
	virtual Result<ext::StorageStats> stats() = 0;

	// Decodes the category's messages and dispatches to the methods above.
	Result<Bytes> call(std::string_view op, ByteView input) final
	{
		namespace c = ext::codec;
		if (op == ext::op::kStorageGet) {
			auto key = TRY(c::decode_blob(input));
			auto v = TRY(get(key));
			return c::encode_found(v);
		}
		if (op == ext::op::kStoragePut) {
			auto kv = TRY(c::decode_key_value(input));
			TRY(put(kv.key, kv.value));
			return Bytes{};
		}
		if (op == ext::op::kStorageDelete) {
			auto key = TRY(c::decode_blob(input));
			return c::encode_flag(TRY(remove(key)));
		}
		if (op == ext::op::kStorageScan) {
			auto range = TRY(c::decode_range(input));
			return c::encode_entries(TRY(scan(range)));
		}
		if (op == ext::op::kStorageFlush) {
			TRY(flush());
			return Bytes{};
		}
		if (op == ext::op::kStorageCompact) {
			TRY(compact());
			return Bytes{};
		}
		if (op == ext::op::kStorageStats)
			return c::encode_stats(TRY(stats()));
		return fail(ErrorCode::NotFound, std::string("storage plugin has no operation ") + std::string(op));
	}
};

} // namespace bulkhead::sdk

// SPDX-License-Identifier: Apache-2.0
// The index category for plugin authors: derive from IndexPlugin and list
//   BULKHEAD_INDEX_OPS (and BULKHEAD_INDEX_NEAREST_OP if it has nearest)
// An index maps keys to values (row ids, usually); a vector index keeps a
// vector per key and answers nearest(). An index type without a distance
// leaves nearest() alone and does not list the operation: the host proxy
// then answers NotFound ("does not support nearest") without a call.
#pragma once

#include <optional>
#include <vector>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>
#include <bulkhead/ext/types.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace bulkhead::sdk {

class IndexPlugin : public Plugin {
public:
	// Replaces the whole index with `entries`.
	virtual Result<void> build(std::vector<ext::IndexEntry> entries) = 0;
	virtual Result<void> insert(ext::IndexEntry entry) = 0;
	virtual Result<bool> remove(ByteView key) = 0;
	virtual Result<std::optional<ext::IndexEntry>> lookup(ByteView key) = 0;
	virtual Result<std::vector<ext::IndexEntry>> range(const ext::KeyRange &range) = 0;
	// The k entries nearest `vector`, nearest first.
	virtual Result<std::vector<ext::Neighbor>> nearest(const std::vector<float> &vector, std::uint32_t k)
	{
		(void)vector;
		(void)k;
		return fail(ErrorCode::NotFound, "this index does not support nearest");
	}
	virtual Result<std::uint64_t> size() = 0;

	Result<Bytes> call(std::string_view op, ByteView input) final
	{
		namespace c = ext::codec;
		if (op == ext::op::kIndexBuild) {
			TRY(build(TRY(c::decode_index_entries(input))));
			return Bytes{};
		}
		if (op == ext::op::kIndexInsert) {
			TRY(insert(TRY(c::decode_index_entry(input))));
			return Bytes{};
		}
		if (op == ext::op::kIndexDelete) {
			auto key = TRY(c::decode_blob(input));
			return c::encode_flag(TRY(remove(key)));
		}
		if (op == ext::op::kIndexLookup) {
			auto key = TRY(c::decode_blob(input));
			auto e = TRY(lookup(key));
			std::vector<ext::IndexEntry> out;
			if (e)
				out.push_back(std::move(*e));
			return c::encode_index_entries(out);
		}
		if (op == ext::op::kIndexRange) {
			auto r = TRY(c::decode_range(input));
			return c::encode_index_entries(TRY(range(r)));
		}
		if (op == ext::op::kIndexNearest) {
			auto q = TRY(c::decode_nearest(input));
			return c::encode_neighbors(TRY(nearest(q.vector, q.k)));
		}
		if (op == ext::op::kIndexSize)
			return c::encode_number(static_cast<std::int64_t>(TRY(size())));
		return fail(ErrorCode::NotFound, std::string("index plugin has no operation ") + std::string(op));
	}
};

} // namespace bulkhead::sdk

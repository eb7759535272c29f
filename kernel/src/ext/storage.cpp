// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/storage.hpp>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>

#include <algorithm>

#include "answer.hpp"
#include "paging.hpp"

namespace bulkhead::ext {

namespace c = codec;
constexpr std::string_view kCategory = "storage";

Result<std::optional<Bytes>> Storage::get(ByteView key) const
{
	auto r = TRY(invoke(kCategory, op::kStorageGet, c::encode_blob(key)));
	return detail::answer(c::decode_found(r), endpoint(), op::kStorageGet);
}

Result<void> Storage::put(ByteView key, ByteView value) const
{
	TRY(invoke(kCategory, op::kStoragePut, c::encode_key_value(key, value)));
	return {};
}

Result<bool> Storage::remove(ByteView key) const
{
	auto r = TRY(invoke(kCategory, op::kStorageDelete, c::encode_blob(key)));
	return detail::answer(c::decode_flag(r), endpoint(), op::kStorageDelete);
}

Result<ScanResult> Storage::scan(const KeyRange &range) const
{
	// One answer must fit the channel: ask in pages, halving a page the
	// channel could not carry, until the range (or the limit) is done.
	ScanResult out;
	KeyRange page = range;
	std::uint32_t page_size = detail::kFirstPage;
	for (;;) {
		const std::uint32_t left = range.limit ? range.limit - static_cast<std::uint32_t>(out.entries.size()) : 0;
		page.limit = range.limit ? std::min(left, page_size) : page_size;
		auto r = invoke(kCategory, op::kStorageScan, c::encode_range(page));
		if (!r.has_value() && r.error().code == ErrorCode::ResourceExhausted && page_size > 1) {
			page_size /= 2;
			continue;
		}
		if (!r.has_value())
			return Unexpected(std::move(r).error());
		auto got = TRY(detail::answer(c::decode_entries(r.value()), endpoint(), op::kStorageScan));
		TRY(detail::check_page(got.entries, page, endpoint(), op::kStorageScan));
		const bool full = got.entries.size() == page.limit;
		for (auto &kv : got.entries)
			out.entries.push_back(std::move(kv));
		if (!got.more || !full) {
			out.more = got.more;
			return out;
		}
		if (range.limit && out.entries.size() >= range.limit) {
			out.more = true;
			return out;
		}
		page.start = detail::successor(out.entries.back().key);
	}
}

Result<void> Storage::flush() const
{
	TRY(invoke(kCategory, op::kStorageFlush, {}));
	return {};
}

Result<void> Storage::compact() const
{
	TRY(invoke(kCategory, op::kStorageCompact, {}));
	return {};
}

Result<StorageStats> Storage::stats() const
{
	auto r = TRY(invoke(kCategory, op::kStorageStats, {}));
	return detail::answer(c::decode_stats(r), endpoint(), op::kStorageStats);
}

} // namespace bulkhead::ext

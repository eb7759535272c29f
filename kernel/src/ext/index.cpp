// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/index.hpp>

#include <fmt/format.h>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>

#include <algorithm>

#include "answer.hpp"
#include "paging.hpp"

namespace bulkhead::ext {

namespace c = codec;
constexpr std::string_view kCategory = "index";

Result<void> Index::build(const std::vector<IndexEntry> &entries) const
{
	const Bytes all = c::encode_index_entries(entries);
	if (!endpoint() || all.size() <= endpoint()->max_payload()) {
		TRY(invoke(kCategory, op::kIndexBuild, all));
		return {};
	}
	// Too big for one message: an empty build, then one insert each.
	TRY(invoke(kCategory, op::kIndexBuild, c::encode_index_entries({})));
	for (const auto &e : entries)
		TRY(insert(e));
	return {};
}

Result<void> Index::insert(const IndexEntry &entry) const
{
	TRY(invoke(kCategory, op::kIndexInsert, c::encode_index_entry(entry)));
	return {};
}

Result<bool> Index::remove(ByteView key) const
{
	auto r = TRY(invoke(kCategory, op::kIndexDelete, c::encode_blob(key)));
	return detail::answer(c::decode_flag(r), endpoint(), op::kIndexDelete);
}

Result<std::optional<IndexEntry>> Index::lookup(ByteView key) const
{
	auto r = TRY(invoke(kCategory, op::kIndexLookup, c::encode_blob(key)));
	auto entries = TRY(detail::answer(c::decode_index_entries(r), endpoint(), op::kIndexLookup));
	if (entries.size() > 1)
		return make_error(ErrorCode::PluginFailed,
				  fmt::format("plugin {} answered one lookup with {} entries", endpoint()->name(),
					      entries.size()));
	if (entries.empty())
		return std::optional<IndexEntry>{};
	return std::optional<IndexEntry>(std::move(entries.front()));
}

Result<std::vector<IndexEntry>> Index::range(const KeyRange &range) const
{
	// Pages, as Storage::scan; a page shorter than asked is the last.
	std::vector<IndexEntry> out;
	KeyRange page = range;
	std::uint32_t page_size = detail::kFirstPage;
	for (;;) {
		const std::uint32_t left = range.limit ? range.limit - static_cast<std::uint32_t>(out.size()) : 0;
		page.limit = range.limit ? std::min(left, page_size) : page_size;
		auto r = invoke(kCategory, op::kIndexRange, c::encode_range(page));
		if (!r.has_value() && r.error().code == ErrorCode::ResourceExhausted && page_size > 1) {
			page_size /= 2;
			continue;
		}
		if (!r.has_value())
			return Unexpected(std::move(r).error());
		auto got = TRY(detail::answer(c::decode_index_entries(r.value()), endpoint(), op::kIndexRange));
		TRY(detail::check_page(got, page, endpoint(), op::kIndexRange));
		const bool full = got.size() == page.limit;
		for (auto &e : got)
			out.push_back(std::move(e));
		if (!full || (range.limit && out.size() >= range.limit))
			return out;
		page.start = detail::successor(out.back().key);
	}
}

bool Index::supports_nearest() const
{
	return endpoint() && endpoint()->has_operation(op::kIndexNearest);
}

Result<std::vector<Neighbor>> Index::nearest(const std::vector<float> &vector, std::uint32_t k) const
{
	if (!supports_nearest())
		return make_error(ErrorCode::NotFound,
				  fmt::format("index {} does not support nearest (k-NN): it does not list {}",
					      endpoint() ? endpoint()->name() : std::string("(none)"), op::kIndexNearest));
	auto r = TRY(invoke(kCategory, op::kIndexNearest, c::encode_nearest(vector, k)));
	auto n = TRY(detail::answer(c::decode_neighbors(r), endpoint(), op::kIndexNearest));
	if (n.size() > k)
		return make_error(ErrorCode::PluginFailed,
				  fmt::format("plugin {} answered nearest k={} with {} neighbours", endpoint()->name(),
					      k, n.size()));
	return n;
}

Result<std::uint64_t> Index::size() const
{
	auto r = TRY(invoke(kCategory, op::kIndexSize, {}));
	const auto n = TRY(detail::answer(c::decode_number(r), endpoint(), op::kIndexSize));
	if (n < 0)
		return make_error(ErrorCode::PluginFailed,
				  fmt::format("plugin {} answered size with {}", endpoint()->name(), n));
	return static_cast<std::uint64_t>(n);
}

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// Range answers in pages: one answer must fit the channel's largest
// message, so the proxies ask for a page at a time and go on from the key
// after the last one received. A plugin that answers more than a page, or
// keys out of order or outside the range, is wrong, not trusted.
#pragma once

#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/ext/types.hpp>

namespace bulkhead::ext::detail {

inline constexpr std::uint32_t kFirstPage = 1024;

// The smallest key greater than `key` (bytewise order): key + "\0".
inline Bytes successor(const Bytes &key)
{
	Bytes next = key;
	next.push_back(0);
	return next;
}

inline const Bytes &key_of(const KeyValue &kv) { return kv.key; }
inline const Bytes &key_of(const IndexEntry &e) { return e.key; }

template<typename Entry>
Result<void> check_page(const std::vector<Entry> &entries, const KeyRange &page,
			const std::shared_ptr<Endpoint> &endpoint, std::string_view op)
{
	auto wrong = [&](std::string_view what) -> Result<void> {
		return make_error(ErrorCode::PluginFailed, fmt::format("plugin {} answered {} with {}",
								       endpoint->name(), op, what));
	};
	if (entries.size() > page.limit)
		return wrong(fmt::format("{} entries for a page of {}", entries.size(), page.limit));
	for (std::size_t i = 0; i < entries.size(); ++i) {
		const Bytes &k = key_of(entries[i]);
		if (k < page.start || (page.end && !(k < *page.end)))
			return wrong("a key outside the range asked for");
		if (i > 0 && !(key_of(entries[i - 1]) < k))
			return wrong("keys out of order");
	}
	return {};
}

} // namespace bulkhead::ext::detail

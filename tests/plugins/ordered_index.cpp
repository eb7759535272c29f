// SPDX-License-Identifier: Apache-2.0
// An index with no distance, for the tests of "an index type may say it does
// not support nearest": an ordered map of key to entry that lists only
// BULKHEAD_INDEX_OPS, so index.nearest is not among its operations.
#include <map>

#include <bulkhead/sdk/index.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::Result;
namespace ext = bulkhead::ext;

class OrderedIndex final : public bulkhead::sdk::IndexPlugin {
public:
	Result<void> build(std::vector<ext::IndexEntry> entries) override
	{
		entries_.clear();
		for (auto &e : entries)
			entries_.insert_or_assign(e.key, std::move(e));
		return {};
	}

	Result<void> insert(ext::IndexEntry entry) override
	{
		entries_.insert_or_assign(entry.key, std::move(entry));
		return {};
	}

	Result<bool> remove(ByteView key) override
	{
		return entries_.erase(Bytes(key.begin(), key.end())) > 0;
	}

	Result<std::optional<ext::IndexEntry>> lookup(ByteView key) override
	{
		auto it = entries_.find(Bytes(key.begin(), key.end()));
		if (it == entries_.end())
			return std::optional<ext::IndexEntry>{};
		return std::optional<ext::IndexEntry>(it->second);
	}

	Result<std::vector<ext::IndexEntry>> range(const ext::KeyRange &range) override
	{
		std::vector<ext::IndexEntry> out;
		for (auto it = entries_.lower_bound(range.start); it != entries_.end(); ++it) {
			if ((range.end && !(it->first < *range.end)) ||
			    (range.limit != 0 && out.size() == range.limit))
				break;
			out.push_back(it->second);
		}
		return out;
	}

	Result<std::uint64_t> size() override { return entries_.size(); }

private:
	std::map<Bytes, ext::IndexEntry> entries_;
};

} // namespace

BULKHEAD_PLUGIN(OrderedIndex, "ordered-index", "1.0.0", BULKHEAD_INDEX_OPS)

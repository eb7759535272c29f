// SPDX-License-Identifier: Apache-2.0
// Index: the typed proxy of an index plugin (sdk/index.hpp). nearest() on an
// index type that does not list index.nearest fails with NotFound saying
// so, without a round trip.
#pragma once

#include <optional>
#include <vector>

#include <bulkhead/ext/proxy_base.hpp>
#include <bulkhead/ext/types.hpp>

namespace bulkhead::ext {

class Index : public ProxyBase {
public:
	using ProxyBase::ProxyBase;

	// Replaces the index with `entries`; too many for one message, they go
	// as an empty build and one insert each.
	Result<void> build(const std::vector<IndexEntry> &entries) const;
	Result<void> insert(const IndexEntry &entry) const;
	Result<bool> remove(ByteView key) const;
	Result<std::optional<IndexEntry>> lookup(ByteView key) const;
	Result<std::vector<IndexEntry>> range(const KeyRange &range) const;
	bool supports_nearest() const;
	Result<std::vector<Neighbor>> nearest(const std::vector<float> &vector, std::uint32_t k) const;
	Result<std::uint64_t> size() const;
};

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// Example vector index: exact k-nearest by Euclidean (L2) distance, brute
// force over every entry; nearest first, equal distances by key. Entries
// order by key (bytewise) for lookup and range. The first entry fixes the
// dimension until the next build(); a vector of another dimension, or one
// holding NaN or an infinity, is refused with InvalidArgument.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include <bulkhead/sdk/index.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::ErrorCode;
using bulkhead::Result;
using bulkhead::sdk::fail;
namespace ext = bulkhead::ext;

struct Point {
	Bytes value;
	std::vector<float> vector;
};

class VectorIndex final : public bulkhead::sdk::IndexPlugin {
public:
	Result<void> build(std::vector<ext::IndexEntry> entries) override
	{
		// Checked whole first: a refused build leaves the index as it was.
		std::optional<std::size_t> dimension;
		for (const auto &e : entries) {
			TRY(check(e.vector, dimension, "entry"));
			dimension = e.vector.size();
		}
		std::map<Bytes, Point> points;
		for (auto &e : entries) // a later entry of the same key wins, as insert
			points.insert_or_assign(std::move(e.key),
						Point{std::move(e.value), std::move(e.vector)});
		points_ = std::move(points);
		dimension_ = dimension;
		return {};
	}

	Result<void> insert(ext::IndexEntry entry) override
	{
		TRY(check(entry.vector, dimension_, "entry"));
		dimension_ = entry.vector.size();
		points_.insert_or_assign(std::move(entry.key),
					 Point{std::move(entry.value), std::move(entry.vector)});
		return {};
	}

	Result<bool> remove(ByteView key) override
	{
		return points_.erase(Bytes(key.begin(), key.end())) > 0;
	}

	Result<std::optional<ext::IndexEntry>> lookup(ByteView key) override
	{
		auto it = points_.find(Bytes(key.begin(), key.end()));
		if (it == points_.end())
			return std::optional<ext::IndexEntry>{};
		return std::optional<ext::IndexEntry>(
			ext::IndexEntry{it->first, it->second.value, it->second.vector});
	}

	Result<std::vector<ext::IndexEntry>> range(const ext::KeyRange &range) override
	{
		std::vector<ext::IndexEntry> out;
		for (auto it = points_.lower_bound(range.start); it != points_.end(); ++it) {
			if (range.end && !(it->first < *range.end))
				break;
			if (range.limit != 0 && out.size() == range.limit)
				break;
			out.push_back({it->first, it->second.value, it->second.vector});
		}
		return out;
	}

	Result<std::vector<ext::Neighbor>> nearest(const std::vector<float> &query,
						   std::uint32_t k) override
	{
		if (k == 0 || points_.empty())
			return std::vector<ext::Neighbor>{};
		TRY(check(query, dimension_, "query"));
		struct Scored {
			double distance2; // squared, in double: no float overflow
			const std::pair<const Bytes, Point> *point;
		};
		std::vector<Scored> scored;
		scored.reserve(points_.size());
		for (const auto &p : points_) {
			double sum = 0;
			for (std::size_t i = 0; i < query.size(); ++i) {
				const double d = double(p.second.vector[i]) - double(query[i]);
				sum += d * d;
			}
			scored.push_back({sum, &p});
		}
		const auto n = std::min<std::size_t>(k, scored.size());
		std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
				  [](const Scored &a, const Scored &b) {
					  if (a.distance2 != b.distance2)
						  return a.distance2 < b.distance2;
					  return a.point->first < b.point->first;
				  });
		std::vector<ext::Neighbor> out;
		out.reserve(n);
		for (std::size_t i = 0; i < n; ++i)
			out.push_back({scored[i].point->first, scored[i].point->second.value,
				       static_cast<float>(std::sqrt(scored[i].distance2))});
		return out;
	}

	Result<std::uint64_t> size() override { return points_.size(); }

private:
	// `what` ("entry", "query") names the vector in the error.
	static Result<void> check(const std::vector<float> &v,
				  const std::optional<std::size_t> &dimension, const char *what)
	{
		if (v.empty())
			return fail(ErrorCode::InvalidArgument,
				    std::string("vector index: the ") + what + " has no vector");
		if (dimension && v.size() != *dimension)
			return fail(ErrorCode::InvalidArgument,
				    std::string("vector index: the ") + what + " has dimension " +
					    std::to_string(v.size()) +
					    ", the index has dimension " +
					    std::to_string(*dimension));
		for (std::size_t i = 0; i < v.size(); ++i)
			if (!std::isfinite(v[i]))
				return fail(ErrorCode::InvalidArgument,
					    std::string("vector index: the ") + what +
						    "'s component " + std::to_string(i) + " is " +
						    (std::isnan(v[i]) ? "NaN" : "infinite"));
		return {};
	}

	std::map<Bytes, Point> points_;
	std::optional<std::size_t> dimension_; // none until the first entry
};

} // namespace

BULKHEAD_PLUGIN(VectorIndex, "vector-index", "1.0.0", BULKHEAD_INDEX_OPS, BULKHEAD_INDEX_NEAREST_OP)

// SPDX-License-Identifier: Apache-2.0
// Counting calls, and reading a shim's RSS and CPU time from /proc.
#include <bulkhead/metrics.hpp>

#include <bit>

namespace bulkhead {

std::chrono::nanoseconds latency_quantile(const LatencyHistogram &h, double q)
{
	std::uint64_t total = 0;
	for (auto n : h)
		total += n;
	if (total == 0)
		return std::chrono::nanoseconds(0);
	const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
	std::uint64_t seen = 0;
	for (std::size_t i = 0; i < h.size(); ++i) {
		seen += h[i];
		if (seen >= rank)
			return std::chrono::nanoseconds(std::int64_t{1} << std::min<std::size_t>(i + 1, 62));
	}
	return std::chrono::nanoseconds(std::int64_t{1} << 62);
}

namespace detail {

void CallCounters::record(const Error *error, std::chrono::nanoseconds took)
{
	calls_.fetch_add(1, std::memory_order_relaxed);
	if (error) {
		errors_.fetch_add(1, std::memory_order_relaxed);
		auto code = static_cast<std::size_t>(error->code);
		by_code_[code < kErrorCodeCount ? code : 0].fetch_add(1, std::memory_order_relaxed);
	}
	const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(took.count(), 1));
	const std::size_t bucket = std::min<std::size_t>(std::bit_width(ns) - 1, kLatencyBuckets - 1);
	latency_[bucket].fetch_add(1, std::memory_order_relaxed);
}

void CallCounters::fill(PluginMetrics &out) const
{
	out.calls = calls_.load(std::memory_order_relaxed);
	out.errors = errors_.load(std::memory_order_relaxed);
	out.reloads = reloads_.load(std::memory_order_relaxed);
	for (std::size_t i = 0; i < kErrorCodeCount; ++i)
		out.errors_by_code[i] = by_code_[i].load(std::memory_order_relaxed);
	for (std::size_t i = 0; i < kLatencyBuckets; ++i)
		out.latency[i] = latency_[i].load(std::memory_order_relaxed);
}

} // namespace detail

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// PluginMetrics: what the host measured about a plugin — never what the
// plugin reports about itself. Counted over the plugin's life, across
// restarts and reloads; process figures are the serving shim's.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <bulkhead/error.hpp>

namespace bulkhead {

// Call latency, as the caller saw it, in power-of-two buckets: bucket i
// holds calls that took [2^i, 2^(i+1)) ns (bucket 0 also holds < 1 ns,
// the last one everything longer).
inline constexpr std::size_t kLatencyBuckets = 40; // up to ~550 s
using LatencyHistogram = std::array<std::uint64_t, kLatencyBuckets>;

// An estimate of the q-quantile (0..1) from the histogram: the upper edge
// of the bucket it falls in, so never below the true value by more than 2x.
std::chrono::nanoseconds latency_quantile(const LatencyHistogram &h, double q);

inline constexpr std::size_t kErrorCodeCount = 12; // ErrorCode values 0..11

struct PluginMetrics {
	std::uint64_t calls = 0;  // answered, successfully or not
	std::uint64_t errors = 0;
	std::array<std::uint64_t, kErrorCodeCount> errors_by_code{}; // index: ErrorCode value
	LatencyHistogram latency{};
	std::uint64_t restarts = 0;
	std::uint64_t reloads = 0;
	// The serving shim's plugin process, from /proc; 0 when it is not
	// running. CPU time covers all of the plugin's processes, from its
	// cgroup v2 group where there is one (else /proc's tick samples).
	int pid = 0;
	std::uint64_t rss_bytes = 0;
	std::chrono::nanoseconds cpu_user{0};
	std::chrono::nanoseconds cpu_system{0};
	std::uint64_t ring_occupancy = 0; // requests queued, not yet taken
};

namespace detail {

// The counters behind PluginMetrics; lock-free, one per plugin.
class CallCounters {
public:
	void record(const Error *error, std::chrono::nanoseconds took);
	void add_reload() { reloads_.fetch_add(1, std::memory_order_relaxed); }
	void fill(PluginMetrics &out) const;

private:
	std::atomic<std::uint64_t> calls_{0}, errors_{0}, reloads_{0};
	std::array<std::atomic<std::uint64_t>, kErrorCodeCount> by_code_{};
	std::array<std::atomic<std::uint64_t>, kLatencyBuckets> latency_{};
};

} // namespace detail

} // namespace bulkhead

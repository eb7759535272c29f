// SPDX-License-Identifier: Apache-2.0
// Benchmark samples reduced to what the report prints: median, p99, count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace bulkhead::tools {

struct Summary {
	double median = 0;
	double p99 = 0;
	std::size_t samples = 0;
};

// One row of a suite's report.
struct Measurement {
	std::string name;
	std::string unit; // "ns" or "calls/s"
	Summary summary;
};

// Nearest-rank p99; the median averages the two middle samples of an even
// count. Sorts a copy: callers keep their raw samples.
inline Summary summarize(std::vector<double> samples)
{
	Summary s;
	s.samples = samples.size();
	if (samples.empty())
		return s;
	std::sort(samples.begin(), samples.end());
	const std::size_t n = samples.size();
	s.median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
	s.p99 = samples[std::clamp<std::size_t>(rank, 1, n) - 1];
	return s;
}

// A rate measured once over a whole run: median and p99 are that rate.
inline Summary single_rate(double per_second, std::size_t events)
{
	return Summary{per_second, per_second, events};
}

inline double elapsed_ns(std::chrono::steady_clock::time_point from,
			 std::chrono::steady_clock::time_point to)
{
	return static_cast<double>(
		std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

} // namespace bulkhead::tools

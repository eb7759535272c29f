// SPDX-License-Identifier: Apache-2.0
// Printing a suite's results: a table for people, one JSON object for tools.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bench_stats.hpp"

namespace bulkhead::tools {

// A goal stated on one figure or on a ratio of two medians.
struct Target {
	enum class Kind : std::uint8_t { AtMost, AtLeast, Context };
	std::string label;
	double value = 0;
	Kind kind = Kind::Context;
	double bound = 0;
	std::string unit; // appended to value and bound; empty for ratios

	bool met() const
	{
		return kind == Kind::AtMost ? value <= bound : kind == Kind::AtLeast ? value >= bound : true;
	}
};

// The results as an aligned table, then each target with met / not met.
void print_table(std::FILE *out, const std::vector<Measurement> &results,
		 const std::vector<Target> &targets);

// Only the targets, each with met / not met (print_table's second half).
void print_targets(std::FILE *out, const std::vector<Target> &targets);

// Exactly one JSON object:
// {"suite": ..., "results": [{"name", "unit", "median", "p99", "samples"}, ...]}
void print_json(std::FILE *out, std::string_view suite, const std::vector<Measurement> &results);

} // namespace bulkhead::tools

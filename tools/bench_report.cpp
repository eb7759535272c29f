// SPDX-License-Identifier: Apache-2.0
// The benchmark report: table and JSON.
#include "bench_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace bulkhead::tools {

namespace {

// Small figures keep their decimals (an in-process call is ~1 ns).
std::string number(double v)
{
	if (!std::isfinite(v))
		return "-";
	if (std::fabs(v) < 100)
		return fmt::format("{:.2f}", v);
	return fmt::format("{:.0f}", v);
}

std::string with_unit(double v, const std::string &unit)
{
	return unit.empty() ? number(v) : fmt::format("{} {}", number(v), unit);
}

// JSON has no NaN or infinity.
std::string json_number(double v)
{
	return std::isfinite(v) ? fmt::format("{:.2f}", v) : "null";
}

} // namespace

void print_table(std::FILE *out, const std::vector<Measurement> &results,
		 const std::vector<Target> &targets)
{
	std::size_t width = 16; // the name column fits the longest name
	for (const auto &m : results)
		width = std::max(width, m.name.size());
	fmt::print(out, "{:<{}} {:<8} {:>14} {:>14} {:>10}\n", "name", width, "unit", "median", "p99",
		   "samples");
	for (const auto &m : results)
		fmt::print(out, "{:<{}} {:<8} {:>14} {:>14} {:>10}\n", m.name, width, m.unit,
			   number(m.summary.median), number(m.summary.p99), m.summary.samples);
	if (targets.empty())
		return;
	fmt::print(out, "\n");
	print_targets(out, targets);
}

void print_targets(std::FILE *out, const std::vector<Target> &targets)
{
	fmt::print(out, "{:<32} {:>16}   {:<16} {}\n", "target (medians)", "value", "goal",
		   "verdict");
	for (const auto &t : targets) {
		std::string goal, verdict;
		switch (t.kind) {
		case Target::Kind::AtMost:
			goal = "<= " + with_unit(t.bound, t.unit);
			break;
		case Target::Kind::AtLeast:
			goal = ">= " + with_unit(t.bound, t.unit);
			break;
		case Target::Kind::Context:
			goal = "(no target)";
			break;
		}
		if (t.kind != Target::Kind::Context)
			verdict = t.met() ? "met" : "NOT MET";
		std::string line = fmt::format("{:<32} {:>16}   {:<16} {}", t.label,
					       with_unit(t.value, t.unit), goal, verdict);
		line.erase(line.find_last_not_of(' ') + 1);
		fmt::print(out, "{}\n", line);
	}
}

void print_json(std::FILE *out, std::string_view suite, const std::vector<Measurement> &results)
{
	// Names and units are fixed identifiers: nothing to escape.
	std::string body = fmt::format("{{\"suite\": \"{}\", \"results\": [", suite);
	for (std::size_t i = 0; i < results.size(); ++i) {
		const auto &m = results[i];
		body += fmt::format("{}{{\"name\": \"{}\", \"unit\": \"{}\", \"median\": {}, "
				    "\"p99\": {}, \"samples\": {}}}",
				    i ? ", " : "", m.name, m.unit, json_number(m.summary.median),
				    json_number(m.summary.p99), m.summary.samples);
	}
	body += "]}\n";
	fmt::print(out, "{}", body);
	std::fflush(out);
}

} // namespace bulkhead::tools

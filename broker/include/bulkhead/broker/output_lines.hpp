// SPDX-License-Identifier: Apache-2.0
// OutputLines: turns a plugin's raw stdout/stderr bytes into log lines for
// the host's logger — line-buffered, long lines cut into pieces (never
// lost, never fatal), and rate-limited by a token bucket so a chatty plugin
// cannot flood the host; what the limit drops is counted and reported.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bulkhead::broker {

struct OutputLimits {
	std::size_t max_line = 4096;     // longer lines arrive in pieces of this size
	double lines_per_second = 200;   // sustained
	double burst = 1000;             // lines allowed at once
};

class OutputLines {
public:
	using Clock = std::chrono::steady_clock;
	// `emit` gets each line without its newline; `continued` marks a piece
	// of a longer line that goes on in the next call.
	using Emit = std::function<void(std::string_view line, bool continued)>;

	OutputLines(OutputLimits limits, Emit emit);

	// Feeds bytes as they were read; emits every complete line.
	void feed(std::string_view bytes, Clock::time_point now = Clock::now());
	// The stream ended: emits what is left, and the count of lines dropped.
	void finish(Clock::time_point now = Clock::now());

	std::uint64_t dropped() const { return dropped_total_; }

private:
	void line(std::string_view text, bool continued, Clock::time_point now);
	bool take_token(Clock::time_point now);
	void report_dropped();

	OutputLimits limits_;
	Emit emit_;
	std::string partial_;
	bool continuing_ = false; // the last piece emitted was cut, not ended
	double tokens_;
	Clock::time_point refilled_;
	std::uint64_t dropped_ = 0;       // since the last report
	std::uint64_t dropped_total_ = 0;
};

} // namespace bulkhead::broker

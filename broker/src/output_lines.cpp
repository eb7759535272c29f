// SPDX-License-Identifier: Apache-2.0
// Splitting and rate-limiting plugin output.
#include <bulkhead/broker/output_lines.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace bulkhead::broker {

OutputLines::OutputLines(OutputLimits limits, Emit emit)
	: limits_(limits), emit_(std::move(emit)), tokens_(limits.burst), refilled_(Clock::now())
{
	limits_.max_line = std::max<std::size_t>(limits_.max_line, 16);
}

void OutputLines::feed(std::string_view bytes, Clock::time_point now)
{
	while (!bytes.empty()) {
		auto nl = bytes.find('\n');
		std::string_view chunk = bytes.substr(0, nl);
		partial_.append(chunk);
		bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
		// A line longer than the limit goes out in pieces as it comes.
		while (partial_.size() >= limits_.max_line &&
		       (nl == std::string_view::npos || partial_.size() > limits_.max_line)) {
			line(std::string_view(partial_).substr(0, limits_.max_line), true, now);
			partial_.erase(0, limits_.max_line);
			continuing_ = true;
		}
		if (nl != std::string_view::npos) {
			// The newline right after a cut piece ends that line.
			if (!partial_.empty() || !continuing_)
				line(partial_, false, now);
			partial_.clear();
			continuing_ = false;
		}
	}
}

void OutputLines::finish(Clock::time_point now)
{
	if (!partial_.empty()) {
		line(partial_, false, now);
		partial_.clear();
	}
	report_dropped();
}

void OutputLines::line(std::string_view text, bool continued, Clock::time_point now)
{
	if (!take_token(now)) {
		++dropped_;
		++dropped_total_;
		return;
	}
	report_dropped();
	if (!text.empty() && text.back() == '\r')
		text.remove_suffix(1);
	emit_(text, continued);
}

bool OutputLines::take_token(Clock::time_point now)
{
	const double elapsed = std::chrono::duration<double>(now - refilled_).count();
	if (elapsed > 0) {
		tokens_ = std::min(limits_.burst, tokens_ + elapsed * limits_.lines_per_second);
		refilled_ = now;
	}
	if (tokens_ < 1)
		return false;
	tokens_ -= 1;
	return true;
}

void OutputLines::report_dropped()
{
	if (dropped_ == 0)
		return;
	const std::string notice = fmt::format("[{} line(s) of output dropped: over {} lines/s]", dropped_,
					       limits_.lines_per_second);
	dropped_ = 0;
	emit_(notice, false);
}

} // namespace bulkhead::broker

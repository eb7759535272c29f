// SPDX-License-Identifier: Apache-2.0
// OutputLines: plugin output becomes whole log lines; long lines arrive in
// pieces, nothing is lost below the rate limit, and what the limit drops is
// counted and reported.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <bulkhead/broker/output_lines.hpp>

using bulkhead::broker::OutputLimits;
using bulkhead::broker::OutputLines;
using namespace std::chrono_literals;

namespace {

struct Sink {
	std::vector<std::string> lines;
	std::vector<bool> continued;
	OutputLines::Emit emit()
	{
		return [this](std::string_view l, bool c) {
			lines.emplace_back(l);
			continued.push_back(c);
		};
	}
};

} // namespace

TEST_CASE("bytes_become_whole_lines_however_they_are_split")
{
	Sink sink;
	OutputLines out(OutputLimits{}, sink.emit());
	const auto t = OutputLines::Clock::now();
	out.feed("hel", t);
	out.feed("lo\nwor", t);
	out.feed("ld\r\n\nlast", t);
	CHECK(sink.lines == std::vector<std::string>{"hello", "world", ""});
	out.finish(t);
	CHECK(sink.lines.back() == "last");
	CHECK(out.dropped() == 0);
}

TEST_CASE("a_long_line_arrives_in_pieces_and_nothing_is_lost")
{
	Sink sink;
	OutputLimits limits;
	limits.max_line = 100;
	OutputLines out(limits, sink.emit());
	const std::string big(250, 'x');
	out.feed(big + "\n" + std::string(100, 'y') + "\n");
	REQUIRE(sink.lines.size() == 4);
	CHECK(sink.lines[0].size() == 100);
	CHECK(sink.continued[0]);
	CHECK(sink.lines[1].size() == 100);
	CHECK(sink.lines[2].size() == 50);
	CHECK_FALSE(sink.continued[2]);
	CHECK(sink.lines[3] == std::string(100, 'y'));
	std::string joined = sink.lines[0] + sink.lines[1] + sink.lines[2];
	CHECK(joined == big);
}

TEST_CASE("a_chatty_plugin_is_rate_limited_and_the_drop_is_reported")
{
	Sink sink;
	OutputLimits limits;
	limits.lines_per_second = 10;
	limits.burst = 5;
	OutputLines out(limits, sink.emit());
	const auto t = OutputLines::Clock::now();
	for (int i = 0; i < 100; ++i)
		out.feed("spam\n", t);
	CHECK(sink.lines.size() == 5);
	CHECK(out.dropped() == 95);
	// A second later the bucket has refilled: the next line comes after
	// a notice of what was dropped.
	out.feed("after\n", t + 1s);
	REQUIRE(sink.lines.size() == 7);
	CHECK(sink.lines[5].find("95 line(s) of output dropped") != std::string::npos);
	CHECK(sink.lines[6] == "after");
}

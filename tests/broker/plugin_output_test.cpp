// SPDX-License-Identifier: Apache-2.0
// A plugin's stdout, stderr and SDK log calls reach the host's logger as
// whole lines tagged with plugin and instance, with real shims: long lines
// arrive whole in pieces, floods are cut to the rate and counted, terminal
// escapes are defused, and a crashing plugin's last words are not lost.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <mutex>
#include <vector>

#include <bulkhead/log.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

struct Logged {
	log::Level level;
	std::string line;
};

// Captures the host's log for the test's lifetime.
class Capture {
public:
	Capture()
	{
		log::set_sink([this](log::Level level, std::string_view line) {
			std::lock_guard lock(mutex_);
			lines_.push_back({level, std::string(line)});
		});
	}
	~Capture() { log::set_sink({}); }

	// Lines that start with `prefix`, with the prefix removed.
	std::vector<Logged> starting(const std::string &prefix) const
	{
		std::lock_guard lock(mutex_);
		std::vector<Logged> out;
		for (const auto &l : lines_)
			if (l.line.starts_with(prefix))
				out.push_back({l.level, l.line.substr(prefix.size())});
		return out;
	}
	bool has(const std::string &line) const
	{
		std::lock_guard lock(mutex_);
		for (const auto &l : lines_)
			if (l.line == line)
				return true;
		return false;
	}

private:
	mutable std::mutex mutex_;
	std::vector<Logged> lines_;
};

std::string tag(const Plugin &p)
{
	return fmt::format("plugin chatty#{}: ", p.info().instance);
}

void call(const Plugin &p, const char *op, std::string_view input = {})
{
	auto r = p.call(op, as_bytes(input), Deadline::after(10s));
	REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
}

} // namespace

TEST_CASE("stdout_stderr_and_sdk_log_lines_reach_the_host_log_tagged_with_plugin_and_instance")
{
	Capture capture;
	auto host = Host::create(test::options()).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	call(chatty, "stdout", "to stdout");
	call(chatty, "stderr", "to stderr");
	call(chatty, "log_error", "through the SDK");
	CHECK(test::eventually([&] { return capture.has(t + "through the SDK"); }));
	CHECK(capture.has(t + "to stdout"));
	CHECK(capture.has(t + "to stderr"));
	for (const auto &l : capture.starting(t)) {
		CAPTURE(l.line);
		// The SDK's level is the log level; raw output is info.
		CHECK(l.level == (l.line == "through the SDK" ? log::Level::Error : log::Level::Info));
	}
}

TEST_CASE("a_line_is_logged_once_it_ends_and_an_unended_one_when_the_plugin_stops")
{
	Capture capture;
	auto host = Host::create(test::options()).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	call(chatty, "stdout_unended", "half ");
	call(chatty, "stdout", "a line");
	CHECK(test::eventually([&] { return capture.has(t + "half a line"); }));
	call(chatty, "stdout_unended", "never ended");
	host->unload(chatty);
	// The pipe is read to its end before the exit is recorded.
	CHECK(chatty.wait_exit(10s));
	CHECK(capture.has(t + "never ended"));
}

TEST_CASE("a_long_line_arrives_whole_in_pieces_and_the_plugin_carries_on")
{
	Capture capture;
	HostOptions o = test::options();
	o.plugin_output.max_line = 1000;
	auto host = Host::create(o).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	call(chatty, "long", "100000");
	call(chatty, "stdout", "after the long line");
	REQUIRE(test::eventually([&] { return capture.has(t + "after the long line"); }));
	std::string joined;
	std::size_t pieces = 0;
	for (const auto &l : capture.starting(t)) {
		if (l.line == "after the long line")
			continue;
		++pieces;
		std::string_view piece = l.line;
		if (piece.ends_with(" [continues]"))
			piece.remove_suffix(12);
		joined += piece;
	}
	CHECK(pieces == 100);
	REQUIRE(joined.size() == 100000);
	for (std::size_t i = 0; i < joined.size(); ++i)
		if (joined[i] != static_cast<char>('a' + i % 26))
			FAIL("the long line differs at byte " << i);
	CHECK(chatty.alive());
}

TEST_CASE("a_flood_is_cut_to_the_rate_and_what_was_dropped_is_counted")
{
	Capture capture;
	HostOptions o = test::options();
	o.plugin_output.lines_per_second = 10;
	o.plugin_output.burst = 50;
	auto host = Host::create(o).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	call(chatty, "flood", "20000");
	host->unload(chatty);
	REQUIRE(chatty.wait_exit(10s));
	std::size_t flood = 0, notices = 0;
	for (const auto &l : capture.starting(t)) {
		if (l.line.starts_with("flood line "))
			++flood;
		else if (l.line.find("dropped") != std::string::npos)
			++notices;
	}
	// The burst and what the rate refilled meanwhile; never the flood.
	CHECK(flood >= 50);
	CHECK(flood < 20000);
	CHECK(notices >= 1);
	CHECK(capture.has(t + "flood line 0"));
}

TEST_CASE("terminal_control_characters_never_reach_the_host_log")
{
	Capture capture;
	auto host = Host::create(test::options()).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	call(chatty, "stdout", "\x1b[2J\x1b]0;owned\x07 cleared\rover");
	CHECK(test::eventually([&] { return capture.has(t + "?[2J?]0;owned? cleared?over"); }));
}

TEST_CASE("a_crashing_plugins_last_words_are_logged_before_its_end_is_recorded")
{
	Capture capture;
	auto host = Host::create(test::options()).value();
	auto chatty = host->load(test::plugin("chatty")).value();
	const std::string t = tag(chatty);
	auto r = chatty.call("last_words", as_bytes("goodbye"), Deadline::after(10s));
	CHECK_FALSE(r.has_value());
	REQUIRE(chatty.wait_exit(10s));
	CHECK(capture.has(t + "goodbye"));
}

TEST_CASE("output_pipes_are_closed_with_their_plugins")
{
	const int before = test::open_fds();
	{
		Capture capture;
		auto host = Host::create(test::options()).value();
		for (int i = 0; i < 3; ++i) {
			auto chatty = host->load(test::plugin("chatty")).value();
			call(chatty, "stderr", "hello");
			host->unload(chatty);
			REQUIRE(chatty.wait_exit(10s));
		}
	}
	CHECK(test::open_fds() == before);
	CHECK(test::no_children());
}

// SPDX-License-Identifier: Apache-2.0
// The process-wide log sink.
#include <bulkhead/log.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace bulkhead::log {

namespace {

std::mutex sink_mutex;
Sink sink;
std::atomic<Level> min_level{Level::Info};

const char *prefix(Level level)
{
	switch (level) {
	case Level::Debug: return "debug";
	case Level::Info: return "info";
	case Level::Warning: return "warning";
	case Level::Error: return "error";
	}
	return "?";
}

} // namespace

void set_sink(Sink s)
{
	std::lock_guard lock(sink_mutex);
	sink = std::move(s);
}

void set_min_level(Level level) { min_level.store(level, std::memory_order_relaxed); }

bool enabled(Level level) { return level >= min_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view line)
{
	std::lock_guard lock(sink_mutex);
	if (sink) {
		sink(level, line);
		return;
	}
	std::fprintf(stderr, "bulkhead %s: %.*s\n", prefix(level),
		     static_cast<int>(line.size()), line.data());
}

} // namespace bulkhead::log

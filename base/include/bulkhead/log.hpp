// SPDX-License-Identifier: Apache-2.0
// Logging through fmt. The host may install its own sink; the default writes
// one line per record to stderr.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include <fmt/format.h>

namespace bulkhead::log {

enum class Level : std::uint8_t { Debug, Info, Warning, Error };

using Sink = std::function<void(Level, std::string_view)>;

// Replaces the sink for the whole process; thread-safe. An empty sink
// restores the default.
void set_sink(Sink sink);
void set_min_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view line);

template<typename... Args>
void debug(fmt::format_string<Args...> f, Args &&...args)
{
	if (enabled(Level::Debug))
		write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void info(fmt::format_string<Args...> f, Args &&...args)
{
	if (enabled(Level::Info))
		write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void warning(fmt::format_string<Args...> f, Args &&...args)
{
	if (enabled(Level::Warning))
		write(Level::Warning, fmt::format(f, std::forward<Args>(args)...));
}
template<typename... Args>
void error(fmt::format_string<Args...> f, Args &&...args)
{
	if (enabled(Level::Error))
		write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace bulkhead::log

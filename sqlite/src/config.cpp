// SPDX-License-Identifier: Apache-2.0
// HostOptions from BULKHEAD_* environment variables.
#include "config.hpp"

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

#include <fmt/format.h>

// The build tree's shims, used when no variable names one and they exist:
// `.load build/sqlite/bulkhead_sqlite` works from a fresh build.
#ifndef BULKHEAD_BUILD_SHIM
#define BULKHEAD_BUILD_SHIM ""
#endif
#ifndef BULKHEAD_BUILD_WASM_SHIM
#define BULKHEAD_BUILD_WASM_SHIM ""
#endif

namespace bulkhead::sqlite {

namespace {

constexpr std::uint32_t kCells = 8;
constexpr std::uint32_t kCellBytes = 1u << 20;

std::string_view env(const char *name)
{
	const char *v = std::getenv(name);
	return v ? std::string_view(v) : std::string_view();
}

bool exists(const char *path)
{
	return *path && ::access(path, X_OK) == 0;
}

Unexpected<Error> bad(const char *name, std::string_view value, std::string_view expected)
{
	return make_error(ErrorCode::FailedPrecondition,
			  fmt::format("{}='{}': expected {}", name, value, expected));
}

Result<bool> flag(const char *name, bool fallback)
{
	const auto v = env(name);
	if (v.empty())
		return fallback;
	if (v == "1" || v == "yes" || v == "true" || v == "on")
		return true;
	if (v == "0" || v == "no" || v == "false" || v == "off")
		return false;
	return bad(name, v, "1 or 0");
}

// A non-negative number, or `fallback` when unset.
template<typename T> Result<T> number(const char *name, T fallback, std::string_view what)
{
	const auto v = env(name);
	if (v.empty())
		return fallback;
	T n = 0;
	const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
	if (ec != std::errc() || end != v.data() + v.size() || n < 0)
		return bad(name, v, what);
	return n;
}

Result<std::chrono::milliseconds> millis(const char *name, std::chrono::milliseconds fallback)
{
	return std::chrono::milliseconds(
		TRY(number<std::int64_t>(name, fallback.count(), "a number of milliseconds")));
}

// Each ':'-separated, non-empty element of a variable.
template<typename F> Result<void> each_path(const char *name, F &&f)
{
	std::string_view rest = env(name);
	while (!rest.empty()) {
		const auto colon = rest.find(':');
		const auto item = rest.substr(0, colon);
		if (!item.empty())
			TRY(f(std::string(item)));
		rest = colon == std::string_view::npos ? std::string_view()
						       : rest.substr(colon + 1);
	}
	return {};
}

Result<log::Level> log_level(log::Level fallback)
{
	const auto v = env("BULKHEAD_LOG_LEVEL");
	if (v.empty())
		return fallback;
	if (v == "debug")
		return log::Level::Debug;
	if (v == "info")
		return log::Level::Info;
	if (v == "warning")
		return log::Level::Warning;
	if (v == "error")
		return log::Level::Error;
	return bad("BULKHEAD_LOG_LEVEL", v, "debug, info, warning or error");
}

} // namespace

Result<Config> config_from_environment()
{
	Config c;
	HostOptions &o = c.host;
	// Empty shim paths make the Host fall back to $BULKHEAD_SHIM and
	// $BULKHEAD_WASM_SHIM, then to the installed ones.
	if (env("BULKHEAD_SHIM").empty() && exists(BULKHEAD_BUILD_SHIM))
		o.shim_path = BULKHEAD_BUILD_SHIM;
	if (env("BULKHEAD_WASM_SHIM").empty() && exists(BULKHEAD_BUILD_WASM_SHIM))
		o.wasm_shim_path = BULKHEAD_BUILD_WASM_SHIM;
	o.plugin_root = std::string(env("BULKHEAD_PLUGIN_ROOT"));
	o.audit_log = std::string(env("BULKHEAD_AUDIT_LOG"));
	o.development_mode = TRY(flag("BULKHEAD_DEVELOPMENT", false));
	TRY(each_path("BULKHEAD_TRUST",
		      [&](const std::string &file) { return o.trust.add_file(file); }));
	TRY(each_path("BULKHEAD_REVOCATIONS",
		      [&](const std::string &file) { return o.trust.add_revocations_file(file); }));
	// Rows carry larger values than the Host's default 4 KiB cells take:
	// 1 MiB cells (the most a channel has), 8 calls in flight; the memory
	// is only touched as far as payloads reach.
	o.geometry.cells = TRY(
		number<std::uint32_t>("BULKHEAD_CELLS", kCells, "a power of two from 2 to 4096"));
	o.geometry.cell_bytes = TRY(number<std::uint32_t>("BULKHEAD_CELL_BYTES", kCellBytes,
							  "a multiple of 64 from 128 to 1048576"));
	o.default_call_deadline = TRY(millis("BULKHEAD_CALL_DEADLINE_MS", o.default_call_deadline));
	if (o.default_call_deadline.count() == 0)
		return bad("BULKHEAD_CALL_DEADLINE_MS", "0", "more than 0 milliseconds");
	o.restart.enabled = TRY(flag("BULKHEAD_RESTART", o.restart.enabled));
	o.restart.initial_backoff =
		TRY(millis("BULKHEAD_RESTART_BACKOFF_MS", o.restart.initial_backoff));
	o.restart.max_backoff = std::max(o.restart.max_backoff, o.restart.initial_backoff);
	c.log_level = TRY(log_level(c.log_level));
	return c;
}

} // namespace bulkhead::sqlite

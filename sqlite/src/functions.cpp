// SPDX-License-Identifier: Apache-2.0
// The SQL functions' bodies: each reads its arguments, calls the session or
// a plugin, and sets its result; errors are returned to the trampoline.
#include "functions.hpp"

SQLITE_EXTENSION_INIT3

#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace bulkhead::sqlite {

namespace {

using namespace std::chrono_literals;

// How long bulkhead_kill waits for the shim to be reaped: only ends a hang.
constexpr auto kReapTimeout = 10s;
constexpr std::int64_t kDefaultWaitMs = 10'000;
constexpr auto kWaitPoll = 5ms;

Result<std::shared_ptr<const Loaded>> plugin_arg(Session &session, const Args &args)
{
	return session.find(TRY(args.text(0, "name")));
}

Result<void> load(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto path = TRY(args.text(0, "path"));
	std::optional<std::string> alias;
	if (args.size() > 1)
		alias = TRY(args.text(1, "name"));
	result_text(ctx, TRY(session.load(path, std::move(alias))));
	return {};
}

Result<void> unload(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto name = TRY(args.text(0, "name"));
	TRY(session.unload(name));
	result_text(ctx, name);
	return {};
}

Result<void> call(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	auto op = TRY(args.text(1, "op"));
	auto data = TRY(args.data(2, "data"));
	if (!data) {
		sqlite3_result_null(ctx);
		return {};
	}
	result_blob(ctx, TRY(loaded->plugin.call(op, *data)));
	return {};
}

Result<void> compress(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	auto data = TRY(args.data(1, "data"));
	if (!data) {
		sqlite3_result_null(ctx);
		return {};
	}
	result_blob(ctx, TRY(loaded->compression.compress(*data)));
	return {};
}

Result<void> decompress(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	auto data = TRY(args.data(1, "data"));
	if (!data) {
		sqlite3_result_null(ctx);
		return {};
	}
	result_blob(ctx, TRY(loaded->compression.decompress(*data)));
	return {};
}

Result<void> algorithm(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	result_text(ctx, TRY(loaded->compression.algorithm()));
	return {};
}

Result<void> set_level(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	const auto level = TRY(args.integer(1, "level"));
	if (level < INT32_MIN || level > INT32_MAX)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("level {} is out of range", level));
	TRY(loaded->compression.set_level(static_cast<int>(level)));
	sqlite3_result_int64(ctx, level);
	return {};
}

Result<void> kill(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	const PluginInfo info = loaded->plugin.info();
	if (!info.alive) {
		sqlite3_result_null(ctx);
		return {};
	}
	loaded->plugin.kill();
	// Reaped before the next statement runs: its call sees the death.
	if (!loaded->plugin.wait_exit(kReapTimeout))
		return make_error(
			ErrorCode::DeadlineExceeded,
			fmt::format(
				"plugin {} (pid {}) was sent SIGKILL but not reaped within {} s",
				loaded->name, info.pid, kReapTimeout.count()));
	sqlite3_result_int64(ctx, info.pid);
	return {};
}

Result<void> wait_ready(Session &session, const Args &args, sqlite3_context *ctx)
{
	auto loaded = TRY(plugin_arg(session, args));
	const auto ms = args.size() > 1 ? TRY(args.integer(1, "timeout_ms")) : kDefaultWaitMs;
	if (ms < 0)
		return make_error(ErrorCode::InvalidArgument, "timeout_ms cannot be negative");
	const auto until = Clock::now() + std::chrono::milliseconds(ms);
	for (;;) {
		const PluginInfo info = loaded->plugin.info();
		if (info.state == PluginState::Ready && info.alive) {
			sqlite3_result_int(ctx, 1);
			return {};
		}
		const bool restarts = session.options().restart.enabled;
		if (info.state == PluginState::Quarantined || info.state == PluginState::Stopped ||
		    info.state == PluginState::Draining ||
		    (info.state == PluginState::Crashed && !restarts)) {
			Error e(ErrorCode::Unavailable,
				fmt::format(
					"plugin {} is {}{}: it will not become ready without a "
					"reload",
					loaded->name, to_string(info.state),
					restarts ? ""
						 : " and restarts are off (BULKHEAD_RESTART=0)"));
			e.plugin = info.name;
			e.instance = info.instance;
			return Unexpected(std::move(e));
		}
		if (Clock::now() >= until)
			break;
		std::this_thread::sleep_for(kWaitPoll);
	}
	sqlite3_result_int(ctx, 0);
	return {};
}

Result<void> plugins(Session &session, const Args &, sqlite3_context *ctx)
{
	result_text(ctx, plugins_json(session));
	return {};
}

constexpr int kDirect = SQLITE_UTF8 | SQLITE_DIRECTONLY;
constexpr int kAnywhere = SQLITE_UTF8;

constexpr Function kFunctions[] = {
	{"bulkhead_load", "path [, name]", 1, 2, kDirect, load},
	{"bulkhead_unload", "name", 1, 1, kDirect, unload},
	{"bulkhead_call", "name, op, data", 3, 3, kDirect, call},
	{"bulkhead_compress", "name, data", 2, 2, kAnywhere, compress},
	{"bulkhead_decompress", "name, data", 2, 2, kAnywhere, decompress},
	{"bulkhead_algorithm", "name", 1, 1, kAnywhere, algorithm},
	{"bulkhead_set_level", "name, level", 2, 2, kDirect, set_level},
	{"bulkhead_kill", "name", 1, 1, kDirect, kill},
	{"bulkhead_wait_ready", "name [, timeout_ms]", 1, 2, kDirect, wait_ready},
	{"bulkhead_plugins", "", 0, 0, kAnywhere, plugins},
};

} // namespace

std::span<const Function> functions()
{
	return kFunctions;
}

} // namespace bulkhead::sqlite

// SPDX-License-Identifier: Apache-2.0
// Benchmarks of starting a plugin: what the sandbox adds to a load.
#include "bench_start.hpp"

#include <cerrno>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

#include <fmt/format.h>

#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "args.hpp"
#include "bench_report.hpp"
#include "bench_stats.hpp"
#include "paths.hpp"

extern char **environ;

namespace bulkhead::tools {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char *kTrivialBinary = "/bin/true";
// After each start, for the spare it leads to (a spawn, exec and link:
// 3-5 ms here) to be ready before the next start is timed.
constexpr auto kSettle = 20ms;

constexpr std::string_view kStartUsage = R"(Usage: bulkhead bench start [--json] [--quick] [--samples N]

Starts the echo plugin in a new shim, again and again, and measures each
from Host::load called to the first call answered (the echo plugin as a
bare .so in development mode: trust is bench verify's subject):
  posix_spawn_baseline  ns  posix_spawn of /bin/true to its exit: the
                            floor any process-per-plugin start pays
  start_unsandboxed     ns  load -> first answer, SandboxMode::Off
  start_sandboxed       ns  load -> first answer, the default sandbox
                            (namespaces, new root, cgroups, Landlock,
                            seccomp...)
Both start in the spare shim their host keeps ready (HostOptions::
spare_shim), as every start but a host's first does. Baseline:
  start_unsandboxed_spawned  ns  start_unsandboxed with spare_shim off:
                            spawn, exec and linking inside the start
  start_sandboxed_spawned    ns  the same for start_sandboxed
The starts alternate, so drift on a shared machine hits them alike, and
each comes on a quiet machine: 20 ms pass, untimed, after each, so that one
host's spare being spawned is not timed inside another's start.
Goal (issue 4): start_sandboxed - start_unsandboxed <= 5 ms (medians).
Default 50 samples of each; --quick: 5.
Exit status: 0 measured; 1 could not measure; 2 usage error.
)";

Result<double> spawn_trivial()
{
	char arg0[] = "true";
	char *argv[] = {arg0, nullptr};
	const auto t0 = Clock::now();
	pid_t pid;
	if (int e = ::posix_spawn(&pid, kTrivialBinary, nullptr, nullptr, argv, environ); e != 0)
		return Unexpected(errno_error(fmt::format("posix_spawn {}", kTrivialBinary), e));
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return Unexpected(errno_error("waitpid", errno));
	const double ns = elapsed_ns(t0, Clock::now());
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return make_error(ErrorCode::Internal, fmt::format("{} did not exit 0", kTrivialBinary));
	return ns;
}

// Load to the first answered call; the unload after it is not timed.
Result<double> start_once(Host &host, const std::string &so)
{
	const auto t0 = Clock::now();
	auto plugin = TRY(host.load(so));
	auto answer = plugin.call("echo", as_bytes("x"), Deadline::after(10s));
	const double ns = elapsed_ns(t0, Clock::now());
	host.unload(plugin);
	std::this_thread::sleep_for(kSettle);
	TRY(answer);
	return ns;
}

Result<std::unique_ptr<Host>> host_with(sandbox::SandboxMode mode, bool spare = true)
{
	HostOptions o;
	o.shim_path = shim_path();
	o.development_mode = true;
	o.sandbox.mode = mode;
	o.spare_shim = spare;
	return Host::create(o);
}

Result<std::vector<Measurement>> run(std::size_t samples)
{
	auto off = TRY(host_with(sandbox::SandboxMode::Off));
	auto on = TRY(host_with(sandbox::SandboxMode::Enforced));
	auto off_spawned = TRY(host_with(sandbox::SandboxMode::Off, false));
	auto spawned = TRY(host_with(sandbox::SandboxMode::Enforced, false));
	const std::string so = plugin_path("echo");
	// Warm the page cache and the hosts' first-load work (and spares).
	TRY(start_once(*off, so));
	TRY(start_once(*on, so));
	TRY(start_once(*off_spawned, so));
	TRY(start_once(*spawned, so));
	TRY(spawn_trivial());

	std::vector<double> spawn, unsandboxed, sandboxed, off_no_spare, no_spare;
	for (std::size_t i = 0; i < samples; ++i) {
		spawn.push_back(TRY(spawn_trivial()));
		unsandboxed.push_back(TRY(start_once(*off, so)));
		sandboxed.push_back(TRY(start_once(*on, so)));
		off_no_spare.push_back(TRY(start_once(*off_spawned, so)));
		no_spare.push_back(TRY(start_once(*spawned, so)));
	}
	std::vector<Measurement> out;
	out.push_back({"posix_spawn_baseline", "ns", summarize(std::move(spawn))});
	out.push_back({"start_unsandboxed", "ns", summarize(std::move(unsandboxed))});
	out.push_back({"start_sandboxed", "ns", summarize(std::move(sandboxed))});
	out.push_back({"start_unsandboxed_spawned", "ns", summarize(std::move(off_no_spare))});
	out.push_back({"start_sandboxed_spawned", "ns", summarize(std::move(no_spare))});
	return out;
}

} // namespace

int bench_start(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--json", "--quick"}, {"--samples"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", kStartUsage);
		return kExitOk;
	}
	std::size_t samples = args.has_value() && args->has("--quick") ? 5 : 50;
	if (args.has_value())
		if (auto v = args->value("--samples"))
			samples = std::strtoull(v->c_str(), nullptr, 10);
	if (!args.has_value() || !args->positional.empty() || samples == 0) {
		fmt::print(stderr, "{}{}", args.has_value() ? "" : args.error().message + "\n", kStartUsage);
		return kExitUsage;
	}
	log::set_min_level(log::Level::Error); // a development-mode warning per load otherwise
	auto r = run(samples);
	if (!r.has_value()) {
		log::error("bench start: {}", r.error().to_string());
		return kExitNo;
	}
	if (args->has("--json")) {
		print_json(stdout, "start", r.value());
		return kExitOk;
	}
	using K = Target::Kind;
	const auto &m = r.value();
	const double spawn = m[0].summary.median, off = m[1].summary.median, on = m[2].summary.median;
	const std::vector<Target> targets = {
		{"sandbox adds (ms)", (on - off) / 1e6, K::AtMost, 5, "ms"},
		{"start_sandboxed / unsandboxed", on / off, K::Context, 0, ""},
		{"start_unsandboxed / spawn", off / spawn, K::Context, 0, ""},
		{"start_sandboxed / spawn", on / spawn, K::Context, 0, ""},
		{"sandbox adds without spares (ms)", (m[4].summary.median - m[3].summary.median) / 1e6,
		 K::Context, 0, "ms"},
		{"start_sandboxed / without a spare", on / m[4].summary.median, K::Context, 0, ""},
	};
	fmt::print("bulkhead bench start: echo plugin, {} samples each\n\n", samples);
	print_table(stdout, m, targets);
	return kExitOk;
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// Benchmarks of hot reload and rollback with real shims.
#include "bench_reload.hpp"

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "args.hpp"
#include "bench_report.hpp"
#include "bench_stats.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Before each timed step: see kReloadUsage.
constexpr auto kSettle = 20ms;

constexpr std::string_view kReloadUsage = R"(Usage: bulkhead bench reload [--json] [--quick] [--samples N]

Reloads the echo plugin (its file warm in the page cache) and measures:
  reload_swap                  ns     Host::reload called -> the first call
                                      answered by the new instance
  rollback_swap                ns     the new version SIGKILLed within its grace
                                      period -> the router serves the warm
                                      standby (automatic rollback) and a call
                                      made then is answered by it
  rollback_call_in_flight      ns     a call another thread makes as the new
                                      version is killed -> its end: the
                                      plugin's structured error once the
                                      process is reaped, or the standby's
                                      answer when the swap came first
  failed_calls_during_reloads  calls  calls that failed while two threads
                                      called without pause through N reloads
Each timed step comes on a quiet host: 20 ms pass, untimed, before it, so
that the spare shim a start leads to (HostOptions::spare_shim) is spawned
before the next start or kill is timed.
Baselines in the same run:
  load_cold                    ns     Host::load of the same plugin (no swap)
  call_hot                     ns     one call to a running instance
Goals: reload_swap <= 10 ms, rollback_swap <= 1 ms (medians),
failed_calls_during_reloads = 0.
Exit status: 0 measured; 1 could not measure; 2 usage error.
)";

Result<double> first_answer_after(const Plugin &p, Clock::time_point t0, std::uint64_t not_instance)
{
	for (auto until = Clock::now() + 10s; Clock::now() < until;) {
		auto r = p.call("echo", as_bytes("x"), Deadline::after(1s));
		if (r.has_value() && p.info().instance != not_instance)
			return elapsed_ns(t0, Clock::now());
	}
	return make_error(ErrorCode::DeadlineExceeded, "no instance answered within 10 s");
}

Result<std::vector<Measurement>> run(std::size_t samples)
{
	HostOptions o;
	o.shim_path = shim_path();
	o.development_mode = true; // the bare echo .so: trust is bench verify's subject
	o.reload_grace = 60s;      // rollbacks need their standby warm
	auto host = TRY(Host::create(o));
	const std::string so = plugin_path("echo");

	std::vector<double> load, hot, swap, rollback, in_flight;
	auto plugin = TRY(host->load(so));
	for (std::size_t i = 0; i < samples; ++i) {
		std::this_thread::sleep_for(kSettle);
		auto t0 = Clock::now();
		auto extra = TRY(host->load(so));
		load.push_back(elapsed_ns(t0, Clock::now()));
		host->unload(extra);

		auto t1 = Clock::now();
		TRY(plugin.call("echo", as_bytes("x"), Deadline::after(1s)));
		hot.push_back(elapsed_ns(t1, Clock::now()));

		const std::uint64_t before = plugin.info().instance;
		std::this_thread::sleep_for(kSettle);
		auto t2 = Clock::now();
		TRY(host->reload(plugin, so));
		swap.push_back(TRY(first_answer_after(plugin, t2, before)));

		// The new one dies; the standby (`before`) takes over by itself,
		// while a call made at the kill goes down with the new one.
		const std::uint64_t doomed = plugin.info().instance;
		TRY(plugin.call("echo", as_bytes("x"), Deadline::after(1s)));
		std::this_thread::sleep_for(kSettle);
		std::atomic<bool> killed{false};
		Clock::time_point t3;
		double ended = 0;
		std::thread caller([&] {
			while (!killed.load(std::memory_order_acquire))
				std::this_thread::yield();
			(void)plugin.call("echo", as_bytes("x"), Deadline::after(5s));
			ended = elapsed_ns(t3, Clock::now());
		});
		t3 = Clock::now();
		plugin.kill();
		killed.store(true, std::memory_order_release);
		while (plugin.info().instance == doomed && Clock::now() < t3 + 10s)
			std::this_thread::yield();
		auto answered = first_answer_after(plugin, t3, doomed);
		caller.join();
		rollback.push_back(TRY(std::move(answered)));
		in_flight.push_back(ended);
	}

	// Two threads call without pause through the reloads.
	std::atomic<bool> stop{false};
	std::atomic<std::size_t> failed{0}, calls{0};
	std::vector<std::thread> callers;
	for (int t = 0; t < 2; ++t)
		callers.emplace_back([&] {
			while (!stop.load()) {
				failed += !plugin.call("echo", as_bytes("y"), Deadline::after(5s)).has_value();
				++calls;
			}
		});
	Result<void> reloads = {};
	for (std::size_t i = 0; i < samples && reloads.has_value(); ++i)
		reloads = host->reload(plugin, so);
	stop = true;
	for (auto &c : callers)
		c.join();
	TRY(reloads);

	std::vector<Measurement> out;
	out.push_back({"reload_swap", "ns", summarize(std::move(swap))});
	out.push_back({"rollback_swap", "ns", summarize(std::move(rollback))});
	out.push_back({"failed_calls_during_reloads", "calls",
		       Summary{static_cast<double>(failed.load()), static_cast<double>(failed.load()), calls.load()}});
	out.push_back({"rollback_call_in_flight", "ns", summarize(std::move(in_flight))});
	out.push_back({"load_cold", "ns", summarize(std::move(load))});
	out.push_back({"call_hot", "ns", summarize(std::move(hot))});
	return out;
}

} // namespace

int bench_reload(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--json", "--quick"}, {"--samples"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", kReloadUsage);
		return kExitOk;
	}
	std::size_t samples = args.has_value() && args->has("--quick") ? 5 : 50;
	if (args.has_value())
		if (auto v = args->value("--samples"))
			samples = std::strtoull(v->c_str(), nullptr, 10);
	if (!args.has_value() || !args->positional.empty() || samples == 0) {
		fmt::print(stderr, "{}{}", args.has_value() ? "" : args.error().message + "\n", kReloadUsage);
		return kExitUsage;
	}
	log::set_min_level(log::Level::Error);
	auto r = run(samples);
	if (!r.has_value()) {
		log::error("bench reload: {}", r.error().to_string());
		return 1;
	}
	if (args->has("--json")) {
		print_json(stdout, "reload", r.value());
		return 0;
	}
	using K = Target::Kind;
	const auto &m = r.value();
	std::vector<Target> targets = {
		{"reload_swap (ms)", m[0].summary.median / 1e6, K::AtMost, 10, " ms"},
		{"rollback_swap (ms)", m[1].summary.median / 1e6, K::AtMost, 1, " ms"},
		{"failed_calls_during_reloads", m[2].summary.median, K::AtMost, 0, ""},
		{"reload_swap / load_cold", m[0].summary.median / m[4].summary.median, K::Context, 0, ""},
	};
	fmt::print("bulkhead bench reload: echo plugin, {} samples\n\n", samples);
	print_table(stdout, m, targets);
	return 0;
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// Calls through the shared-memory channel, via the public Plugin API.
#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <sched.h>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "bench_interrupt.hpp"
#include "bench_measure.hpp"

namespace bulkhead::tools {

namespace {

constexpr auto kCallDeadline = std::chrono::seconds(5);

Result<void> check_echo(const Result<Bytes> &answer, ByteView payload)
{
	if (!answer.has_value())
		return Unexpected(answer.error());
	if (!std::equal(answer.value().begin(), answer.value().end(), payload.begin(),
			payload.end()))
		return make_error(ErrorCode::Internal, "echo answered with other bytes");
	return {};
}

// Keeps `depth` async calls in flight; completions run on the thread that
// runs `io` (the caller's), which issues the next call.
class Pipeline {
public:
	Pipeline(const Plugin &plugin, ByteView payload, std::size_t total)
		: plugin_(plugin), payload_(payload), total_(total) {}

	Result<void> run(std::size_t depth)
	{
		for (std::size_t i = 0; i < std::min(depth, total_); ++i)
			issue();
		io_.run();
		if (failure_)
			return Unexpected(*failure_);
		return {};
	}

private:
	void issue()
	{
		++issued_;
		plugin_.async_call("echo", payload_, Deadline::after(kCallDeadline),
				   boost::asio::bind_executor(io_, [this](Result<Bytes> r) {
					   complete(std::move(r));
				   }));
	}

	void complete(Result<Bytes> r)
	{
		auto ok = check_echo(r, payload_);
		if (ok.has_value())
			ok = check_interrupt();
		if (!ok.has_value() && !failure_)
			failure_ = std::move(ok).error();
		if (!failure_ && issued_ < total_)
			issue();
	}

	const Plugin &plugin_;
	ByteView payload_;
	std::size_t total_;
	std::size_t issued_ = 0;
	std::optional<Error> failure_;
	boost::asio::io_context io_;
};

// One thread keeps `depth` calls in flight with Plugin::submit and collects
// them in order with PendingCall::wait: no io_context, no thread hop.
Result<void> run_window(const Plugin &plugin, ByteView payload, std::size_t total,
			std::size_t depth)
{
	std::deque<PendingCall> window;
	std::size_t issued = 0;
	while (issued < total || !window.empty()) {
		while (issued < total && window.size() < depth) {
			window.push_back(TRY(plugin.submit("echo", payload,
							   Deadline::after(kCallDeadline))));
			++issued;
		}
		TRY(check_echo(window.front().wait(), payload));
		window.pop_front();
		if ((issued & 1023) == 0)
			TRY(check_interrupt());
	}
	return {};
}

// Several threads, each making synchronous calls back to back.
Result<void> run_threads(const Plugin &plugin, ByteView payload, std::size_t total,
			 std::size_t threads)
{
	std::vector<std::optional<Error>> failures(threads);
	std::vector<std::thread> workers;
	for (std::size_t t = 0; t < threads; ++t)
		workers.emplace_back([&, t] {
			for (std::size_t i = t; i < total; i += threads) {
				auto ok = check_echo(plugin.call("echo", payload,
								 Deadline::after(kCallDeadline)),
						     payload);
				if (ok.has_value())
					ok = check_interrupt();
				if (!ok.has_value()) {
					failures[t] = std::move(ok).error();
					return;
				}
			}
		});
	for (auto &w : workers)
		w.join();
	for (auto &f : failures)
		if (f)
			return Unexpected(*f);
	return {};
}

// One host thread per CPU this process may use, less the shim's.
std::size_t spare_cpus()
{
	cpu_set_t allowed;
	if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return 1;
	return static_cast<std::size_t>(std::max(CPU_COUNT(&allowed) - 1, 1));
}

struct Usage {
	double cpu_seconds = 0; // user + system, every thread of this process
	long switches = 0;      // voluntary + involuntary context switches
};

Usage usage()
{
	struct rusage ru;
	::getrusage(RUSAGE_SELF, &ru);
	auto seconds = [](const timeval &t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
	return Usage{seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_nvcsw + ru.ru_nivcsw};
}

// Runs `run(calls)` after a warm-up of a twentieth of it; returns calls/s
// over the timed run and logs what it cost this process per call.
template<typename Run>
Result<double> timed_rate(const std::string &how, std::size_t calls, Run run)
{
	TRY(run(std::max<std::size_t>(calls / 20, 1000)));
	const Usage u0 = usage();
	const auto t0 = Clock::now();
	TRY(run(calls));
	const double seconds = elapsed_ns(t0, Clock::now()) / 1e9;
	const Usage u1 = usage();
	const double n = static_cast<double>(calls);
	log::info("shm_pipelined via {}: {:.3f} M calls/s; host CPU {:.2f} us/call, {:.3f} "
		  "context switches/call",
		  how, n / seconds / 1e6, (u1.cpu_seconds - u0.cpu_seconds) * 1e6 / n,
		  static_cast<double>(u1.switches - u0.switches) / n);
	return n / seconds;
}

} // namespace

Result<double> timed_echo(const Plugin &plugin, ByteView payload)
{
	const auto t0 = Clock::now();
	Result<Bytes> answer = plugin.call("echo", payload, Deadline::after(kCallDeadline));
	const auto t1 = Clock::now();
	TRY(check_echo(answer, payload));
	return elapsed_ns(t0, t1);
}

Result<Summary> measure_shm_hot(const Plugin &plugin, ByteView payload, std::size_t samples)
{
	const std::size_t warmup = std::clamp<std::size_t>(samples / 10, 100, 20'000);
	for (std::size_t i = 0; i < warmup; ++i)
		TRY(timed_echo(plugin, payload));
	std::vector<double> ns;
	ns.reserve(samples);
	for (std::size_t i = 0; i < samples; ++i) {
		TRY(check_interrupt());
		ns.push_back(TRY(timed_echo(plugin, payload)));
	}
	return summarize(std::move(ns));
}

Result<Summary> measure_shm_pipelined(const Plugin &plugin, ByteView payload,
				      std::size_t calls, std::size_t depth)
{
	const std::size_t threads = spare_cpus();
	const double async_rate = TRY(timed_rate(
		fmt::format("Plugin::async_call, {} in flight", depth), calls,
		[&](std::size_t n) { return Pipeline(plugin, payload, n).run(depth); }));
	const double window_rate = TRY(timed_rate(
		fmt::format("Plugin::submit + PendingCall::wait, {} in flight", depth), calls,
		[&](std::size_t n) { return run_window(plugin, payload, n, depth); }));
	const double sync_rate = TRY(timed_rate(
		fmt::format("Plugin::call back to back from {} thread(s)", threads), calls,
		[&](std::size_t n) { return run_threads(plugin, payload, n, threads); }));
	return single_rate(std::max({async_rate, window_rate, sync_rate}), calls);
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench call`: one plugin call against its baselines, in one run.
#include "bench_call.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <optional>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "bench_futex.hpp"
#include "bench_interrupt.hpp"
#include "bench_measure.hpp"
#include "bench_reload.hpp"
#include "bench_start.hpp"
#include "bench_report.hpp"
#include "bench_trust.hpp"
#include "bench_registry.hpp"
#include "bench_wasm.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

constexpr std::size_t kDefaultSamples = 100'000;
constexpr std::size_t kQuickSamples = 2'000;
constexpr std::size_t kPipelineDepth = 32;
// Far longer than the shim's spin budget (HostOptions::shim_spin, 50 µs):
// every paced call finds the shim, or the futex peer, asleep.
constexpr auto kIdleGap = std::chrono::milliseconds(2);

constexpr std::string_view kBenchUsage = R"(Usage: bulkhead bench <suite> [options]

Suites:
  call      one plugin call through the shared-memory channel against its
            baselines (bulkhead bench call --help)
  verify    verifying a signed 1 MiB bundle (bulkhead bench verify --help)
  discover  scanning a plugin root of 500 signed bundles
            (bulkhead bench discover --help)
  reload    hot reload and rollback swaps (bulkhead bench reload --help)
  start     starting a plugin, sandboxed and not, against posix_spawn
            (bulkhead bench start --help)
  registry  extension lookup by name, 8 readers at once
            (bulkhead bench registry --help)
  wasm      one compute plugin native and WebAssembly: both tiers,
            metering, instantiation, round trip (bulkhead bench wasm --help)
)";

constexpr std::string_view kCallUsage = R"(Usage: bulkhead bench call [--json] [--quick] [--samples N] [--payload BYTES]
                           [--pin none|same|cross]

Measures, in one run, an `echo` call to the echo plugin in its own shim
process against its baselines, then checks the goals of
research/perf-anchors.md section 3, all on medians:
  shm_hot_rtt <= 1000 ns, shm_cold_rtt / futex_wake_rtt <= 1.1,
  uds_rtt / shm_hot_rtt >= 20, shm_pipelined >= 5 M calls/s.

Results (one sample = one timed round trip unless said otherwise):
  inproc_call     ns       virtual call in-process, no isolation; one sample
                           = the mean of a batch of 1000 calls
  shm_hot_rtt     ns       Plugin::call, back to back: the shim is awake
  shm_cold_rtt    ns       Plugin::call after 2 ms idle: the shim is asleep
  futex_wake_rtt  ns       bare FUTEX_WAKE/FUTEX_WAIT round trip with a peer
                           process asleep in FUTEX_WAIT; the client waits for
                           the answer as the host does (spins host_spin, then
                           FUTEX_WAIT). Paced as, and interleaved with,
                           shm_cold_rtt
  uds_rtt         ns       the same flatbuffers Request/Completion over a
                           blocking AF_UNIX SOCK_SEQPACKET socket pair to a
                           peer process, back to back
  shm_pipelined   calls/s  the best of three ways to keep the shim busy
                           through the public API: Plugin::async_call with
                           32 calls in flight (handlers bound to an executor
                           the caller runs), Plugin::submit with 32 calls in
                           flight collected by PendingCall::wait, and
                           back-to-back Plugin::call from one thread per CPU
                           less one (the shim's); each rate and its host CPU
                           cost is logged. ONE
                           rate over the whole run: median = p99 = that
                           rate, samples = calls

Options:
  --json           print exactly one JSON object on stdout:
                   {"suite": "call", "results": [{"name", "unit", "median",
                   "p99", "samples"}, ...]}
  --samples N      hot samples (default 100000); the others scale with N:
                   inproc N/10 batches, cold and futex N/200, uds N/5,
                   pipelined 10*N calls (each way)
  --quick          small counts for smoke runs (--samples 2000)
  --payload BYTES  payload of every call (default 64)
  --pin MODE       none: the scheduler places every process (default);
                   same: everything on one CPU; cross: this process on one
                   CPU, the shim and the peers on another

Environment: BULKHEAD_SHIM (the shim executable) and BULKHEAD_PLUGIN_DIR
(where bulkhead-plugin-echo.so is); by default the build tree's, then the
installed ones. Logs go to stderr.
)";

enum class Pinning : std::uint8_t { None, Same, Cross };

struct CallOptions {
	bool json = false;
	std::size_t samples = kDefaultSamples;
	std::size_t payload = 64;
	Pinning pin = Pinning::None;
};

// How many of each, from --samples.
struct Counts {
	std::size_t inproc_batches, hot, cold, uds, pipelined;
};

Counts counts(std::size_t n)
{
	return Counts{std::max<std::size_t>(n / 10, 10), n, std::max<std::size_t>(n / 200, 20),
		      std::max<std::size_t>(n / 5, 100), std::max<std::size_t>(n * 10, 10'000)};
}

std::optional<std::size_t> parse_count(std::string_view s)
{
	std::size_t v = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return v;
}

// Parses the options of `bench call`; nullopt after printing why (or the
// help, with `help` set).
std::optional<CallOptions> parse_call(std::span<char *const> args, bool &help)
{
	CallOptions o;
	for (std::size_t i = 0; i < args.size(); ++i) {
		std::string_view a = args[i];
		std::string_view value;
		bool missing = false;
		auto take = [&](std::string_view flag) {
			if (a == flag) {
				missing = i + 1 == args.size();
				value = missing ? "" : args[++i];
				return true;
			}
			if (a.size() > flag.size() + 1 && a.starts_with(flag) && a[flag.size()] == '=') {
				value = a.substr(flag.size() + 1);
				return true;
			}
			return false;
		};
		if (a == "--help" || a == "-h") {
			help = true;
			return std::nullopt;
		} else if (a == "--json") {
			o.json = true;
		} else if (a == "--quick") {
			o.samples = kQuickSamples;
		} else if (take("--samples")) {
			auto n = missing ? std::nullopt : parse_count(value);
			if (!n || *n == 0) {
				fmt::print(stderr, "bulkhead bench call: --samples needs a count > 0\n");
				return std::nullopt;
			}
			o.samples = *n;
		} else if (take("--payload")) {
			auto n = missing ? std::nullopt : parse_count(value);
			if (!n) {
				fmt::print(stderr, "bulkhead bench call: --payload needs a byte count\n");
				return std::nullopt;
			}
			o.payload = *n;
		} else if (take("--pin")) {
			if (value == "none")
				o.pin = Pinning::None;
			else if (value == "same")
				o.pin = Pinning::Same;
			else if (value == "cross")
				o.pin = Pinning::Cross;
			else {
				fmt::print(stderr, "bulkhead bench call: --pin is none, same or cross\n");
				return std::nullopt;
			}
		} else {
			fmt::print(stderr, "bulkhead bench call: unknown option '{}'\n{}", a, kCallUsage);
			return std::nullopt;
		}
	}
	return o;
}

// The CPUs --pin uses: the first two this process may run on.
struct Placement {
	int caller = -1; // -1: the scheduler decides
	int peer = -1;
};

// Pins this thread before any other exists, so the Host's threads, the
// shim and the peers inherit it; `peer` is applied to each later.
Result<Placement> place(Pinning mode)
{
	if (mode == Pinning::None)
		return Placement{};
	cpu_set_t allowed;
	if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return Unexpected(errno_error("sched_getaffinity", errno));
	std::vector<int> cpus;
	for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
		if (CPU_ISSET(c, &allowed))
			cpus.push_back(c);
	if (mode == Pinning::Cross && cpus.size() < 2)
		return make_error(ErrorCode::FailedPrecondition, "--pin cross needs two CPUs");
	Placement p{cpus[0], mode == Pinning::Cross ? cpus[1] : -1};
	TRY(pin_to_cpu(0, p.caller));
	return p;
}

// The CPU `pid` last ran on (/proc/<pid>/stat field 39), or -1.
int last_cpu(pid_t pid)
{
	std::ifstream in(fmt::format("/proc/{}/stat", pid));
	std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	const auto paren = stat.rfind(')');
	if (paren == std::string::npos)
		return -1;
	std::istringstream fields(stat.substr(paren + 2)); // from field 3, the state
	std::string field;
	for (int i = 3; i <= 39 && fields >> field; ++i)
		if (i == 39)
			return std::atoi(field.c_str());
	return -1;
}

// Paced calls, the shim asleep each time, interleaved with the futex
// baseline so both see the same machine. Logs how often each peer answered
// on the caller's CPU: a wake-up on the same vCPU is a context switch, on
// the other one an inter-processor interrupt, an order of magnitude apart.
Result<std::pair<Summary, Summary>> measure_cold(const Plugin &plugin, ByteView payload,
						  std::size_t samples, const Placement &where,
						  std::chrono::nanoseconds reply_spin)
{
	const pid_t shim = plugin.info().pid;
	FutexBaseline futex = TRY(FutexBaseline::start(where.peer));
	for (int i = 0; i < 3; ++i) {
		std::this_thread::sleep_for(kIdleGap);
		TRY(timed_echo(plugin, payload));
		std::this_thread::sleep_for(kIdleGap);
		TRY(futex.round_trip(reply_spin));
	}
	std::vector<double> cold, wake;
	cold.reserve(samples);
	wake.reserve(samples);
	std::size_t shim_beside = 0, peer_beside = 0;
	for (std::size_t i = 0; i < samples; ++i) {
		TRY(check_interrupt());
		std::this_thread::sleep_for(kIdleGap);
		cold.push_back(TRY(timed_echo(plugin, payload)));
		shim_beside += last_cpu(shim) == ::sched_getcpu();
		std::this_thread::sleep_for(kIdleGap);
		wake.push_back(TRY(futex.round_trip(reply_spin)));
		peer_beside += futex.last_peer_cpu() == ::sched_getcpu();
	}
	TRY(futex.stop());
	log::info("bench call: answered on the caller's CPU: shim {}% of cold calls, futex peer "
		  "{}% of round trips",
		  100 * shim_beside / samples, 100 * peer_beside / samples);
	return std::pair{summarize(std::move(cold)), summarize(std::move(wake))};
}

Result<std::vector<Measurement>> run_call(const CallOptions &o)
{
	const Counts n = counts(o.samples);
	const Placement where = TRY(place(o.pin));
	const Bytes payload_bytes(o.payload, 0x5a);
	const ByteView payload(payload_bytes);
	std::vector<Measurement> out;

	HostOptions options;
	options.shim_path = shim_path();
	options.development_mode = true; // the bare echo .so: trust is not what this measures
	auto host = TRY(Host::create(options));
	const std::string plugin_file = plugin_path("echo");
	const Plugin plugin = TRY(host->load(plugin_file));
	const PluginInfo info = plugin.info();
	if (o.payload > info.max_payload)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("--payload {} exceeds the channel's maximum of {} bytes",
					      o.payload, info.max_payload));
	TRY(pin_to_cpu(info.pid, where.peer));
	log::info("bench call: plugin {} (shim pid {}), {}-byte payload", plugin_file, info.pid,
		  o.payload);

	log::info("bench call: inproc_call, {} batches", n.inproc_batches);
	out.push_back({"inproc_call", "ns", measure_inproc_call(n.inproc_batches, payload)});

	log::info("bench call: shm_hot_rtt, {} samples", n.hot);
	out.push_back({"shm_hot_rtt", "ns", TRY(measure_shm_hot(plugin, payload, n.hot))});
	// Two spinners on one vCPU would make every call wait for a time slice.
	log::info("bench call: caller on CPU {}, shim last ran on CPU {}", ::sched_getcpu(),
		  last_cpu(info.pid));

	log::info("bench call: shm_cold_rtt and futex_wake_rtt, {} samples each, {} ms apart",
		  n.cold, kIdleGap.count());
	auto [cold, wake] = TRY(measure_cold(plugin, payload, n.cold, where,
					     host->options().host_spin));
	out.push_back({"shm_cold_rtt", "ns", cold});
	out.push_back({"futex_wake_rtt", "ns", wake});

	log::info("bench call: uds_rtt, {} samples", n.uds);
	out.push_back({"uds_rtt", "ns", TRY(measure_uds(payload, n.uds, where.peer))});

	log::info("bench call: shm_pipelined, {} calls, {} in flight", n.pipelined, kPipelineDepth);
	out.push_back({"shm_pipelined", "calls/s",
		       TRY(measure_shm_pipelined(plugin, payload, n.pipelined, kPipelineDepth))});
	host->unload(plugin);
	return out;
}

double median_of(const std::vector<Measurement> &results, std::string_view name)
{
	for (const auto &m : results)
		if (m.name == name)
			return m.summary.median;
	return 0;
}

std::vector<Target> targets(const std::vector<Measurement> &r)
{
	using K = Target::Kind;
	const double hot = median_of(r, "shm_hot_rtt");
	return {
		{"shm_hot_rtt", hot, K::AtMost, 1000, "ns"},
		{"shm_cold_rtt / futex_wake_rtt",
		 median_of(r, "shm_cold_rtt") / median_of(r, "futex_wake_rtt"), K::AtMost, 1.1, ""},
		{"uds_rtt / shm_hot_rtt", median_of(r, "uds_rtt") / hot, K::AtLeast, 20, ""},
		{"shm_pipelined (M calls/s)", median_of(r, "shm_pipelined") / 1e6, K::AtLeast, 5, ""},
		{"shm_hot_rtt / inproc_call", hot / median_of(r, "inproc_call"), K::Context, 0, ""},
	};
}

int bench_call(std::span<char *const> args)
{
	bool help = false;
	auto options = parse_call(args, help);
	if (!options) {
		if (help)
			fmt::print("{}", kCallUsage);
		return help ? 0 : 2;
	}
	catch_interrupts();
	auto results = run_call(*options);
	if (!results.has_value()) {
		if (!check_interrupt().has_value()) {
			log::error("bench call: interrupted");
			return 130;
		}
		log::error("bench call: {}", results.error().to_string());
		return 1;
	}
	if (options->json) {
		print_json(stdout, "call", results.value());
		return 0;
	}
	static const char *const pinning[] = {"none", "same", "cross"};
	fmt::print("bulkhead bench call: {}-byte payload, {} hot samples, pinning {}\n\n",
		   options->payload, options->samples,
		   pinning[static_cast<std::size_t>(options->pin)]);
	print_table(stdout, results.value(), targets(results.value()));
	return 0;
}

} // namespace

int bench_main(std::span<char *const> args)
{
	if (args.empty()) {
		fmt::print(stderr, "{}", kBenchUsage);
		return 2;
	}
	const std::string_view suite = args[0];
	if (suite == "--help" || suite == "-h") {
		fmt::print("{}", kBenchUsage);
		return 0;
	}
	if (suite == "call")
		return bench_call(args.subspan(1));
	if (suite == "verify")
		return bench_verify(args.subspan(1));
	if (suite == "discover")
		return bench_discover(args.subspan(1));
	if (suite == "reload")
		return bench_reload(args.subspan(1));
	if (suite == "start")
		return bench_start(args.subspan(1));
	if (suite == "wasm")
		return bench_wasm(args.subspan(1));
	if (suite == "registry")
		return bench_registry(args.subspan(1));
	fmt::print(stderr, "bulkhead bench: unknown suite '{}'\n{}", suite, kBenchUsage);
	return 2;
}

} // namespace bulkhead::tools

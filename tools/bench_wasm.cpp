// SPDX-License-Identifier: Apache-2.0
// `bulkhead bench wasm`: the compute plugin built native and WebAssembly,
// run through both tiers and the metering pass, against its native self.
#include "bench_wasm.hpp"

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/host.hpp>

#include "bench_stats.hpp"
#include "bench_report.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

constexpr std::string_view kUsage = R"(Usage: bulkhead bench wasm [--json] [--quick] [--cache DIR]

The compute plugin (wasm/plugins/compute_kernel.h: a byte sieve, a tight
loop of loads and stores), built native and as WebAssembly, each in its own
shim; rounds interleave the configurations so machine noise hits all alike.

Results (ns; one sample = one timed call or load):
  native_compute        sieve(1e6) in the native plugin
  wasm_aot_compute      the same in tier A (wasm2c + gcc)
  wasm_interp_compute   the same in tier B (the wabt interpreter); fewer samples
  wasm_metered_compute  tier A with a fuel budget (the metering pass)
  wasm_instantiate      Host::load of the wasm plugin, cache warm: spawn,
                        handshake, instantiate, init (baseline: native load)
  wasm_call_rtt         a 64-byte `echo` call to the tier A plugin, back to
                        back (baseline: the same call to the native plugin)
Targets on medians: wasm_aot_compute <= 1.5 x native, wasm_call_rtt <= 1.1 x
native, metering overhead (metered / aot) <= 1.03.

Options:
  --json       print exactly one JSON object on stdout:
               {"suite": "wasm", "results": [{"name", "unit", "median", "p99",
               "samples"}, ...]}
  --quick      small counts and a smaller sieve, for CI smoke runs
  --cache DIR  tier A's cache (default: the Host's, see HostOptions)

The first run compiles the module (seconds; progress on stderr).
)";

struct Options {
	bool json = false;
	bool quick = false;
	std::string cache;
};

struct Counts {
	std::uint32_t sieve_n;
	std::size_t compute, interp, loads, rtt;
};

Bytes u32_bytes(std::uint32_t v)
{
	Bytes b(4);
	std::memcpy(b.data(), &v, 4);
	return b;
}

Result<double> timed_call(const Plugin &p, std::string_view op, ByteView in)
{
	const auto t0 = Clock::now();
	auto r = p.call(op, in, Deadline::after(std::chrono::seconds(60)));
	const auto t1 = Clock::now();
	if (!r.has_value())
		return Unexpected(std::move(r).error());
	return elapsed_ns(t0, t1);
}

// `run` null: the host's defaults (a native plugin ignores them).
Result<Plugin> load(Host &host, const std::string &path, const wasm::RunOptions *run)
{
	LoadOptions o;
	if (run)
		o.wasm.emplace(*run);
	o.progress = [path](std::string_view step) {
		fmt::print(stderr, "bench wasm: {}: {}\n", path, step);
	};
	return host.load(path, std::move(o));
}

wasm::RunOptions tier(wasm::TierPolicy t, std::optional<std::uint64_t> fuel = std::nullopt)
{
	wasm::RunOptions r;
	r.tier = t;
	r.fuel = fuel;
	return r;
}

int fail(const Error &e)
{
	fmt::print(stderr, "bulkhead bench wasm: {}\n", e.to_string());
	return 1;
}

} // namespace

int bench_wasm(std::span<char *const> args)
{
	Options o;
	for (std::size_t i = 0; i < args.size(); ++i) {
		std::string_view a = args[i];
		if (a == "--help" || a == "-h") {
			fmt::print("{}", kUsage);
			return 0;
		} else if (a == "--json") {
			o.json = true;
		} else if (a == "--quick") {
			o.quick = true;
		} else if (a == "--cache" && i + 1 < args.size()) {
			o.cache = args[++i];
		} else {
			fmt::print(stderr, "bulkhead bench wasm: unknown option '{}'\n{}", a, kUsage);
			return 2;
		}
	}
	const Counts n = o.quick ? Counts{100'000, 5, 2, 3, 1'000} : Counts{1'000'000, 31, 5, 21, 20'000};

	HostOptions ho;
	ho.development_mode = true; // the bare build outputs, unsigned
	ho.shim_path = shim_path();
	ho.wasm_shim_path = wasm_shim_path();
	ho.wasm_cache_dir = o.cache;
	auto created = Host::create(ho);
	if (!created.has_value())
		return fail(created.error());
	Host &host = *created.value();
	const std::string wasm_path = wasm_plugin_path("compute");
	const std::string native_path = wasm_native_plugin_path("compute");
	// Large enough that the sieve never exhausts it.
	constexpr std::uint64_t kFuel = 1ull << 60;

	const wasm::RunOptions aot_run = tier(wasm::TierPolicy::Aot);
	const wasm::RunOptions metered_run = tier(wasm::TierPolicy::Aot, kFuel);
	const wasm::RunOptions interp_run = tier(wasm::TierPolicy::Interp);
	auto native = load(host, native_path, nullptr);
	if (!native.has_value())
		return fail(native.error());
	auto aot = load(host, wasm_path, &aot_run);
	if (!aot.has_value())
		return fail(aot.error());
	auto metered = load(host, wasm_path, &metered_run);
	if (!metered.has_value())
		return fail(metered.error());
	auto interp = load(host, wasm_path, &interp_run);
	if (!interp.has_value())
		return fail(interp.error());

	const Bytes input = u32_bytes(n.sieve_n);
	std::vector<double> s_native, s_aot, s_metered, s_interp;
	// One warm-up each, then rounds that interleave the configurations.
	for (const Plugin *p : {&native.value(), &aot.value(), &metered.value()})
		if (auto w = timed_call(*p, "sieve", input); !w.has_value())
			return fail(w.error());
	for (std::size_t i = 0; i < n.compute; ++i) {
		for (auto [p, out] : {std::pair{&native.value(), &s_native}, std::pair{&aot.value(), &s_aot},
				      std::pair{&metered.value(), &s_metered}}) {
			auto t = timed_call(*p, "sieve", input);
			if (!t.has_value())
				return fail(t.error());
			out->push_back(t.value());
		}
		if (i < n.interp) {
			auto t = timed_call(interp.value(), "sieve", input);
			if (!t.has_value())
				return fail(t.error());
			s_interp.push_back(t.value());
		}
	}

	// Loads, cache warm: wasm and native alternately.
	std::vector<double> s_load, s_load_native;
	for (std::size_t i = 0; i < n.loads; ++i) {
		for (const bool is_wasm : {true, false}) {
			LoadOptions lo;
			if (is_wasm)
				lo.wasm.emplace(aot_run);
			const auto t0 = Clock::now();
			auto p = host.load(is_wasm ? wasm_path : native_path, std::move(lo));
			const auto t1 = Clock::now();
			if (!p.has_value())
				return fail(p.error());
			(is_wasm ? s_load : s_load_native).push_back(elapsed_ns(t0, t1));
			host.unload(p.value());
		}
	}

	// Round trips: a 64-byte echo, back to back, in blocks that alternate.
	const Bytes payload(64, 0x5a);
	std::vector<double> s_rtt, s_rtt_native;
	constexpr std::size_t kBlock = 500;
	for (std::size_t done = 0; done < n.rtt; done += kBlock) {
		for (auto [p, out] : {std::pair{&aot.value(), &s_rtt}, std::pair{&native.value(), &s_rtt_native}})
			for (std::size_t k = 0; k < kBlock && done + k < n.rtt; ++k) {
				auto t = timed_call(*p, "echo", payload);
				if (!t.has_value())
					return fail(t.error());
				out->push_back(t.value());
			}
	}

	const std::vector<Measurement> results = {
		{"native_compute", "ns", summarize(s_native)},
		{"wasm_aot_compute", "ns", summarize(s_aot)},
		{"wasm_interp_compute", "ns", summarize(s_interp)},
		{"wasm_metered_compute", "ns", summarize(s_metered)},
		{"wasm_instantiate", "ns", summarize(s_load)},
		{"wasm_call_rtt", "ns", summarize(s_rtt)},
	};
	if (o.json) {
		print_json(stdout, "wasm", results);
		return 0;
	}

	// Each figure beside its baseline.
	const double native_median = results[0].summary.median;
	const double load_native = summarize(s_load_native).median;
	const double rtt_native = summarize(s_rtt_native).median;
	struct Row {
		const Measurement &m;
		const char *baseline_name;
		double baseline;
	};
	const Row rows[] = {
		{results[0], "-", native_median},
		{results[1], "native_compute", native_median},
		{results[2], "native_compute", native_median},
		{results[3], "wasm_aot_compute", results[1].summary.median},
		{results[4], "native load", load_native},
		{results[5], "native call rtt", rtt_native},
	};
	fmt::print("{:<22} {:>13} {:>13} {:>8}   {:<18} {:>13} {:>8}\n", "name", "median ns", "p99 ns",
		   "samples", "baseline", "median ns", "ratio");
	for (const auto &r : rows)
		fmt::print("{:<22} {:>13.0f} {:>13.0f} {:>8}   {:<18} {:>13.0f} {:>8.3f}\n", r.m.name,
			   r.m.summary.median, r.m.summary.p99, r.m.summary.samples, r.baseline_name,
			   r.baseline, r.m.summary.median / r.baseline);
	fmt::print("\n");
	const std::vector<Target> targets = {
		{"wasm_aot_compute / native", results[1].summary.median / native_median,
		 Target::Kind::AtMost, 1.5, ""},
		{"wasm_call_rtt / native rtt", results[5].summary.median / rtt_native,
		 Target::Kind::AtMost, 1.1, ""},
		{"metering: metered / aot", results[3].summary.median / results[1].summary.median,
		 Target::Kind::AtMost, 1.03, ""},
		{"wasm_interp_compute / native", results[2].summary.median / native_median,
		 Target::Kind::Context, 0, ""},
	};
	print_targets(stdout, targets);
	return 0;
}

} // namespace bulkhead::tools

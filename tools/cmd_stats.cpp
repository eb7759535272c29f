// SPDX-License-Identifier: Apache-2.0
// `bulkhead stats`: load a bundle, drive calls at it from several threads,
// and print what the host measured — the metrics an embedding database
// reads from Plugin::metrics().
#include <atomic>
#include <charconv>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/log.hpp>

#include "commands.hpp"
#include "file_io.hpp"

namespace bulkhead::tools {

namespace {

std::string stats_help()
{
	return std::string("Usage: bulkhead stats BUNDLE OPERATION [--calls N] [--threads T] [--text S | --input F]\n"
			   "                      [--trust FILE.pub]... [--dev] [--json]\n"
			   "\n"
			   "Starts BUNDLE in a shim as a host does, makes N calls (default 10000) to\n"
			   "OPERATION from T threads (default 2), and prints the host-measured\n"
			   "metrics: calls, errors by code, latency quantiles, the shim's RSS and\n"
			   "CPU time, ring occupancy.\n"
			   "\n"
			   "  --json               one JSON object: every error code by name with its\n"
			   "                       count, the latency histogram (bucket i counts calls\n"
			   "                       that took [2^i, 2^(i+1)) ns), rss, cpu, restarts\n") +
	       kTrustHelp +
	       "  --dev                development mode: accept unsigned bundles and bare .so or .wasm files\n"
	       "\n"
	       "Exit status: 0 measured (whatever the calls answered); 2 usage error;\n"
	       "3 a file could not be read; 4 the bundle was refused.\n";
}

std::optional<std::uint64_t> count_of(const std::optional<std::string> &v, std::uint64_t fallback)
{
	if (!v)
		return fallback;
	std::uint64_t n = 0;
	auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
	if (ec != std::errc() || end != v->data() + v->size() || n == 0)
		return std::nullopt;
	return n;
}

} // namespace

int stats_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--dev", "--json"},
			       {"--calls", "--threads", "--text", "--input", "--trust", "--revoke", "--revocations"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", stats_help());
		return kExitOk;
	}
	auto calls = args.has_value() ? count_of(args->value("--calls"), 10000) : std::nullopt;
	auto threads = args.has_value() ? count_of(args->value("--threads"), 2) : std::nullopt;
	if (!args.has_value() || args->positional.size() != 2 || !calls || !threads || *threads > 64) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead stats: {}\n", args.error().message);
		fmt::print(stderr, "{}", stats_help());
		return kExitUsage;
	}
	Bytes input;
	if (auto text = args->value("--text"))
		input.assign(text->begin(), text->end());
	if (auto path = args->value("--input")) {
		auto bytes = read_file(*path);
		if (!bytes.has_value()) {
			fmt::print(stderr, "bulkhead stats: {}\n", bytes.error().message);
			return kExitIo;
		}
		input = std::move(bytes).value();
	}
	log::set_min_level(log::Level::Warning);
	CliPlugin loaded = load_from_cli("stats", args.value(), args->positional[0], {});
	if (!loaded.plugin)
		return loaded.status;
	const Plugin &plugin = *loaded.plugin;
	const std::string op = args->positional[1];

	std::atomic<std::uint64_t> next{0};
	std::vector<std::thread> workers;
	const auto start = Clock::now();
	for (std::uint64_t t = 0; t < *threads; ++t)
		workers.emplace_back([&] {
			while (next.fetch_add(1) < *calls)
				(void)plugin.call(op, input, Deadline::after(std::chrono::seconds(5)));
		});
	for (auto &w : workers)
		w.join();
	const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

	const PluginMetrics m = plugin.metrics();
	const PluginInfo info = plugin.info();
	const auto q = [&](double x) { return latency_quantile(m.latency, x).count(); };
	std::string by_code;
	for (std::size_t c = 0; c < kErrorCodeCount; ++c)
		if (m.errors_by_code[c])
			by_code += fmt::format("{}{}: {}", by_code.empty() ? "" : ", ",
					       to_string(static_cast<ErrorCode>(c)), m.errors_by_code[c]);
	if (args->has("--json")) {
		// Every code by name, zeros included, so a reader needs no list.
		std::string codes;
		for (std::size_t c = 1; c < kErrorCodeCount; ++c)
			codes += fmt::format("{}{}:{}", codes.empty() ? "" : ",",
					     json_quote(to_string(static_cast<ErrorCode>(c))), m.errors_by_code[c]);
		// Bucket i: calls that took [2^i, 2^(i+1)) ns.
		std::string buckets;
		for (std::size_t b = 0; b < kLatencyBuckets; ++b)
			buckets += fmt::format("{}{}", b ? "," : "", m.latency[b]);
		fmt::print("{{\"plugin\":{},\"version\":{},\"state\":{},\"pid\":{},\"calls\":{},\"errors\":{},"
			   "\"errors_by_code\":{{{}}},\"calls_per_second\":{:.0f},"
			   "\"latency_p50_ns\":{},\"latency_p99_ns\":{},\"latency_p999_ns\":{},"
			   "\"latency_histogram_log2_ns\":[{}],\"rss_bytes\":{},\"cpu_user_ns\":{},"
			   "\"cpu_system_ns\":{},\"restarts\":{},\"reloads\":{},\"ring_occupancy\":{}}}\n",
			   json_quote(info.name), json_quote(info.version), json_quote(to_string(info.state)), m.pid,
			   m.calls, m.errors, codes, static_cast<double>(m.calls) / seconds, q(0.5), q(0.99), q(0.999),
			   buckets, m.rss_bytes, m.cpu_user.count(), m.cpu_system.count(), m.restarts, m.reloads,
			   m.ring_occupancy);
		return kExitOk;
	}
	fmt::print("{} {} ({}), pid {}: {} calls from {} threads in {:.2f} s ({:.0f} calls/s)\n", info.name,
		   info.version, to_string(info.state), m.pid, m.calls, *threads, seconds,
		   static_cast<double>(m.calls) / seconds);
	fmt::print("  errors          {}{}\n", m.errors, by_code.empty() ? "" : " (" + by_code + ")");
	fmt::print("  latency         p50 <= {} ns, p99 <= {} ns, p99.9 <= {} ns (host-measured, 2x buckets)\n",
		   q(0.5), q(0.99), q(0.999));
	fmt::print("  shim            rss {:.1f} MiB, cpu user {:.3f} s, system {:.3f} s\n",
		   static_cast<double>(m.rss_bytes) / (1 << 20), std::chrono::duration<double>(m.cpu_user).count(),
		   std::chrono::duration<double>(m.cpu_system).count());
	fmt::print("  lifecycle       restarts {}, reloads {}, ring occupancy {}\n", m.restarts, m.reloads,
		   m.ring_occupancy);
	return kExitOk;
}

} // namespace bulkhead::tools

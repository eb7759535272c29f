// SPDX-License-Identifier: Apache-2.0
// Benchmarks of bundle verification and plugin-root discovery, each beside
// its baseline in the same run.
#include "bench_trust.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <sodium.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "args.hpp"
#include "bench_report.hpp"
#include "bench_stats.hpp"
#include "file_io.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kVerifyUsage = R"(Usage: bulkhead bench verify [--json] [--quick] [--samples N]

Verifies a signed bundle holding a 1 MiB payload as Host::load does
(signature over the manifest, then the payload's BLAKE2b-256 against the
hash the manifest pins), beside its baselines, in one run:
  verify_1mib        ns  verify_bundle on the 1 MiB bundle (the figure)
  blake2b_1mib       ns  BLAKE2b-256 of the same MiB alone
  ed25519_raw_1mib   ns  an Ed25519 verify over the raw MiB: what signing
                         the payload itself, without a manifest hash, costs
Goal (research/perf-anchors.md): verify_1mib <= 1.5 ms median.
Exit status: 0 measured; 1 could not measure; 2 usage error.
)";

constexpr std::string_view kDiscoverUsage = R"(Usage: bulkhead bench discover [--json] [--quick] [--samples N] [--bundles N]

Fills a temporary plugin root with N signed bundles (default 500) of the
echo plugin and times Host::discover (list the root, read each bundle's
head, verify each signature and manifest), beside its baseline:
  discover_500       ns  Host::discover over the whole root (the figure)
  read_heads_500     ns  listing the root and reading the same heads, no
                         verification
Goal: discover_500 <= 300 ms median.
Exit status: 0 measured; 1 could not measure; 2 usage error.
)";

struct Common {
	bool json = false;
	std::size_t samples = 0;
	std::size_t bundles = 500;
};

std::optional<Common> parse_common(std::span<char *const> argv, std::string_view usage, std::size_t full,
				   std::size_t quick, bool &help)
{
	auto args = parse_args(argv, {"--json", "--quick"}, {"--samples", "--bundles"});
	if (args.has_value() && args->has("--help")) {
		help = true;
		return std::nullopt;
	}
	if (!args.has_value() || !args->positional.empty()) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead bench: {}\n", args.error().message);
		fmt::print(stderr, "{}", usage);
		return std::nullopt;
	}
	Common c;
	c.json = args->has("--json");
	c.samples = args->has("--quick") ? quick : full;
	for (auto [flag, target] : {std::pair{"--samples", &c.samples}, std::pair{"--bundles", &c.bundles}})
		if (auto v = args->value(flag)) {
			char *end = nullptr;
			unsigned long long n = std::strtoull(v->c_str(), &end, 10);
			if (!end || *end || n == 0) {
				fmt::print(stderr, "bulkhead bench: {} needs a count > 0\n", flag);
				return std::nullopt;
			}
			*target = n;
		}
	return c;
}

template <typename F>
Result<Summary> time_each(std::size_t samples, F &&body)
{
	std::vector<double> ns;
	ns.reserve(samples);
	for (std::size_t i = 0; i < samples; ++i) {
		auto start = Clock::now();
		TRY(body());
		ns.push_back(elapsed_ns(start, Clock::now()));
	}
	return summarize(std::move(ns));
}

int report(const Common &c, std::string_view suite, const Result<std::vector<Measurement>> &r,
	   const std::vector<Target> &targets)
{
	if (!r.has_value()) {
		log::error("bench {}: {}", suite, r.error().to_string());
		return 1;
	}
	if (c.json)
		print_json(stdout, suite, r.value());
	else
		print_table(stdout, r.value(), targets);
	return 0;
}

double median_of(const std::vector<Measurement> &r, std::string_view name)
{
	for (const auto &m : r)
		if (m.name == name)
			return m.summary.median;
	return 0;
}

Result<std::vector<Measurement>> run_verify(const Common &c)
{
	if (::sodium_init() < 0)
		return make_error(ErrorCode::Internal, "libsodium did not initialise");
	Bytes payload(1 << 20);
	::randombytes_buf(payload.data(), payload.size());
	broker::KeyPair keys = broker::generate_key_pair("bench");
	broker::TrustStore trust;
	TRY(trust.add(keys.public_key));
	Bytes manifest = TRY(broker::manifest_from_json(
		R"({"name": "bench", "version": "1.0.0", "abi_version": 1})"));
	Bytes bundle = TRY(broker::pack_bundle(manifest, {{broker::kHostPlatform, "bench.so", payload}},
					       &keys.secret_key));
	const broker::VerifyPolicy policy{&trust, false, broker::kHostPlatform};
	Bytes raw_sig(crypto_sign_BYTES);
	::crypto_sign_detached(raw_sig.data(), nullptr, payload.data(), payload.size(), keys.secret_key.key.data());

	std::vector<Measurement> out;
	// Interleaved, so all three see the same machine.
	std::vector<double> v, h, e;
	for (std::size_t i = 0; i < c.samples; ++i) {
		auto t0 = Clock::now();
		auto ok = broker::verify_bundle(bundle, policy, broker::VerifyDepth::SelectedPayload);
		auto t1 = Clock::now();
		if (!ok.has_value())
			return Unexpected(ok.error());
		auto digest = broker::blake2b_256(payload);
		auto t2 = Clock::now();
		int bad = ::crypto_sign_verify_detached(raw_sig.data(), payload.data(), payload.size(),
							keys.public_key.key.data());
		auto t3 = Clock::now();
		if (bad || digest[0] != broker::blake2b_256(payload)[0])
			return make_error(ErrorCode::Internal, "baseline verification failed");
		v.push_back(elapsed_ns(t0, t1));
		h.push_back(elapsed_ns(t1, t2));
		e.push_back(elapsed_ns(t2, t3));
	}
	out.push_back({"verify_1mib", "ns", summarize(std::move(v))});
	out.push_back({"blake2b_1mib", "ns", summarize(std::move(h))});
	out.push_back({"ed25519_raw_1mib", "ns", summarize(std::move(e))});
	return out;
}

struct TempRoot {
	std::string path;
	~TempRoot()
	{
		std::error_code ignored;
		if (!path.empty())
			std::filesystem::remove_all(path, ignored);
	}
};

Result<std::vector<Measurement>> run_discover(const Common &c)
{
	TempRoot root;
	char tmpl[] = "/tmp/bulkhead-bench-discover-XXXXXX";
	if (!::mkdtemp(tmpl))
		return Unexpected(errno_error("mkdtemp", errno));
	root.path = tmpl;
	broker::KeyPair keys = broker::generate_key_pair("bench");
	Bytes so = TRY(read_file(plugin_path("echo")));
	for (std::size_t i = 0; i < c.bundles; ++i) {
		Bytes manifest = TRY(broker::manifest_from_json(fmt::format(
			R"({{"name": "plugin{}", "version": "1.{}.0", "abi_version": 1,
			    "description": "bench bundle", "categories": ["custom"],
			    "dependencies": [{{"name": "base", "range": "^1.0"}}]}})", i, i)));
		Bytes b = TRY(broker::pack_bundle(manifest, {{broker::kHostPlatform, "echo.so", so}}, &keys.secret_key));
		TRY(write_file(fmt::format("{}/plugin{}.bhb", root.path, i), b, 0644, Replace::Never));
	}
	HostOptions o;
	o.shim_path = shim_path();
	o.plugin_root = root.path;
	TRY(o.trust.add(keys.public_key));
	auto host = TRY(Host::create(std::move(o)));
	auto plugin_root = TRY(broker::PluginRoot::open(root.path));

	std::vector<double> d, r;
	for (std::size_t i = 0; i < c.samples; ++i) {
		auto t0 = Clock::now();
		auto found = TRY(host->discover());
		auto t1 = Clock::now();
		std::size_t heads = 0;
		for (const auto &name : TRY(plugin_root.list(broker::kBundleSuffix))) {
			UniqueFd fd = TRY(plugin_root.open_file(name));
			heads += TRY(broker::read_bundle_head(fd.get(), name)).size() > 0;
		}
		auto t2 = Clock::now();
		std::size_t verified = 0;
		for (const auto &b : found)
			verified += !b.refused;
		if (verified != c.bundles || heads != c.bundles)
			return make_error(ErrorCode::Internal,
					  fmt::format("discover verified {} of {} bundles", verified, c.bundles));
		d.push_back(elapsed_ns(t0, t1));
		r.push_back(elapsed_ns(t1, t2));
	}
	return std::vector<Measurement>{{fmt::format("discover_{}", c.bundles), "ns", summarize(std::move(d))},
					{fmt::format("read_heads_{}", c.bundles), "ns", summarize(std::move(r))}};
}

} // namespace

int bench_verify(std::span<char *const> args)
{
	bool help = false;
	auto c = parse_common(args, kVerifyUsage, 2000, 50, help);
	if (!c) {
		if (help)
			fmt::print("{}", kVerifyUsage);
		return help ? 0 : 2;
	}
	auto r = run_verify(*c);
	std::vector<Target> targets;
	if (r.has_value()) {
		using K = Target::Kind;
		const double v = median_of(r.value(), "verify_1mib");
		targets = {
			{"verify_1mib (ms)", v / 1e6, K::AtMost, 1.5, " ms"},
			{"verify_1mib / blake2b_1mib", v / median_of(r.value(), "blake2b_1mib"), K::Context, 0, ""},
			{"ed25519_raw_1mib / verify_1mib", median_of(r.value(), "ed25519_raw_1mib") / v, K::Context, 0, ""},
		};
		if (!c->json)
			fmt::print("bulkhead bench verify: 1 MiB payload, {} samples\n\n", c->samples);
	}
	return report(*c, "verify", r, targets);
}

int bench_discover(std::span<char *const> args)
{
	bool help = false;
	auto c = parse_common(args, kDiscoverUsage, 30, 3, help);
	if (!c) {
		if (help)
			fmt::print("{}", kDiscoverUsage);
		return help ? 0 : 2;
	}
	log::set_min_level(log::Level::Warning);
	auto r = run_discover(*c);
	std::vector<Target> targets;
	if (r.has_value()) {
		using K = Target::Kind;
		const double d = r->front().summary.median;
		targets = {
			{fmt::format("discover_{} (ms)", c->bundles), d / 1e6, K::AtMost, 300.0 * static_cast<double>(c->bundles) / 500, " ms"},
			{"discover / read_heads", d / r->back().summary.median, K::Context, 0, ""},
		};
		if (!c->json)
			fmt::print("bulkhead bench discover: {} signed bundles, {} samples\n\n", c->bundles, c->samples);
	}
	return report(*c, "discover", r, targets);
}

} // namespace bulkhead::tools

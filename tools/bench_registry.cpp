// SPDX-License-Identifier: Apache-2.0
// Registry lookups from 8 reader threads at once, against the obvious
// alternative (a hash map behind a reader-writer lock) in the same run.
#include "bench_registry.hpp"

#include <atomic>
#include <ctime>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include <bulkhead/ext/registry.hpp>

#include "args.hpp"
#include "bench_report.hpp"
#include "bench_stats.hpp"

namespace bulkhead::tools {

namespace {

constexpr std::string_view kRegistryUsage = R"(Usage: bulkhead bench registry [--json] [--quick] [--readers N]

Looks extensions up by name in a registry of 64, from N reader threads at
once (default 8) while nothing writes, and reports per lookup:
  registry_lookup         ns  Registry::find, N concurrent readers
  registry_lookup_single  ns  Registry::find, one reader
  rwlock_map_lookup       ns  baseline: std::unordered_map behind a
                              std::shared_mutex (shared lock), N readers
  registry_lookups        calls/s  all N readers together (wall clock)
Each sample is one batch of 4096 lookups of varied names, timed by the
reader thread's own CPU clock: with more readers than cores, wall time
would count the time a reader waits for a core, which no lookup costs.
Goal: registry_lookup <= 50 ns median.
Exit status: 0 measured; 2 usage error.
)";

constexpr std::size_t kEntries = 64;
constexpr std::size_t kBatch = 4096;

double thread_cpu_ns()
{
	timespec ts{};
	::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// A name looked for and its result used, so nothing is optimized away.
std::atomic<std::uintptr_t> g_sink{0};

struct Readers {
	std::vector<double> per_lookup_ns; // one per batch, all readers
	double lookups_per_second = 0;
};

template<typename Lookup>
Readers read_concurrently(unsigned readers, std::size_t batches, const std::vector<std::string> &names,
			  Lookup lookup)
{
	std::vector<std::vector<double>> samples(readers);
	std::atomic<unsigned> ready{0};
	std::atomic<bool> go{false};
	std::vector<std::thread> threads;
	for (unsigned t = 0; t < readers; ++t)
		threads.emplace_back([&, t] {
			std::uintptr_t acc = 0;
			std::size_t k = t * 7;
			ready.fetch_add(1);
			while (!go.load(std::memory_order_acquire))
				std::this_thread::yield();
			for (std::size_t b = 0; b < batches; ++b) {
				const double t0 = thread_cpu_ns();
				for (std::size_t i = 0; i < kBatch; ++i) {
					acc += lookup(names[k]);
					k = k + 1 == names.size() ? 0 : k + 1;
				}
				samples[t].push_back((thread_cpu_ns() - t0) / kBatch);
			}
			g_sink.fetch_add(acc, std::memory_order_relaxed);
		});
	while (ready.load() != readers)
		std::this_thread::yield();
	const auto w0 = std::chrono::steady_clock::now();
	go.store(true, std::memory_order_release);
	for (auto &t : threads)
		t.join();
	const double wall = elapsed_ns(w0, std::chrono::steady_clock::now());
	Readers r;
	for (auto &s : samples)
		r.per_lookup_ns.insert(r.per_lookup_ns.end(), s.begin(), s.end());
	r.lookups_per_second = static_cast<double>(readers * batches * kBatch) / (wall / 1e9);
	return r;
}

class NullEndpoint final : public ext::Endpoint {
public:
	explicit NullEndpoint(std::string name) : name_(std::move(name)) {}
	const std::string &name() const override { return name_; }
	ext::Placement placement() const override { return ext::Placement::InProcess; }
	std::vector<std::string> operations() const override { return {}; }
	Result<Bytes> call(std::string_view, ByteView, Deadline) const override { return Bytes{}; }

private:
	std::string name_;
};

} // namespace

int bench_registry(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--json", "--quick"}, {"--readers"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", kRegistryUsage);
		return kExitOk;
	}
	unsigned readers = 8;
	if (args.has_value())
		if (auto v = args->value("--readers"))
			readers = static_cast<unsigned>(std::strtoul(v->c_str(), nullptr, 10));
	if (!args.has_value() || !args->positional.empty() || readers == 0 || readers > 256) {
		fmt::print(stderr, "{}{}", args.has_value() ? "" : args.error().message + "\n", kRegistryUsage);
		return kExitUsage;
	}
	const std::size_t batches = args->has("--quick") ? 50 : 400;

	// Names as a database would give them: a category and a backend.
	static constexpr const char *kKinds[] = {"storage", "index", "compression", "observability"};
	std::vector<std::string> names;
	ext::Registry registry;
	std::unordered_map<std::string, const ext::Registry::Entry *> map;
	std::shared_mutex lock;
	for (std::size_t i = 0; i < kEntries; ++i) {
		ext::ExtensionInfo info;
		info.name = fmt::format("{}-backend-{}", kKinds[i % 4], i);
		info.version = "1.0.0";
		info.categories = {kKinds[i % 4]};
		auto e = registry.add(info, std::make_shared<NullEndpoint>(info.name));
		if (!e.has_value()) {
			fmt::print(stderr, "bench registry: {}\n", e.error().message);
			return kExitNo;
		}
		map.emplace(info.name, e.value());
		names.push_back(info.name);
	}

	auto find = [&](const std::string &n) { return reinterpret_cast<std::uintptr_t>(registry.find(n)); };
	auto locked = [&](const std::string &n) {
		std::shared_lock l(lock);
		auto it = map.find(n);
		return reinterpret_cast<std::uintptr_t>(it == map.end() ? nullptr : it->second);
	};
	auto concurrent = read_concurrently(readers, batches, names, find);
	auto single = read_concurrently(1, batches, names, find);
	auto baseline = read_concurrently(readers, batches, names, locked);

	std::vector<Measurement> m = {
		{"registry_lookup", "ns", summarize(concurrent.per_lookup_ns)},
		{"registry_lookup_single", "ns", summarize(single.per_lookup_ns)},
		{"rwlock_map_lookup", "ns", summarize(baseline.per_lookup_ns)},
		{"registry_lookups", "calls/s", single_rate(concurrent.lookups_per_second, readers * batches * kBatch)},
	};
	if (args->has("--json")) {
		print_json(stdout, "registry", m);
		return kExitOk;
	}
	using K = Target::Kind;
	std::vector<Target> targets = {
		{fmt::format("registry_lookup, {} readers (ns)", readers), m[0].summary.median, K::AtMost, 50, " ns"},
		{"rwlock_map_lookup / registry_lookup", m[2].summary.median / m[0].summary.median, K::Context, 0, ""},
	};
	fmt::print("bulkhead bench registry: {} extensions, {} readers, {} batches of {} lookups each, {} cores\n\n",
		   kEntries, readers, batches, kBatch, std::thread::hardware_concurrency());
	print_table(stdout, m, targets);
	return kExitOk;
}

} // namespace bulkhead::tools

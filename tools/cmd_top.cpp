// SPDX-License-Identifier: Apache-2.0
// `bulkhead top`: load plugin bundles and show, refreshed like top(1), what
// the host measures about each — calls, errors, latency, rate, the shim's
// RSS and CPU, ring occupancy, restarts. Drives calls only when asked.
#include <atomic>
#include <charconv>
#include <csignal>
#include <poll.h>
#include <termios.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/log.hpp>

#include "commands.hpp"
#include "file_io.hpp"

namespace bulkhead::tools {

int top_main(std::span<char *const> args);

namespace {

std::string top_help()
{
	return std::string("Usage: bulkhead top BUNDLE... [--drive OP] [--text S] [--interval MS] [--count N]\n"
			   "                    [--trust FILE.pub]... [--dev]\n"
			   "\n"
			   "Starts each BUNDLE in its own shim as a host does and shows, every\n"
			   "--interval MS (default 1000), one row per plugin of what the host\n"
			   "measured: name, version, state, instance, calls, errors, p50/p99\n"
			   "latency, calls/s, the shim's RSS and CPU%, ring occupancy, restarts.\n"
			   "It makes no calls itself unless --drive OP is given: then one thread\n"
			   "per plugin calls OP (with --text S as input) without pause.\n"
			   "Runs --count N refreshes, or until SIGINT or 'q' on a terminal.\n"
			   "\n") +
	       kTrustHelp +
	       "  --dev                development mode: accept unsigned bundles and bare .so or .wasm files\n"
	       "\n"
	       "Exit status: 0 shown until the count or an interrupt; 2 usage error;\n"
	       "3 a file could not be read; 4 a bundle was refused.\n";
}

std::optional<std::uint64_t> positive(const std::optional<std::string> &v, std::uint64_t fallback)
{
	if (!v)
		return fallback;
	std::uint64_t n = 0;
	auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
	if (ec != std::errc() || end != v->data() + v->size() || n == 0)
		return std::nullopt;
	return n;
}

std::string human_ns(std::int64_t ns)
{
	if (ns <= 0)
		return "-";
	if (ns < 1'000)
		return fmt::format("{}ns", ns);
	if (ns < 1'000'000)
		return fmt::format("{:.1f}us", static_cast<double>(ns) / 1e3);
	if (ns < 1'000'000'000)
		return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
	return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
}

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

// While alive: SIGINT ends the loop, and a terminal on stdin delivers
// keys unbuffered, so 'q' ends it too. Restores both when it goes.
class Interaction {
public:
	Interaction()
	{
		struct sigaction sa{};
		sa.sa_handler = on_sigint;
		sigemptyset(&sa.sa_mask);
		::sigaction(SIGINT, &sa, &old_int_); // no SA_RESTART: poll() returns
		if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old_tty_) == 0) {
			termios raw = old_tty_;
			raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
			raw.c_cc[VMIN] = 1;
			raw.c_cc[VTIME] = 0;
			tty_ = keys_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		}
	}
	~Interaction()
	{
		if (tty_)
			::tcsetattr(STDIN_FILENO, TCSANOW, &old_tty_);
		::sigaction(SIGINT, &old_int_, nullptr);
	}
	Interaction(const Interaction &) = delete;
	Interaction &operator=(const Interaction &) = delete;

	// Waits up to `ms`; false once the user asked to stop.
	bool wait(std::chrono::milliseconds ms)
	{
		const auto until = Clock::now() + ms;
		while (!g_interrupted) {
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
			if (left.count() <= 0)
				return true;
			pollfd p{STDIN_FILENO, POLLIN, 0};
			const int n = ::poll(&p, keys_ ? 1 : 0, static_cast<int>(left.count()));
			if (n > 0) {
				char c = 0;
				const ssize_t got = ::read(STDIN_FILENO, &c, 1);
				if (got == 1 && (c == 'q' || c == 'Q'))
					return false;
				if (got <= 0)
					keys_ = false; // hung up: stop watching it
			}
		}
		return false;
	}

private:
	struct sigaction old_int_{};
	termios old_tty_{};
	bool tty_ = false;  // the terminal's mode is ours to restore
	bool keys_ = false; // read keys from it
};

// What the previous refresh saw of one plugin, for its rates.
struct Sample {
	std::uint64_t calls = 0;
	std::chrono::nanoseconds cpu{0};
	Clock::time_point at;
};

Sample sample(const PluginMetrics &m) { return {m.calls, m.cpu_user + m.cpu_system, Clock::now()}; }

} // namespace

int top_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--dev"},
			       {"--drive", "--text", "--interval", "--count", "--trust", "--revoke", "--revocations"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", top_help());
		return kExitOk;
	}
	auto interval = args.has_value() ? positive(args->value("--interval"), 1000) : std::nullopt;
	// 0: until interrupted.
	auto count = args.has_value() && args->value("--count") ? positive(args->value("--count"), 0)
								 : std::optional<std::uint64_t>(0);
	if (!args.has_value() || args->positional.empty() || !interval || !count) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead top: {}\n", args.error().message);
		fmt::print(stderr, "{}", top_help());
		return kExitUsage;
	}
	log::set_min_level(log::Level::Error);
	std::vector<CliPlugin> loaded;
	for (const auto &bundle : args->positional) {
		CliPlugin p = load_from_cli("top", args.value(), bundle, {});
		if (!p.plugin)
			return p.status;
		loaded.push_back(std::move(p));
	}

	std::atomic<bool> stop{false};
	std::vector<std::thread> drivers;
	if (auto op = args->value("--drive")) {
		Bytes input;
		if (auto text = args->value("--text"))
			input.assign(text->begin(), text->end());
		for (const auto &p : loaded)
			drivers.emplace_back([&stop, &plugin = *p.plugin, op = *op, input] {
				while (!stop.load(std::memory_order_relaxed))
					(void)plugin.call(op, input, Deadline::after(std::chrono::seconds(5)));
			});
	}

	std::vector<Sample> previous;
	for (const auto &p : loaded)
		previous.push_back(sample(p.plugin->metrics()));
	const bool terminal = ::isatty(STDOUT_FILENO);
	Interaction interaction;
	for (std::uint64_t n = 1; *count == 0 || n <= *count; ++n) {
		if (!interaction.wait(std::chrono::milliseconds(*interval)))
			break;
		std::string screen = terminal ? "\x1b[H\x1b[2J" : "";
		screen += fmt::format("bulkhead top: {} plugin{}, refresh {} every {} ms{}\n", loaded.size(),
				      loaded.size() == 1 ? "" : "s", n, *interval,
				      terminal ? " (q or ^C quits)" : "");
		screen += fmt::format("{:<16} {:<10} {:<11} {:>5} {:>10} {:>7} {:>8} {:>8} {:>9} {:>8} {:>6} {:>5} {:>8}\n",
				      "NAME", "VERSION", "STATE", "INST", "CALLS", "ERRORS", "P50", "P99", "CALLS/S",
				      "RSS", "CPU%", "RING", "RESTARTS");
		for (std::size_t i = 0; i < loaded.size(); ++i) {
			const Plugin &plugin = *loaded[i].plugin;
			const PluginMetrics m = plugin.metrics();
			const PluginInfo info = plugin.info();
			const Sample now = sample(m);
			const double dt = std::chrono::duration<double>(now.at - previous[i].at).count();
			const double rate = dt > 0 ? static_cast<double>(now.calls - previous[i].calls) / dt : 0;
			const double cpu = dt > 0 ? 100.0 * std::chrono::duration<double>(now.cpu - previous[i].cpu).count() / dt
						  : 0;
			previous[i] = now;
			screen += fmt::format(
				"{:<16} {:<10} {:<11} {:>5} {:>10} {:>7} {:>8} {:>8} {:>9.0f} {:>7.1f}M {:>6.1f} {:>5} {:>8}\n",
				info.name, info.version, to_string(info.state), info.instance, m.calls, m.errors,
				human_ns(latency_quantile(m.latency, 0.5).count()),
				human_ns(latency_quantile(m.latency, 0.99).count()), rate,
				static_cast<double>(m.rss_bytes) / (1 << 20), std::max(cpu, 0.0), m.ring_occupancy,
				m.restarts);
		}
		if (!terminal)
			screen += "\n";
		fmt::print("{}", screen);
		std::fflush(stdout);
	}
	stop = true;
	for (auto &d : drivers)
		d.join();
	return kExitOk;
}

} // namespace bulkhead::tools

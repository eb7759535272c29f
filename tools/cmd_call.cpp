// SPDX-License-Identifier: Apache-2.0
// `bulkhead call`: load one bundle in a shim and invoke one operation, the
// way a host would; the plugin author's debugging tool.
#include <charconv>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "commands.hpp"
#include "file_io.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

std::string call_help()
{
	return std::string("Usage: bulkhead call BUNDLE OPERATION [--input FILE|-] [--trust FILE.pub]... [options]\n"
			   "\n"
			   "Verifies BUNDLE, starts it in a shim exactly as a host does, calls\n"
			   "OPERATION once and writes the answer's bytes to standard output.\n"
			   "\n"
			   "  --input FILE         the call's input; '-' reads standard input (default: empty)\n"
			   "  --text STRING        the call's input, given inline\n"
			   "  --config FILE        bytes handed to the plugin's init()\n"
			   "  --deadline-ms N      the call's deadline (default 5000)\n"
			   "  --hex                print the answer as hex, with a newline\n"
			   "  --dev                development mode: accept unsigned bundles and bare .so or .wasm files\n") +
	       kTrustHelp +
	       "\n"
	       "Errors go to standard error with their structured fields (code, plugin,\n"
	       "instance, termination).\n"
	       "\n"
	       "Exit status: 0 the call succeeded; 1 the call failed (the plugin's error,\n"
	       "a crash, a deadline); 2 usage error; 3 a file could not be read or the\n"
	       "shim could not start; 4 the bundle was refused (untrusted, malformed, unsafe\n"
	       "path, wrong platform) before any of its code ran.\n";
}

} // namespace

CliPlugin load_from_cli(const char *command, const ParsedArgs &args, const std::string &bundle, Bytes config)
{
	CliPlugin out;
	HostOptions options;
	options.shim_path = shim_path();
	options.wasm_shim_path = wasm_shim_path();
	options.development_mode = args.has("--dev");
	options.restart.enabled = false; // one-shot tools report a crash, not hide it
	auto slash = bundle.rfind('/');
	options.plugin_root = slash == std::string::npos ? "." : slash == 0 ? "/" : bundle.substr(0, slash);
	auto trust = trust_from(args);
	if (!trust.has_value()) {
		fmt::print(stderr, "bulkhead {}: {}\n", command, trust.error().message);
		out.status = kExitIo;
		return out;
	}
	options.trust = std::move(trust).value();
	auto host = Host::create(std::move(options));
	if (!host.has_value()) {
		fmt::print(stderr, "bulkhead {}: {}\n", command, host.error().to_string());
		out.status = kExitIo;
		return out;
	}
	out.host = std::move(host).value();
	const std::string name = slash == std::string::npos ? bundle : bundle.substr(slash + 1);
	LoadOptions load;
	load.config = std::move(config);
	// A WebAssembly payload compiles on a cold cache: seconds, so say so.
	load.progress = [command](std::string_view step) {
		fmt::print(stderr, "bulkhead {}: {}\n", command, step);
	};
	auto plugin = out.host->load(name, std::move(load));
	if (!plugin.has_value()) {
		const Error &e = plugin.error();
		fmt::print(stderr, "bulkhead {}: {}\n", command, e.to_string());
		switch (e.code) {
		case ErrorCode::PermissionDenied:
		case ErrorCode::FailedPrecondition:
		case ErrorCode::InvalidArgument: // malformed: refused before it ran
			out.status = kExitRefused;
			break;
		case ErrorCode::NotFound:
		case ErrorCode::Unavailable:
			out.status = kExitIo;
			break;
		default:
			out.status = kExitNo; // the plugin started and then failed
		}
		return out;
	}
	out.plugin = std::move(plugin).value();
	return out;
}

int call_main(std::span<char *const> argv)
{
	auto args = parse_args(argv, {"--hex", "--dev"},
			       {"--input", "--text", "--config", "--deadline-ms", "--trust", "--revoke", "--revocations"});
	if (args.has_value() && args->has("--help")) {
		fmt::print("{}", call_help());
		return kExitOk;
	}
	if (!args.has_value() || args->positional.size() != 2 || (args->value("--input") && args->value("--text"))) {
		if (!args.has_value())
			fmt::print(stderr, "bulkhead call: {}\n", args.error().message);
		fmt::print(stderr, "{}", call_help());
		return kExitUsage;
	}
	std::uint64_t deadline_ms = 5000;
	if (auto d = args->value("--deadline-ms")) {
		auto [end, ec] = std::from_chars(d->data(), d->data() + d->size(), deadline_ms);
		if (ec != std::errc() || end != d->data() + d->size() || deadline_ms == 0) {
			fmt::print(stderr, "bulkhead call: --deadline-ms needs a number of milliseconds > 0\n");
			return kExitUsage;
		}
	}
	const std::string bundle = args->positional[0];
	const std::string op = args->positional[1];
	log::set_min_level(log::Level::Warning);

	Bytes input, config;
	if (auto text = args->value("--text"))
		input.assign(text->begin(), text->end());
	for (auto [flag, target] : {std::pair{"--input", &input}, std::pair{"--config", &config}})
		if (auto path = args->value(flag)) {
			auto bytes = read_file(*path);
			if (!bytes.has_value()) {
				fmt::print(stderr, "bulkhead call: {}\n", bytes.error().message);
				return kExitIo;
			}
			*target = std::move(bytes).value();
		}

	CliPlugin loaded = load_from_cli("call", args.value(), bundle, std::move(config));
	if (!loaded.plugin)
		return loaded.status;
	const Plugin &plugin = *loaded.plugin;
	auto out = plugin.call(op, input, Deadline::after(std::chrono::milliseconds(deadline_ms)));
	if (!out.has_value()) {
		const Error &e = out.error();
		fmt::print(stderr, "bulkhead call: {}\n  code={} plugin={} instance={} termination={}", e.to_string(),
			   to_string(e.code), e.plugin, e.instance, to_string(e.termination));
		if (e.signal)
			fmt::print(stderr, " signal={}", e.signal);
		fmt::print(stderr, "\n");
		return kExitNo;
	}
	if (args->has("--hex")) {
		fmt::print("{}\n", broker::hex(out.value()));
	} else {
		for (std::size_t done = 0; done < out->size();) {
			ssize_t n = ::write(STDOUT_FILENO, out->data() + done, out->size() - done);
			if (n <= 0)
				return kExitIo;
			done += static_cast<std::size_t>(n);
		}
	}
	return kExitOk;
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// bulkhead: the command-line tool. Finds the subcommand and runs it.
#include <cstdio>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "audit.hpp"
#include "bench_call.hpp"
#include "bench_peer.hpp"
#include "commands.hpp"
#include "demo.hpp"
#include "sandbox_report.hpp"

namespace bulkhead::tools {
int top_main(std::span<char *const> args); // cmd_top.cpp
} // namespace bulkhead::tools

namespace {

struct Command {
	std::string_view name;
	// Given the arguments after the name; returns the exit status.
	int (*run)(std::span<char *const> args);
	std::string_view help; // one line; empty hides the command
};

// Every subcommand, in the order `bulkhead --help` lists them. A new one is
// a line here: name, entry point, one line of help.
constexpr Command kCommands[] = {
	{"audit", bulkhead::tools::audit_main,
	 "verify the audit log's hash chain, or show its records (audit --help)"},
	{"bench", bulkhead::tools::bench_main,
	 "measure the call path against its baselines (bench --help)"},
	{"call", bulkhead::tools::call_main, "load a bundle and call one operation"},
	{"demo", bulkhead::tools::demo_main,
	 "sign and load the example plugins, kill one mid-call, watch the host carry on"},
	{"inspect", bulkhead::tools::inspect_main, "show a bundle's manifest, payloads and signature"},
	{"keygen", bulkhead::tools::keygen_main, "make an Ed25519 key pair for signing bundles"},
	{"pack", bulkhead::tools::pack_main, "build a bundle from a JSON manifest and payload files"},
	{"sandbox-report", bulkhead::tools::sandbox_report_main,
	 "load a plugin sandboxed and print each layer: enforced, degraded, off"},
	{"sign", bulkhead::tools::sign_main, "sign a bundle's manifest"},
	{"stats", bulkhead::tools::stats_main, "drive calls at a bundle and show the host-measured metrics"},
	{"top", bulkhead::tools::top_main, "show the host-measured metrics of running plugins, refreshed"},
	{"verify", bulkhead::tools::verify_main, "check bundles as a host would before running them"},
	{bulkhead::tools::kBenchPeerCommand, bulkhead::tools::bench_peer_main, ""},
};

void usage(std::FILE *out)
{
	fmt::print(out, "Usage: bulkhead <command> [options]\n\nCommands:\n");
	for (const auto &c : kCommands)
		if (!c.help.empty())
			fmt::print(out, "  {:<10} {}\n", c.name, c.help);
	fmt::print(out, "\nbulkhead <command> --help describes a command and its exit statuses\n"
			"(0 ok, 1 refused or failed, 2 usage error, 3 file error, 4 bundle refused\n"
			"before any of its code ran (call, stats, top); docs/cli.md).\n");
}

} // namespace

int main(int argc, char **argv)
{
	const std::span<char *const> args(argv + 1, argc > 1 ? static_cast<std::size_t>(argc - 1) : 0);
	if (args.empty()) {
		usage(stderr);
		return 2;
	}
	const std::string_view name = args[0];
	if (name == "--help" || name == "-h" || name == "help") {
		usage(stdout);
		return 0;
	}
	for (const auto &c : kCommands)
		if (c.name == name)
			return c.run(args.subspan(1));
	fmt::print(stderr, "bulkhead: unknown command '{}'\n\n", name);
	usage(stderr);
	return 2;
}

// SPDX-License-Identifier: Apache-2.0
// `bulkhead demo`: signs and installs the example plugins (a tampered copy
// is refused), loads them, calls them, kills one in the
// middle of a call, prints the structured error, and shows the host
// carrying on.
#include "demo.hpp"

#include <chrono>
#include <string_view>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>
#include <bulkhead/host.hpp>
#include <bulkhead/log.hpp>

#include "demo_bundles.hpp"
#include "paths.hpp"

namespace bulkhead::tools {

namespace {

using namespace std::chrono_literals;

std::string show(const Result<Bytes> &r, bool hex = false)
{
	if (!r.has_value())
		return "error: " + r.error().to_string();
	if (hex) {
		std::string out;
		for (std::uint8_t b : r.value())
			out += fmt::format("{:02x}", b);
		return out;
	}
	return fmt::format("\"{}\"", as_string(r.value()));
}

void show_plugin(const Plugin &p)
{
	PluginInfo i = p.info();
	std::string ops;
	for (const auto &o : i.operations)
		ops += (ops.empty() ? "" : ", ") + o;
	fmt::print("  {} {}  instance {}  pid {}  operations: {}\n", i.name, i.version, i.instance,
		   i.pid, ops);
}

Result<Bytes> timed_call(const Plugin &p, std::string_view op, std::string_view input, bool hex = false)
{
	auto start = Clock::now();
	auto r = p.call(op, as_bytes(input), Deadline::after(5s));
	auto us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
	fmt::print("  {}.{}(\"{}\") -> {}  ({:.1f} µs)\n", p.name(), op, input, show(r, hex), us);
	return r;
}

} // namespace

int demo_main(std::span<char *const> args)
{
	if (!args.empty()) {
		fmt::print("Usage: bulkhead demo\n\nSigns the example plugins (echo, hash) with a fresh key, "
			   "installs them\n(a tampered copy is refused), loads each into its own shim process,\n"
			   "calls them, kills one in the middle of a call, prints "
			   "the structured\nerror, and shows the host carrying on. Exit status 0 when "
			   "all of that\nhappened as described, 1 otherwise.\n");
		return std::string_view(args[0]) == "--help" ? 0 : 2;
	}
	log::set_min_level(log::Level::Error); // the demo narrates itself

	auto demo_root = DemoRoot::create();
	if (!demo_root.has_value()) {
		fmt::print(stderr, "bulkhead demo: {}\n", demo_root.error().to_string());
		return 1;
	}
	const DemoRoot &dr = demo_root.value();
	HostOptions options;
	options.shim_path = shim_path();
	options.plugin_root = dr.root();
	options.audit_log = dr.staging() + "/audit.log";
	if (auto added = options.trust.add(dr.key()); !added.has_value())
		return 1;
	auto host = Host::create(options);
	if (!host.has_value()) {
		fmt::print(stderr, "bulkhead demo: {}\n", host.error().to_string());
		return 1;
	}
	fmt::print("Installing the example plugins, signed with key {}:\n", dr.key().id);
	bool ok = true;
	for (const char *b : {"echo.bhb", "hash.bhb", "echo-tampered.bhb"}) {
		auto r = host.value()->install(dr.staging() + "/" + b);
		fmt::print("  {} -> {}\n", b, r.has_value() ? "installed as " + r.value() : r.error().message);
		ok &= r.has_value() == (std::string_view(b) != "echo-tampered.bhb");
	}

	fmt::print("\nLoading them, each into its own shim process:\n");
	auto echo = host.value()->load("echo-1.0.0.bhb");
	auto hash = host.value()->load("hash-1.0.0.bhb");
	for (auto *p : {&echo, &hash})
		if (!p->has_value()) {
			fmt::print(stderr, "bulkhead demo: {}\n", p->error().to_string());
			return 1;
		}
	show_plugin(echo.value());
	show_plugin(hash.value());

	fmt::print("\nCalling them through shared-memory rings:\n");
	ok &= timed_call(echo.value(), "echo", "hello, bulkhead").has_value();
	ok &= timed_call(echo.value(), "reverse", "hello, bulkhead").has_value();
	ok &= timed_call(hash.value(), "blake2b", "hello, bulkhead", true).has_value();
	ok &= !timed_call(echo.value(), "fail", "on purpose").has_value();
	ok &= !timed_call(echo.value(), "no-such-op", "x").has_value();

	fmt::print("\nA call that takes 250 ms; its shim is killed (SIGKILL) 50 ms in:\n");
	std::thread killer([&] {
		std::this_thread::sleep_for(50ms);
		fmt::print("  ... killing pid {}\n", echo->info().pid);
		echo->kill();
	});
	const std::uint8_t ms = 250;
	auto killed = echo->call("slow", ByteView(&ms, 1), Deadline::after(5s));
	killer.join();
	fmt::print("  echo.slow -> {}\n", show(killed));
	if (!killed.has_value()) {
		const Error &e = killed.error();
		fmt::print("  structured: code={} plugin={} instance={} termination={} signal={}\n",
			   to_string(e.code), e.plugin, e.instance, to_string(e.termination), e.signal);
	}
	ok &= !killed.has_value() && killed.error().code == ErrorCode::PluginCrashed;
	fmt::print("  echo alive: {}; later calls fail at once: {}\n", echo->alive() ? "yes" : "no",
		   show(echo->call("echo", as_bytes("x"), Deadline::after(1s))));

	fmt::print("\nThe host carries on:\n");
	ok &= timed_call(hash.value(), "fnv1a", "still here", true).has_value();
	auto again = host.value()->load("echo-1.0.0.bhb");
	if (!again.has_value()) {
		fmt::print(stderr, "bulkhead demo: {}\n", again.error().to_string());
		return 1;
	}
	show_plugin(again.value());
	ok &= timed_call(again.value(), "echo", "back again").has_value();

	echo->wait_exit(5s);
	auto audit = broker::verify_audit_log(options.audit_log);
	if (audit.has_value()) {
		fmt::print("\nThe audit log ({} records, chain {}): every install, verification, load, "
			   "kill and crash:\n", audit->records, audit->intact ? "intact" : "BROKEN");
		std::ifstream in(options.audit_log);
		for (std::string line; std::getline(in, line);) {
			auto e = broker::parse_audit_line(line);
			if (!e)
				continue;
			// A refusal's detail starts with the file's path; the reason follows.
			std::string_view why = e->record.detail;
			if (auto at = why.find("bundle refused"); at != std::string_view::npos)
				why.remove_prefix(at);
			fmt::print("  #{:<2} {:<8} {:<6} {:<9} {}\n", e->seq, broker::to_string(e->record.event),
				   e->record.plugin, e->record.outcome, why.substr(0, 70));
		}
	}
	ok &= audit.has_value() && audit->intact;

	fmt::print("\n{}\n", ok ? "Demo complete: one plugin died, its call failed with a structured "
				  "error, everything else kept working."
				: "Demo FAILED: something above did not behave as described.");
	return ok ? 0 : 1;
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// WebAssembly plugins end to end with real shims through the Host API, in
// both tiers: calls, runaway code, fuel, memory caps, traps and refusals.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>

#include "../broker/test_support.hpp"
#include "wasm_test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;
using wasm::TierPolicy;

namespace {

constexpr TierPolicy kTiers[] = {TierPolicy::Aot, TierPolicy::Interp};
const char *tier_name(TierPolicy t) { return t == TierPolicy::Aot ? "wasm-aot" : "wasm-interp"; }

Bytes u32_bytes(std::uint32_t v)
{
	Bytes b(4);
	std::memcpy(b.data(), &v, 4);
	return b;
}

std::uint32_t u32_at(const Bytes &b, std::size_t at = 0)
{
	std::uint32_t v = 0;
	std::memcpy(&v, b.data() + at, 4);
	return v;
}

// The value, or the test stops there saying what the error was.
template<typename T>
T ok(Result<T> r)
{
	REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
	return std::move(r).value();
}

Plugin load(Host &host, const char *name, LoadOptions options = {})
{
	auto p = host.load(test::wasm_plugin(name), std::move(options));
	REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
	return p.value();
}

LoadOptions with_run(wasm::RunOptions run)
{
	LoadOptions o;
	o.wasm = std::move(run);
	return o;
}

} // namespace

TEST_CASE("echo_answers_in_both_tiers_and_says_which_runs_it")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto echo = load(*host, "echo");
		auto info = echo.info();
		CHECK(info.name == "wasm-echo");
		CHECK(info.version == "1.0.0");
		CHECK(info.runtime == tier_name(tier));
		CHECK(info.operations ==
		      std::vector<std::string>{"echo", "reverse", "fail", "log", "bulkhead.fuel_remaining"});
		CHECK(as_string(echo.call("reverse", as_bytes("abc"), Deadline::after(5s)).value()) == "cba");
		CHECK(echo.call("echo", {}, Deadline::after(5s)).value().empty());
		Bytes big(info.max_payload, 0x5a);
		CHECK(echo.call("echo", big, Deadline::after(5s)).value() == big);
		CHECK(as_string(echo.call("log", as_bytes("x"), Deadline::after(5s)).value()) == "x");
		auto refused = echo.call("fail", {}, Deadline::after(5s));
		REQUIRE_FALSE(refused.has_value());
		CHECK(refused.error().code == ErrorCode::InvalidArgument);
		CHECK(refused.error().message == "echo refuses on purpose");
		CHECK(refused.error().plugin == "wasm-echo");
	}
}

TEST_CASE("a_native_plugin_says_it_is_native")
{
	auto host = test::wasm_host(TierPolicy::Auto);
	auto p = host->load(BULKHEAD_TEST_COMPUTE_NATIVE);
	REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
	CHECK(p->info().runtime == "native");
	CHECK(p->fuel_remaining(Deadline::after(5s)).error().code == ErrorCode::FailedPrecondition);
}

TEST_CASE("init_refusal_in_a_guest_fails_the_load")
{
	auto host = test::wasm_host(TierPolicy::Interp);
	LoadOptions o;
	o.config = Bytes{'r', 'e', 'f', 'u', 's', 'e'};
	auto p = host->load(test::wasm_plugin("echo"), o);
	REQUIRE_FALSE(p.has_value());
	CHECK(p.error().code == ErrorCode::PluginFailed);
	CHECK(p.error().message.find("told to refuse") != std::string::npos);
}

TEST_CASE("compute_gives_the_same_answers_native_and_in_both_tiers")
{
	auto host = test::wasm_host(TierPolicy::Aot);
	auto native = host->load(BULKHEAD_TEST_COMPUTE_NATIVE).value();
	auto aot = load(*host, "compute");
	auto interp = load(*host, "compute", with_run(test::run(TierPolicy::Interp)));
	CHECK(aot.info().runtime == "wasm-aot");
	CHECK(interp.info().runtime == "wasm-interp");
	for (auto *p : {&native, &aot, &interp}) {
		CHECK(u32_at(p->call("sieve", u32_bytes(100'000), Deadline::after(30s)).value()) == 9592);
		CHECK(p->call("xorshift", u32_bytes(1000), Deadline::after(30s)).value() ==
		      native.call("xorshift", u32_bytes(1000), Deadline::after(5s)).value());
	}
}

TEST_CASE("runaway_loop_traps_at_the_deadline_and_the_instance_still_answers")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		// The per-call limit traps long before the host's own deadline.
		auto spin = load(*host, "spin", with_run(test::run(tier, [](wasm::RunOptions &r) { r.call_limit = 100ms; })));
		const int pid = spin.info().pid;
		auto r = spin.call("spin", {}, Deadline::after(30s));
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::DeadlineExceeded);
		CHECK(r.error().message.find("deadline_exceeded") != std::string::npos);
		CHECK(as_string(ok(spin.call("ping", {}, Deadline::after(5s)))) == "pong");
		CHECK(spin.alive());
		CHECK(spin.info().pid == pid);

		// Without a limit, the call's own deadline: trapped just before it,
		// so the answer (not a kill) reaches the host.
		auto plain = load(*host, "spin", with_run(test::run(tier)));
		auto d = plain.call("spin", {}, Deadline::after(300ms));
		REQUIRE_FALSE(d.has_value());
		CHECK(d.error().code == ErrorCode::DeadlineExceeded);
		CHECK(as_string(ok(plain.call("ping", {}, Deadline::after(5s)))) == "pong");
		CHECK(plain.alive());
	}
}

// The guest's own trap needs the shim to run; a shim that cannot (stopped,
// starved, wedged in a host function) is the broker's to end: at the call's
// deadline it kills the shim and says so.
TEST_CASE("a_wasm_shim_that_cannot_trap_in_time_is_killed_by_the_broker_at_the_deadline")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto echo = load(*host, "echo", with_run(test::run(tier)));
		const int pid = echo.info().pid;
		REQUIRE(pid > 0);
		REQUIRE(::kill(pid, SIGSTOP) == 0);
		auto r = echo.call("echo", as_bytes("x"), Deadline::after(300ms));
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::DeadlineExceeded);
		REQUIRE(echo.wait_exit(10s));
		REQUIRE(echo.exit_error().has_value());
		CHECK(echo.exit_error()->termination == Termination::Deadline);
		CHECK(test::eventually([&] { return ::kill(pid, 0) != 0; }));
	}
}

TEST_CASE("endless_recursion_traps_and_the_instance_still_answers")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto spin = load(*host, "spin", with_run(test::run(tier, [](wasm::RunOptions &r) { r.call_limit = 2000ms; })));
		auto r = spin.call("recurse", {}, Deadline::after(30s));
		REQUIRE_FALSE(r.has_value());
		CHECK((r.error().code == ErrorCode::PluginFailed ||
		       r.error().code == ErrorCode::DeadlineExceeded));
		CHECK(as_string(ok(spin.call("ping", {}, Deadline::after(5s)))) == "pong");
	}
}

TEST_CASE("fuel_runs_out_with_fuel_exhausted_and_the_remainder_is_observable")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		constexpr std::uint64_t kBudget = 2'000'000;
		auto spin = load(*host, "spin", with_run(test::run(tier, [&](wasm::RunOptions &r) { r.fuel = kBudget; })));
		const std::uint64_t start = spin.fuel_remaining(Deadline::after(5s)).value();
		CHECK(start < kBudget); // _initialize and describe ran on it
		CHECK(start > kBudget - 100'000);
		REQUIRE(spin.call("count", u32_bytes(1000), Deadline::after(5s)).has_value());
		const std::uint64_t after = spin.fuel_remaining(Deadline::after(5s)).value();
		CHECK(after < start - 1000 * 5); // a loop iteration costs several
		CHECK(after > start - 1000 * 100);

		auto out = spin.call("count", u32_bytes(100'000'000), Deadline::after(30s));
		REQUIRE_FALSE(out.has_value());
		CHECK(out.error().code == ErrorCode::ResourceExhausted);
		CHECK(out.error().message.find("fuel_exhausted") != std::string::npos);
		CHECK(spin.fuel_remaining(Deadline::after(5s)).value() == 0);
		CHECK(spin.call("ping", {}, Deadline::after(5s)).error().code == ErrorCode::ResourceExhausted);
		CHECK(spin.alive());

		// A fresh instance (what a reload starts) has the whole budget.
		auto fresh = load(*host, "spin", with_run(test::run(tier, [&](wasm::RunOptions &r) { r.fuel = kBudget; })));
		CHECK(fresh.fuel_remaining(Deadline::after(5s)).value() == start);
	}
}

TEST_CASE("a_reload_starts_a_fresh_instance_with_the_whole_fuel_budget")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto options = [&] { return with_run(test::run(tier, [](wasm::RunOptions &r) { r.fuel = 5'000'000; })); };
		auto spin = load(*host, "spin", options());
		const std::uint64_t full = ok(spin.fuel_remaining(Deadline::after(5s)));
		REQUIRE(spin.call("count", u32_bytes(10'000), Deadline::after(10s)).has_value());
		CHECK(ok(spin.fuel_remaining(Deadline::after(5s))) < full);
		auto reloaded = host->reload(spin, test::wasm_plugin("spin"), options());
		REQUIRE_MESSAGE(reloaded.has_value(), reloaded.error().to_string());
		CHECK(ok(spin.fuel_remaining(Deadline::after(5s))) == full);
	}
}

TEST_CASE("an_instance_without_a_budget_has_no_fuel_to_report")
{
	auto host = test::wasm_host(TierPolicy::Interp);
	auto spin = load(*host, "spin");
	CHECK(spin.fuel_remaining(Deadline::after(5s)).error().code == ErrorCode::FailedPrecondition);
}

TEST_CASE("memory_grow_beyond_the_cap_returns_minus_one")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto hog = load(*host, "hog", with_run(test::run(tier, [](wasm::RunOptions &r) { r.memory_cap_bytes = 16ull << 20; })));
		auto r = hog.call("grow", {}, Deadline::after(10s));
		REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
		CHECK(u32_at(r.value(), 0) <= 256);  // pages: 16 MiB
		CHECK(u32_at(r.value(), 0) > 240);   // grew in steps of 16 pages up to it
		CHECK(u32_at(r.value(), 4) == 0xffffffffu);
		CHECK(u32_at(hog.call("pages", {}, Deadline::after(5s)).value()) == u32_at(r.value(), 0));
	}
}

TEST_CASE("out_of_bounds_access_is_reported_as_a_structured_error")
{
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto host = test::wasm_host(tier);
		auto hog = load(*host, "hog");
		auto r = hog.call("oob", {}, Deadline::after(5s));
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::PluginFailed);
		CHECK(r.error().message.find("out_of_bounds") != std::string::npos);
		CHECK(r.error().plugin == "hog");
		CHECK(hog.call("pages", {}, Deadline::after(5s)).has_value());
		CHECK(hog.alive());
	}
}

TEST_CASE("a_module_whose_initial_memory_exceeds_the_cap_is_refused_at_load")
{
	auto host = test::wasm_host(TierPolicy::Auto);
	auto r = host->load(test::wasm_plugin("hog-big"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::ResourceExhausted);
	// The default cap, 256 MiB, is fitted under the default sandbox limit
	// (256 MiB) beside the shim: 224 MiB for tier A (which Auto picks here),
	// half that for the interpreter, whose memory.grow copies.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	const char *aot_cap = "over the cap of 112 MiB"; // tier A's grow is a realloc here
#else
	const char *aot_cap = "over the cap of 224 MiB";
#endif
	CHECK(r.error().message.find(std::string("512 MiB, ") + aot_cap) != std::string::npos);
	CHECK(host->plugins().empty());
	// A cap over the sandbox's memory limit is lowered to fit it, so the
	// module is still refused by its initial memory, not killed later.
	wasm::RunOptions big;
	big.tier = TierPolicy::Interp;
	big.memory_cap_bytes = 1ull << 30;
	auto over = host->load(test::wasm_plugin("hog-big"), with_run(big));
	REQUIRE_FALSE(over.has_value());
	CHECK(over.error().code == ErrorCode::ResourceExhausted);
	CHECK(over.error().message.find("512 MiB, over the cap of 112 MiB") != std::string::npos);
	// Under a larger cap and sandbox limit it loads.
	auto options = test::wasm_options(TierPolicy::Auto);
	options.sandbox.memory_limit = 2ull << 30;
	auto roomy = std::move(Host::create(options).value());
	auto loaded = roomy->load(test::wasm_plugin("hog-big"), with_run(big));
	CHECK_MESSAGE(loaded.has_value(), (loaded.has_value() ? std::string() : loaded.error().to_string()));
}

TEST_CASE("forbidden_imports_are_refused_at_load_naming_each_one")
{
	auto host = test::wasm_host(TierPolicy::Auto);
	auto r = host->load(test::wasm_plugin("forbidden"));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PermissionDenied);
	CHECK(r.error().message.find("env.open_socket (function, not in the host ABI)") != std::string::npos);
	CHECK(r.error().message.find("bulkhead.spawn_process (function, not in the host ABI)") !=
	      std::string::npos);
	CHECK(r.error().message.find("reply_ok") == std::string::npos);
}

TEST_CASE("an_import_beyond_the_granted_capabilities_is_refused")
{
	auto host = test::wasm_host(TierPolicy::Interp);
	wasm::RunOptions none;
	none.tier = TierPolicy::Interp;
	none.capabilities = {};
	auto r = host->load(test::wasm_plugin("echo"), with_run(none));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PermissionDenied);
	CHECK(r.error().message.find("bulkhead.log (needs capability 'log', not granted)") !=
	      std::string::npos);
}

int main(int argc, char **argv)
{
	if (std::strlen(BULKHEAD_TEST_WASM_SKIP) > 0) {
		std::printf("SKIP: %s\n", BULKHEAD_TEST_WASM_SKIP);
		return 77;
	}
	doctest::Context context(argc, argv);
	return context.run();
}

TEST_CASE("both_tiers_run_sandboxed_without_cgroups_under_the_address_space_limit")
{
	// The last-resort sandbox caps address space; tier A's guard regions
	// are reserved on top, never touched.
	for (auto tier : kTiers) {
		CAPTURE(tier_name(tier));
		auto options = test::wasm_options(tier);
		options.sandbox.cgroups = false;
		auto host = std::move(Host::create(options).value());
		auto echo = load(*host, "echo");
		CHECK(echo.info().runtime == tier_name(tier));
		CHECK(as_string(echo.call("reverse", as_bytes("abc"), Deadline::after(5s)).value()) == "cba");
		bool rlimit_as = false;
		for (const auto &l : echo.sandbox().layers)
			rlimit_as = rlimit_as || l.detail.find("RLIMIT_AS") != std::string::npos;
		CHECK(rlimit_as);
	}
}

// SPDX-License-Identifier: Apache-2.0
// Crash isolation with real processes: a plugin that segfaults, aborts,
// exits, hangs, throws or scribbles on its channel fails only its own calls,
// each with a structured error, and the host carries on.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

struct Fixture {
	Fixture() : host(std::move(Host::create(test::options()).value())) {}
	Plugin load_faulty()
	{
		auto p = host->load(test::plugin("faulty"));
		REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
		return p.value();
	}
	// The host is fine: a fresh plugin answers.
	void check_host_carries_on()
	{
		auto echo = host->load(test::plugin("echo"));
		REQUIRE_MESSAGE(echo.has_value(), echo.error().to_string());
		auto r = echo->call("echo", as_bytes("still here"), Deadline::after(5s));
		REQUIRE(r.has_value());
		CHECK(as_string(r.value()) == "still here");
	}
	std::unique_ptr<Host> host;
};

void check_crash(const Error &e, Termination termination, int signal_or_status)
{
	INFO(e.to_string());
	CHECK(e.code == ErrorCode::PluginCrashed);
	CHECK(e.plugin == "faulty");
	CHECK(e.instance != 0);
	CHECK(e.termination == termination);
	if (termination == Termination::Signal)
		CHECK(e.signal == signal_or_status);
	else
		CHECK(e.exit_status == signal_or_status);
}

} // namespace

TEST_CASE_FIXTURE(Fixture, "segfaulting_plugin_fails_its_call_with_the_signal")
{
	Plugin p = load_faulty();
	auto r = p.call("segfault", {}, Deadline::after(10s));
	REQUIRE_FALSE(r.has_value());
	check_crash(r.error(), Termination::Signal, SIGSEGV);
	CHECK_FALSE(p.alive());
	// Later calls fail the same way, at once.
	auto again = p.call("ok", {}, Deadline::after(10s));
	REQUIRE_FALSE(again.has_value());
	check_crash(again.error(), Termination::Signal, SIGSEGV);
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "aborting_plugin_fails_its_call_with_sigabrt")
{
	Plugin p = load_faulty();
	auto r = p.call("abort", {}, Deadline::after(10s));
	REQUIRE_FALSE(r.has_value());
	check_crash(r.error(), Termination::Signal, SIGABRT);
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "exiting_plugin_fails_its_call_with_the_exit_status")
{
	Plugin p = load_faulty();
	auto r = p.call("exit", {}, Deadline::after(10s));
	REQUIRE_FALSE(r.has_value());
	check_crash(r.error(), Termination::Exit, 3);
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "hung_plugin_is_killed_at_the_deadline")
{
	Plugin p = load_faulty();
	auto r = p.call("loop", {}, Deadline::after(300ms));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::DeadlineExceeded);
	CHECK(r.error().plugin == "faulty");
	REQUIRE(p.wait_exit(10s));
	auto verdict = p.exit_error();
	REQUIRE(verdict.has_value());
	CHECK(verdict->termination == Termination::Deadline);
	CHECK(verdict->signal == SIGKILL);
	auto later = p.call("ok", {}, Deadline::after(1s));
	REQUIRE_FALSE(later.has_value());
	CHECK(later.error().termination == Termination::Deadline);
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "plugin_exception_becomes_an_error_reply_and_the_shim_lives")
{
	Plugin p = load_faulty();
	auto r = p.call("throw", {}, Deadline::after(10s));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PluginFailed);
	CHECK(r.error().message.find("faulty threw on purpose") != std::string::npos);
	auto huge = p.call("alloc_huge", {}, Deadline::after(10s));
	REQUIRE_FALSE(huge.has_value());
	CHECK(huge.error().code == ErrorCode::PluginFailed);
	CHECK(huge.error().message.find("bad_alloc") != std::string::npos);
	CHECK(p.alive());
	auto ok = p.call("ok", as_bytes("fine"), Deadline::after(10s));
	REQUIRE(ok.has_value());
	CHECK(as_string(ok.value()) == "fine");
}

TEST_CASE_FIXTURE(Fixture, "garbage_in_the_shim_region_is_a_protocol_violation")
{
	Plugin p = load_faulty();
	auto r = p.call("scribble", {}, Deadline::after(10s));
	REQUIRE_FALSE(r.has_value());
	INFO(r.error().to_string());
	CHECK(r.error().code == ErrorCode::ProtocolViolation);
	CHECK(r.error().termination == Termination::Protocol);
	REQUIRE(p.wait_exit(10s));
	CHECK(p.exit_error()->code == ErrorCode::ProtocolViolation);
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "plugin_closing_its_descriptors_ends_with_a_verdict")
{
	Plugin p = load_faulty();
	// The call itself may still be answered through the mapped rings.
	(void)p.call("close_fds", {}, Deadline::after(10s));
	REQUIRE(p.wait_exit(10s));
	auto verdict = p.exit_error();
	REQUIRE(verdict.has_value());
	INFO(verdict->to_string());
	CHECK(verdict->termination != Termination::None);
	auto later = p.call("ok", {}, Deadline::after(1s));
	REQUIRE_FALSE(later.has_value());
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "every_call_in_flight_fails_promptly_when_the_shim_crashes")
{
	Plugin p = load_faulty();
	// The first call crashes the shim 150 ms in; the others are queued
	// behind it on the ring, in flight, when it dies.
	std::uint8_t ms = 150;
	std::optional<Result<Bytes>> crash;
	std::thread first([&] { crash = p.call("crash_later", ByteView(&ms, 1), Deadline::after(60s)); });
	std::this_thread::sleep_for(30ms);
	constexpr int kCallers = 6;
	std::vector<std::thread> threads;
	std::vector<std::optional<Result<Bytes>>> results(kCallers);
	for (int i = 0; i < kCallers; ++i)
		threads.emplace_back([&, i] { results[i] = p.call("ok", as_bytes("queued"), Deadline::after(60s)); });
	for (auto &t : threads)
		t.join();
	first.join();
	REQUIRE(crash.has_value());
	REQUIRE_FALSE(crash->has_value());
	check_crash(crash->error(), Termination::Signal, SIGSEGV);
	for (auto &r : results) {
		REQUIRE(r.has_value());
		REQUIRE_FALSE(r->has_value());
		check_crash(r->error(), Termination::Signal, SIGSEGV);
	}
	check_host_carries_on();
}

TEST_CASE_FIXTURE(Fixture, "killing_a_shim_mid_call_fails_that_call")
{
	Plugin p = load_faulty();
	std::thread killer([&] {
		std::this_thread::sleep_for(50ms);
		p.kill();
	});
	std::uint8_t ms = 250;
	auto r = p.call("sleep", ByteView(&ms, 1), Deadline::after(60s));
	killer.join();
	REQUIRE_FALSE(r.has_value());
	check_crash(r.error(), Termination::Signal, SIGKILL);
}

TEST_CASE("host_releases_every_process_and_descriptor")
{
	const int before = test::open_fds();
	{
		auto host = std::move(Host::create(test::options()).value());
		for (int i = 0; i < 5; ++i) {
			auto e = host->load(test::plugin("echo"));
			REQUIRE(e.has_value());
			REQUIRE(e->call("echo", as_bytes("x"), Deadline::after(5s)).has_value());
			auto f = host->load(test::plugin("faulty"));
			REQUIRE(f.has_value());
			(void)f->call("segfault", {}, Deadline::after(5s));
			host->unload(e.value());
		}
		CHECK(host->load("/nonexistent/plugin.so").error().code == ErrorCode::NotFound);
	}
	CHECK(test::open_fds() == before);
	CHECK(test::no_children());
}

// SPDX-License-Identifier: Apache-2.0
// The Host API end to end with real shims: calls, the async form on a
// Boost.Asio io_context, concurrent callers, bad input, and shims dying
// with their host.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Host> make_host() { return std::move(Host::create(test::options()).value()); }

} // namespace

TEST_CASE("echo_and_hash_plugins_answer_their_operations")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo"));
	REQUIRE_MESSAGE(echo.has_value(), echo.error().to_string());
	auto info = echo->info();
	CHECK(info.name == "echo");
	CHECK(info.version == "1.0.0");
	CHECK(info.alive);
	CHECK(info.pid > 0);
	CHECK(info.operations == std::vector<std::string>{"echo", "reverse", "slow", "fail"});
	CHECK(as_string(echo->call("reverse", as_bytes("abc"), Deadline::after(5s)).value()) == "cba");
	auto empty = echo->call("echo", {}, Deadline::after(5s));
	REQUIRE(empty.has_value());
	CHECK(empty.value().empty());
	Bytes big(info.max_payload, 0x5a);
	auto max = echo->call("echo", big, Deadline::after(5s));
	REQUIRE(max.has_value());
	CHECK(max.value() == big);

	auto hash = host->load(test::plugin("hash"));
	REQUIRE(hash.has_value());
	auto digest = hash->call("fnv1a", as_bytes("a"), Deadline::after(5s));
	REQUIRE(digest.has_value());
	// FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
	CHECK(digest.value() == Bytes{0x8c, 0xec, 0x01, 0x86, 0x4c, 0xdc, 0x63, 0xaf});
	CHECK(hash->call("blake2b", as_bytes("a"), Deadline::after(5s)).value().size() == 32);
	CHECK(host->plugins().size() == 2);
}

TEST_CASE("plugin_errors_carry_the_code_and_message")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	auto r = echo.call("fail", as_bytes("why"), Deadline::after(5s));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::InvalidArgument);
	CHECK(r.error().message == "echo refuses on purpose: why");
	CHECK(r.error().plugin == "echo");
	CHECK(echo.alive());
}

TEST_CASE("bad_input_gives_errors_that_name_the_cause")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();

	auto unknown = echo.call("frobnicate", {}, Deadline::after(5s));
	REQUIRE_FALSE(unknown.has_value());
	CHECK(unknown.error().code == ErrorCode::NotFound);
	CHECK(unknown.error().message.find("'frobnicate'") != std::string::npos);
	CHECK(unknown.error().message.find("echo, reverse") != std::string::npos);

	Bytes huge(echo.info().max_payload + 1);
	auto too_big = echo.call("echo", huge, Deadline::after(5s));
	REQUIRE_FALSE(too_big.has_value());
	CHECK(too_big.error().code == ErrorCode::InvalidArgument);
	CHECK(too_big.error().message.find(std::to_string(huge.size())) != std::string::npos);
	CHECK(echo.alive());

	auto missing = host->load("/nonexistent/dir/plugin.so");
	REQUIRE_FALSE(missing.has_value());
	CHECK(missing.error().code == ErrorCode::NotFound);
	CHECK(missing.error().message.find("/nonexistent/dir/plugin.so") != std::string::npos);

	auto dir = host->load("/tmp");
	REQUIRE_FALSE(dir.has_value());
	CHECK(dir.error().code == ErrorCode::InvalidArgument);
	CHECK(dir.error().message.find("not a regular file") != std::string::npos);

	auto text = host->load("/etc/hostname");
	REQUIRE_FALSE(text.has_value());
	CHECK(text.error().code == ErrorCode::InvalidArgument);

	auto noentry = host->load(std::string(BULKHEAD_TEST_FAULTY_DIR) + "/bulkhead-plugin-noentry.so");
	REQUIRE_FALSE(noentry.has_value());
	CHECK(noentry.error().code == ErrorCode::InvalidArgument);
	CHECK(noentry.error().message.find("bulkhead_plugin_entry") != std::string::npos);

	auto no_shim_host = std::move(Host::create(test::options("/nonexistent/bulkhead-shim")).value());
	auto no_shim = no_shim_host->load(test::plugin("echo"));
	REQUIRE_FALSE(no_shim.has_value());
	CHECK(no_shim.error().code == ErrorCode::NotFound);
	CHECK(no_shim.error().message.find("/nonexistent/bulkhead-shim") != std::string::npos);

	HostOptions bad = test::options();
	bad.geometry.cells = 3;
	auto bad_host = Host::create(bad);
	REQUIRE_FALSE(bad_host.has_value());
	CHECK(bad_host.error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("concurrent_callers_each_get_their_own_answer")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	constexpr int kThreads = 8, kCalls = 500;
	std::atomic<int> wrong{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kCalls; ++i) {
				std::string msg = "thread " + std::to_string(t) + " call " + std::to_string(i);
				auto r = echo.call("echo", as_bytes(msg), Deadline::after(30s));
				if (!r.has_value() || as_string(r.value()) != msg)
					wrong++;
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK(wrong == 0);
}

TEST_CASE("submitted_calls_are_answered_in_any_order_they_are_waited_for")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	std::vector<PendingCall> pending;
	for (int i = 0; i < 40; ++i)
		pending.push_back(echo.submit("echo", as_bytes("call " + std::to_string(i)),
					      Deadline::after(30s)).value());
	for (int i = 39; i >= 0; --i) {
		auto r = pending[i].wait();
		REQUIRE(r.has_value());
		CHECK(as_string(r.value()) == "call " + std::to_string(i));
	}
	auto twice = pending[0].wait();
	REQUIRE_FALSE(twice.has_value());
	CHECK(twice.error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("dropping_a_submitted_call_frees_its_slot")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	const auto slots = host->options().geometry.cells;
	// Four times as many dropped calls as there are slots: a leaked slot
	// would make submit fail with ResourceExhausted.
	for (std::uint32_t i = 0; i < 4 * slots; ++i) {
		auto p = echo.submit("echo", as_bytes("dropped"), Deadline::after(30s));
		REQUIRE_MESSAGE(p.has_value(), p.error().to_string());
	}
	auto r = echo.call("echo", as_bytes("after"), Deadline::after(30s));
	REQUIRE(r.has_value());
	CHECK(as_string(r.value()) == "after");
}

TEST_CASE("async_calls_complete_on_the_callers_io_context")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	boost::asio::io_context io;
	constexpr int kCalls = 200;
	int done = 0, wrong = 0;
	const auto io_thread = std::this_thread::get_id();
	for (int i = 0; i < kCalls; ++i) {
		std::string msg = "async " + std::to_string(i);
		echo.async_call("echo", as_bytes(msg), Deadline::after(30s),
				boost::asio::bind_executor(io, [&, msg](Result<Bytes> r) {
					if (!r.has_value() || as_string(r.value()) != msg ||
					    std::this_thread::get_id() != io_thread)
						wrong++;
					done++;
				}));
	}
	io.run(); // returns once every handler has run
	CHECK(done == kCalls);
	CHECK(wrong == 0);
}

TEST_CASE("async_call_to_a_hung_plugin_ends_at_its_deadline")
{
	auto host = make_host();
	auto faulty = host->load(test::plugin("faulty")).value();
	boost::asio::io_context io;
	std::optional<Result<Bytes>> result;
	faulty.async_call("loop", {}, Deadline::after(300ms),
			  boost::asio::bind_executor(io, [&](Result<Bytes> r) { result = std::move(r); }));
	io.run();
	REQUIRE(result.has_value());
	REQUIRE_FALSE(result->has_value());
	CHECK(result->error().code == ErrorCode::DeadlineExceeded);
	REQUIRE(faulty.wait_exit(10s));
	CHECK(faulty.exit_error()->termination == Termination::Deadline);
}

TEST_CASE("async_call_to_a_crashing_plugin_gets_the_crash")
{
	auto host = make_host();
	auto faulty = host->load(test::plugin("faulty")).value();
	boost::asio::io_context io;
	std::optional<Result<Bytes>> result;
	faulty.async_call("segfault", {}, Deadline::after(30s),
			  boost::asio::bind_executor(io, [&](Result<Bytes> r) { result = std::move(r); }));
	io.run();
	REQUIRE(result.has_value());
	REQUIRE_FALSE(result->has_value());
	CHECK(result->error().code == ErrorCode::PluginCrashed);
	CHECK(result->error().signal == SIGSEGV);
}

TEST_CASE("unload_is_graceful_and_reported")
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo")).value();
	host->unload(echo);
	CHECK_FALSE(echo.alive());
	auto r = echo.call("echo", as_bytes("x"), Deadline::after(1s));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::Unavailable);
	CHECK(r.error().termination == Termination::HostRequest);
	CHECK(echo.exit_error()->exit_status == 0);
	CHECK(host->plugins().empty());
}

// The child host of the test below: loads echo, reports the shim's pid on
// stdout, then waits to be killed.
static int run_child_host()
{
	auto host = make_host();
	auto echo = host->load(test::plugin("echo"));
	if (!echo.has_value())
		return 1;
	std::printf("%d\n", echo->info().pid);
	std::fflush(stdout);
	for (;;)
		::pause();
}

TEST_CASE("shims_die_with_their_host")
{
	int out[2];
	REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char arg0[] = "host_api_test", arg1[] = "--child-host";
	char *argv[] = {arg0, arg1, nullptr};
	pid_t host_pid;
	REQUIRE(posix_spawn(&host_pid, "/proc/self/exe", &fa, nullptr, argv, environ) == 0);
	posix_spawn_file_actions_destroy(&fa);
	::close(out[1]);
	char buf[32] = {};
	ssize_t n = ::read(out[0], buf, sizeof buf - 1);
	::close(out[0]);
	REQUIRE(n > 0);
	pid_t shim = std::atoi(buf);
	REQUIRE(shim > 0);
	int shim_fd = static_cast<int>(::syscall(SYS_pidfd_open, shim, 0));
	REQUIRE(shim_fd >= 0);

	::kill(host_pid, SIGKILL);
	::waitpid(host_pid, nullptr, 0);
	struct pollfd p = {shim_fd, POLLIN, 0};
	CHECK(::poll(&p, 1, 10'000) == 1); // the shim has exited
	::close(shim_fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && std::strcmp(argv[1], "--child-host") == 0)
		return run_child_host();
	doctest::Context context(argc, argv);
	return context.run();
}

// SPDX-License-Identifier: Apache-2.0
// Host-measured metrics with a real shim: calls, errors by code, latency,
// reloads and the shim's own RSS and CPU time.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <numeric>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;

TEST_CASE("the_host_counts_calls_errors_latency_and_reads_the_shims_usage")
{
	auto host = std::move(Host::create(test::options()).value());
	auto echo = host->load(test::plugin("echo")).value();
	for (int i = 0; i < 3; ++i)
		REQUIRE(echo.call("echo", as_bytes("x"), Deadline::after(5s)).has_value());
	CHECK_FALSE(echo.call("fail", as_bytes("x"), Deadline::after(5s)).has_value());
	CHECK_FALSE(echo.call("no-such-op", {}, Deadline::after(5s)).has_value());
	auto pending = echo.submit("echo", as_bytes("y"), Deadline::after(5s));
	REQUIRE(pending.has_value());
	REQUIRE(pending->wait().has_value());

	PluginMetrics m = echo.metrics();
	CHECK(m.calls == 6);
	CHECK(m.errors == 2);
	CHECK(m.errors_by_code[static_cast<std::size_t>(ErrorCode::InvalidArgument)] == 1);
	CHECK(m.errors_by_code[static_cast<std::size_t>(ErrorCode::NotFound)] == 1);
	CHECK(std::accumulate(m.latency.begin(), m.latency.end(), std::uint64_t{0}) == 6);
	CHECK(latency_quantile(m.latency, 0.5) > 0ns);
	CHECK(latency_quantile(m.latency, 0.5) <= latency_quantile(m.latency, 0.99));
	CHECK(m.pid == echo.info().pid);
	CHECK(m.rss_bytes > 0);
	CHECK(m.restarts == 0);
	CHECK(m.reloads == 0);
	CHECK(m.ring_occupancy == 0);

	REQUIRE(host->reload(echo, test::plugin("echo")).has_value());
	CHECK(echo.metrics().reloads == 1);
	CHECK(echo.metrics().calls == 6); // counted per plugin, across instances
	host->unload(echo);
	CHECK(echo.metrics().pid == 0); // nothing serving: no process figures
}

TEST_CASE("submissions_refused_before_they_are_sent_count_as_errors_by_code")
{
	auto host = std::move(Host::create(test::options()).value());
	auto echo = host->load(test::plugin("echo")).value();
	boost::asio::io_context io;
	int async_failures = 0;
	const auto async_call = [&](const char *op) {
		echo.async_call(op, {}, Deadline::after(5s), boost::asio::bind_executor(io, [&](Result<Bytes> r) {
					async_failures += r.has_value() ? 0 : 1;
				}));
		io.restart();
		io.run();
	};
	CHECK_FALSE(echo.submit("no-such-op", {}, Deadline::after(5s)).has_value());
	async_call("no-such-op");
	host->unload(echo); // no lease from here on
	CHECK_FALSE(echo.submit("echo", {}, Deadline::after(5s)).has_value());
	async_call("echo");
	CHECK(async_failures == 2);

	const PluginMetrics m = echo.metrics();
	CHECK(m.calls == 4);
	CHECK(m.errors == 4);
	CHECK(m.errors_by_code[static_cast<std::size_t>(ErrorCode::NotFound)] == 2);
	CHECK(m.errors_by_code[static_cast<std::size_t>(ErrorCode::Unavailable)] == 2);
	CHECK(std::accumulate(m.latency.begin(), m.latency.end(), std::uint64_t{0}) == 4);
}

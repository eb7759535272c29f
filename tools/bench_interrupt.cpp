// SPDX-License-Identifier: Apache-2.0
// The interrupt flag of the benchmarks.
#include "bench_interrupt.hpp"

#include <atomic>
#include <csignal>

namespace bulkhead::tools {

namespace {

std::atomic<bool> interrupted{false};

void on_interrupt(int) { interrupted.store(true, std::memory_order_relaxed); }

} // namespace

void catch_interrupts()
{
	struct sigaction sa = {};
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	// No SA_RESTART: a blocking recv() or futex wait returns EINTR and its
	// loop looks at the flag. SA_RESETHAND: a second signal kills.
	sa.sa_flags = SA_RESETHAND;
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
}

Result<void> check_interrupt()
{
	if (interrupted.load(std::memory_order_relaxed))
		return make_error(ErrorCode::Unavailable, "interrupted");
	return {};
}

} // namespace bulkhead::tools

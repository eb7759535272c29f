// SPDX-License-Identifier: Apache-2.0
// Futex system call wrappers.
#include <bulkhead/ipc/futex.hpp>

#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bulkhead::ipc {

bool futex_wait(const std::uint32_t *word, std::uint32_t expected,
		std::chrono::nanoseconds timeout)
{
	if (timeout.count() <= 0)
		return false;
	struct timespec ts;
	ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
	ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
	long r = ::syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, nullptr, 0);
	return !(r < 0 && errno == ETIMEDOUT);
}

void futex_wake(const std::uint32_t *word, int count)
{
	::syscall(SYS_futex, word, FUTEX_WAKE, count, nullptr, nullptr, 0);
}

} // namespace bulkhead::ipc

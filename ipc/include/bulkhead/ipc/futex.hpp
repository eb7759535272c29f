// SPDX-License-Identifier: Apache-2.0
// Futex wait/wake on words in shared (memfd) mappings, and the spin pause.
#pragma once

#include <chrono>
#include <cstdint>
#include <sched.h>

namespace bulkhead::ipc {

// Sleeps while *word == expected, at most `timeout`. Shared (not private)
// futex: the word may live in a mapping another process shares. Works on a
// read-only mapping. Returns false on timeout.
bool futex_wait(const std::uint32_t *word, std::uint32_t expected,
		std::chrono::nanoseconds timeout);
// Wakes up to `count` sleepers on `word`.
void futex_wake(const std::uint32_t *word, int count);

inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield");
#endif
}

// Bounded spinning before a sleep. Every few microseconds it yields the CPU:
// when the scheduler has put the peer on this same CPU (common with two
// vCPUs), spinning only delays the peer it waits for; a yield lets it run.
// When the peer is elsewhere, a yield with nothing else runnable returns at
// once.
class SpinBudget {
public:
	using clock = std::chrono::steady_clock;
	static constexpr std::chrono::microseconds kYieldEvery{5};

	explicit SpinBudget(std::chrono::nanoseconds budget) { restart(budget); }
	void restart(std::chrono::nanoseconds budget)
	{
		auto now = clock::now();
		until_ = now + budget;
		next_yield_ = now + kYieldEvery;
	}
	// One step of spinning at `now`; false once the budget is spent.
	bool step(clock::time_point now)
	{
		if (now >= until_)
			return false;
		if (now >= next_yield_) {
			::sched_yield();
			next_yield_ = clock::now() + kYieldEvery;
		} else {
			cpu_relax();
		}
		return true;
	}

private:
	clock::time_point until_, next_yield_;
};

} // namespace bulkhead::ipc

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

// Publishes the CPU this thread runs on into `word`, a line the peer reads
// on every call: written only when it changes, so that line is not pulled
// away from the peer's cache on every call.
inline void publish_cpu(std::uint32_t *word)
{
	const auto cpu = static_cast<std::uint32_t>(::sched_getcpu());
	if (__atomic_load_n(word, __ATOMIC_RELAXED) != cpu)
		__atomic_store_n(word, cpu, __ATOMIC_RELAXED);
}

// Bounded spinning before a sleep. It yields the CPU when the peer it waits
// for shares this CPU (common with two vCPUs: spinning there only delays the
// peer) and every few microseconds in any case; a yield with nothing else
// runnable returns at once. The clock is read every few steps only.
class SpinBudget {
public:
	using clock = std::chrono::steady_clock;
	static constexpr std::chrono::microseconds kYieldEvery{5};

	// `peer_cpu`: where the peer says it last ran (may be null or stale).
	explicit SpinBudget(std::chrono::nanoseconds budget, const std::uint32_t *peer_cpu = nullptr)
		: peer_cpu_(peer_cpu)
	{
		restart(budget);
	}
	void restart(std::chrono::nanoseconds budget)
	{
		auto now = clock::now();
		until_ = now + budget;
		next_yield_ = now + kYieldEvery;
	}
	// One step of spinning; false once the budget is spent.
	bool step()
	{
		if ((++steps_ & 7) != 0) {
			cpu_relax();
			return true;
		}
		auto now = clock::now();
		if (now >= until_)
			return false;
		bool shared = peer_cpu_ && static_cast<std::uint32_t>(::sched_getcpu()) ==
						   __atomic_load_n(peer_cpu_, __ATOMIC_RELAXED);
		if (shared || now >= next_yield_) {
			::sched_yield();
			next_yield_ = clock::now() + kYieldEvery;
		}
		return true;
	}

private:
	const std::uint32_t *peer_cpu_;
	clock::time_point until_, next_yield_;
	unsigned steps_ = 0;
};

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// Futex wait/wake on words in shared (memfd) mappings, and the spin pause.
#pragma once

#include <chrono>
#include <cstdint>

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

} // namespace bulkhead::ipc

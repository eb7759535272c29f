// SPDX-License-Identifier: Apache-2.0
// The death notice: a word of the shim-written region that the kernel marks
// when the plugin process dies, before it tears that process's memory down.
//
// The plugin process puts the word in its main thread's robust-futex list
// (set_robust_list(2)) with its own thread id and FUTEX_WAITERS. When that
// thread exits, however it exits, the kernel replaces the word with
// FUTEX_OWNER_DIED | FUTEX_WAITERS and wakes a waiter, early in the exit:
// measured here, 0.17 ms after a SIGKILL, where the process's pidfd became
// readable 1.2 ms after it (20 MiB resident) and 5 ms after it (200 MiB),
// once its memory was gone. The broker waits on the word through its
// read-only mapping of the region (a futex wait only reads).
//
// The word is the plugin's to write, so it is a hint, never a verdict: any
// change from the armed value means the process is dead or misbehaving, and
// the broker kills it either way; the exit status still comes from the
// pidfd.
#pragma once

#include <cstdint>

namespace bulkhead::ipc::death_notice {

// The plugin process's side, on the thread whose end is the process's end
// (the shim's serving thread), before any plugin code: writes the armed
// value into `word` and registers it with the kernel. This replaces the
// thread's robust list that glibc registered; glibc's robust mutexes held
// by this thread are then not marked when it dies, which matters only to
// another process sharing them, and the plugin process has none. False
// when the kernel refuses (no robust futexes): then no notice comes.
bool arm(std::uint32_t *word);

enum class State {
	Unarmed,  // not (yet) armed: there is nothing to wait for
	Armed,    // the owner lives
	Died,     // the kernel marked it: the owner died
	Tampered, // a value neither side writes
};

// What a value of the word means.
State read(std::uint32_t value);

} // namespace bulkhead::ipc::death_notice

// SPDX-License-Identifier: Apache-2.0
// DeadlineTimer: the per-call deadline inside the shim for tier A. One POSIX
// timer (CLOCK_MONOTONIC) signals the serving thread with SIGALRM; the
// handler runs on the alternate stack and, once the call's trap time has
// passed, calls `expire` (which traps out of the guest).
//
// The timer stays armed across calls: a call whose trap time is later than
// the armed expiry costs no system call, and an early expiry re-arms itself
// from the handler. Process-wide; the serving thread only.
#pragma once

#include <bulkhead/deadline.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::wasm::deadline_timer {

// Creates the timer aimed at the calling thread and installs the handler.
// `expire` runs in signal context on that thread.
Result<void> install(void (*expire)());

// Around each guest call. `trap_at` never: nothing fires.
void enter(Deadline trap_at);
void leave();

} // namespace bulkhead::wasm::deadline_timer

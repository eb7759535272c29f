// SPDX-License-Identifier: Apache-2.0
// The SIGALRM deadline timer behind tier A's per-call deadline.
#include "deadline_timer.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <sys/syscall.h>
#include <unistd.h>

namespace bulkhead::wasm::deadline_timer {

namespace {

// Shared between the serving thread and its own signal handler only: a
// volatile sig_atomic_t-sized value is enough, the handler interrupts the
// very thread that writes them.
volatile std::sig_atomic_t active = 0;
volatile std::int64_t trap_at_ns = 0; // 0: none
volatile std::int64_t armed_ns = 0;   // 0: disarmed
timer_t timer;
void (*on_expire)() = nullptr;

std::int64_t now_ns()
{
	timespec ts;
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void arm(std::int64_t at_ns)
{
	itimerspec spec{};
	spec.it_value.tv_sec = at_ns / 1'000'000'000;
	spec.it_value.tv_nsec = at_ns % 1'000'000'000;
	::timer_settime(timer, TIMER_ABSTIME, &spec, nullptr);
	armed_ns = at_ns;
}

void handler(int, siginfo_t *, void *)
{
	const int saved = errno;
	armed_ns = 0;
	if (active && trap_at_ns != 0) {
		if (now_ns() < trap_at_ns) {
			arm(trap_at_ns); // fired for an earlier call's trap time
		} else {
			errno = saved;
			on_expire(); // may not return
		}
	}
	errno = saved;
}

} // namespace

Result<void> install(void (*expire)())
{
	on_expire = expire;
	struct sigaction sa{};
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (::sigaction(SIGALRM, &sa, nullptr) != 0)
		return Unexpected(errno_error("sigaction SIGALRM", errno));
	sigevent ev{};
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGALRM;
	ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
	if (::timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
		return Unexpected(errno_error("timer_create", errno));
	return {};
}

void enter(Deadline at)
{
	trap_at_ns = at.is_never() ? 0 : std::max<std::int64_t>(at.ns(), 1);
	active = 1;
	if (trap_at_ns != 0 && (armed_ns == 0 || armed_ns > trap_at_ns))
		arm(trap_at_ns);
}

void leave() { active = 0; }

} // namespace bulkhead::wasm::deadline_timer

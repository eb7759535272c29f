// SPDX-License-Identifier: Apache-2.0
// The bare futex round trip: client side and peer side.
#include "bench_futex.hpp"

#include <cerrno>
#include <sched.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/deadline.hpp>
#include <bulkhead/ipc/atomics.hpp>
#include <bulkhead/ipc/futex.hpp>
#include <bulkhead/unique_fd.hpp>

#include "bench_interrupt.hpp"
#include "bench_stats.hpp"

namespace bulkhead::tools {

namespace {

namespace ipc = bulkhead::ipc;

constexpr std::size_t kPageBytes = 4096;
static_assert(sizeof(FutexPage) <= kPageBytes);
// A peer that does not answer within this is presumed hung.
constexpr auto kAnswerDeadline = std::chrono::seconds(5);
// A sleeping peer re-checks that the benchmark lives this often.
constexpr auto kPeerPoll = std::chrono::milliseconds(100);

} // namespace

Result<FutexBaseline> FutexBaseline::start(int peer_cpu)
{
	UniqueFd fd(::memfd_create("bulkhead-bench-futex", MFD_CLOEXEC));
	if (!fd.valid())
		return Unexpected(errno_error("memfd_create", errno));
	if (::ftruncate(fd.get(), kPageBytes) != 0)
		return Unexpected(errno_error("ftruncate", errno));
	Mapping page = TRY(Mapping::map(fd.get(), kPageBytes, Access::ReadWrite));
	PeerProcess peer = TRY(PeerProcess::spawn("futex", fd.get(), peer_cpu));
	FutexBaseline baseline(std::move(page), std::move(peer));

	const auto give_up = Clock::now() + kAnswerDeadline;
	// SYNC POINT: pairs with the peer's release store of `ready`.
	while (ipc::load_acquire(&baseline.page()->ready) == 0) {
		if (!baseline.peer_.alive())
			return make_error(ErrorCode::Internal, "the futex benchmark peer exited at start");
		TRY(check_interrupt());
		if (Clock::now() > give_up)
			return make_error(ErrorCode::DeadlineExceeded,
					  "the futex benchmark peer did not start");
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return baseline;
}

FutexBaseline::~FutexBaseline()
{
	if (!stopped_ && page_.data())
		(void)stop();
}

Result<double> FutexBaseline::round_trip(std::chrono::nanoseconds reply_spin)
{
	FutexPage *p = page();
	if (++next_ == kFutexStop)
		next_ = 1;
	const std::uint32_t call = next_;
	const auto t0 = Clock::now();
	// SYNC POINT: pairs with the peer's acquire load of `ping`.
	ipc::store_release(&p->ping, call);
	ipc::futex_wake(&p->ping, 1);
	const auto spin_until = t0 + reply_spin;
	for (;;) {
		// SYNC POINT: pairs with the peer's release store of `pong`.
		const std::uint32_t seen = ipc::load_acquire(&p->pong);
		if (seen == call)
			break;
		const auto now = Clock::now();
		if (now < spin_until) {
			ipc::cpu_relax();
			continue;
		}
		if (now - t0 > kAnswerDeadline)
			return make_error(ErrorCode::DeadlineExceeded,
					  "the futex benchmark peer did not answer");
		// The peer wakes us after every answer; a changed word returns
		// at once.
		if (!ipc::futex_wait(&p->pong, seen, kPeerPoll) && !peer_.alive())
			return make_error(ErrorCode::PluginCrashed,
					  "the futex benchmark peer died");
		TRY(check_interrupt());
	}
	return elapsed_ns(t0, Clock::now());
}

int FutexBaseline::last_peer_cpu() const { return ipc::load_relaxed(&page()->peer_cpu); }

Result<void> FutexBaseline::stop()
{
	stopped_ = true;
	ipc::store_release(&page()->ping, kFutexStop);
	ipc::futex_wake(&page()->ping, 1);
	return peer_.finish(std::chrono::seconds(2));
}

int run_futex_peer(int fd)
{
	auto mapped = Mapping::map(fd, kPageBytes, Access::ReadWrite);
	if (!mapped.has_value()) {
		fmt::print(stderr, "bulkhead futex peer: {}\n", mapped.error().to_string());
		return 1;
	}
	auto *p = reinterpret_cast<FutexPage *>(mapped.value().data());
	const pid_t parent = ::getppid();
	std::uint32_t answered = ipc::load_acquire(&p->ping);
	ipc::store_release(&p->ready, 1u);
	for (;;) {
		const std::uint32_t call = ipc::load_acquire(&p->ping);
		if (call == kFutexStop)
			return 0;
		if (call == answered) {
			// No spinning: a bare wake-up is the point.
			if (!ipc::futex_wait(&p->ping, answered, kPeerPoll) && ::getppid() != parent)
				return 1;
			continue;
		}
		answered = call;
		ipc::store_relaxed(&p->peer_cpu, ::sched_getcpu());
		ipc::store_release(&p->pong, call);
		ipc::futex_wake(&p->pong, 1);
	}
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// The shim end of the shared-memory channel.
#include <bulkhead/ipc/shm_channel.hpp>

#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/ipc/atomics.hpp>
#include <bulkhead/ipc/death_notice.hpp>
#include <bulkhead/ipc/futex.hpp>

#include "shm_memory.hpp"
#include "wire.hpp"
#include "wire_encode.hpp"

namespace bulkhead::ipc {

namespace {

// receive() re-checks `stop` at least this often while asleep.
constexpr auto kStopPoll = std::chrono::milliseconds(100);

} // namespace

Result<std::unique_ptr<ShmPeerChannel>> ShmPeerChannel::open(UniqueFd host_region,
							     UniqueFd shim_region,
							     UniqueFd notify, WaitPolicy policy)
{
	std::unique_ptr<ShmPeerChannel> ch(new ShmPeerChannel());
	ch->policy_ = policy;
	const std::size_t size = TRY(region_size(host_region.get()));
	if (size < kCellsOffset)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("host region of {} bytes is smaller than its header",
					      size));
	ch->host_map_ = TRY(Mapping::map(host_region.get(), size, Access::ReadOnly));
	const auto *hdr = reinterpret_cast<const RegionHeader *>(ch->host_map_.data());
	if (hdr->magic != kRegionMagic || hdr->version != kLayoutVersion)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("host region has magic {:#x} layout version {}; "
					      "this shim expects {:#x} version {}",
					      hdr->magic, hdr->version, kRegionMagic,
					      kLayoutVersion));
	ch->geometry_ = Geometry{hdr->cells, hdr->cell_bytes};
	if (!valid(ch->geometry_) || region_bytes(ch->geometry_) != size ||
	    hdr->region_bytes != size)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("host region geometry {}x{} does not match its "
					      "size {}",
					      hdr->cells, hdr->cell_bytes, size));
	const std::size_t shim_size = TRY(region_size(shim_region.get()));
	if (shim_size != size)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("shim region is {} bytes, host region {}", shim_size,
					      size));
	ch->shim_map_ = TRY(Mapping::map(shim_region.get(), size, Access::ReadWrite));
	ch->notify_fd_ = std::move(notify);

	ch->host_ = reinterpret_cast<const HostControl *>(ch->host_map_.data() + kControlOffset);
	ch->shim_ = reinterpret_cast<ShimControl *>(ch->shim_map_.data() + kControlOffset);
	ch->requests_ = std::make_unique<RingReader>(ch->host_map_.data() + kCellsOffset,
						     ch->geometry_, &ch->shim_->req_head);
	ch->completions_ = std::make_unique<RingWriter>(ch->shim_map_.data() + kCellsOffset,
							ch->geometry_, &ch->shim_->cmp_tail,
							&ch->host_->cmp_head);
	return ch;
}

std::size_t ShmPeerChannel::max_reply() const
{
	return completions_->capacity() - wire::completion_size(0, 0, true);
}

void ShmPeerChannel::wake() { futex_wake(&host_->req_doorbell, 1); }

bool ShmPeerChannel::arm_death_notice() { return death_notice::arm(&shim_->death_word); }

Result<std::optional<IncomingCall>> ShmPeerChannel::receive(const std::atomic<bool> &stop)
{
	if (holding_request_) {
		requests_->pop();
		holding_request_ = false;
	}
	publish_cpu(&shim_->shim_cpu);
	SpinBudget spin(policy_.spin, &host_->host_cpu);
	for (;;) {
		std::span<const std::uint8_t> view;
		PeekStatus peeked = requests_->peek(view);
		if (peeked == PeekStatus::Corrupt)
			return make_error(ErrorCode::ProtocolViolation,
					  "request ring cell has an impossible sequence or length");
		if (peeked == PeekStatus::Ready) {
			// The host region is read-only to us and written only by
			// the host, so the message is read in place.
			flatbuffers::Verifier verifier(view.data(), view.size(), 8, 16);
			if (!verifier.VerifyBuffer<bulkhead::wire::Request>(nullptr))
				return make_error(ErrorCode::ProtocolViolation,
						  "request is not a valid Request message");
			const auto *r = flatbuffers::GetRoot<bulkhead::wire::Request>(view.data());
			IncomingCall call;
			call.call_id = r->call_id();
			call.slot = r->slot();
			call.generation = r->generation();
			call.op = r->op();
			call.deadline = r->deadline_ns() == 0 ? Deadline::never()
							      : Deadline::from_ns(r->deadline_ns());
			if (r->payload())
				call.payload = {r->payload()->data(), r->payload()->size()};
			holding_request_ = true;
			requests_->prefetch_next();
			return std::optional<IncomingCall>(call);
		}
		if (stop.load(std::memory_order_acquire))
			return std::optional<IncomingCall>();
		if (spin.step())
			continue;
		// SYNC POINT: a Dekker pair with ShmCallChannel::ring_shim():
		// we announce sleep, fence, re-check the ring; the host
		// publishes, fences, reads shim_sleeping.
		const std::uint32_t seen = load_acquire(&host_->req_doorbell);
		store_seq_cst(&shim_->shim_sleeping, 1u);
		fence_seq_cst();
		if (!requests_->pending() && !stop.load(std::memory_order_acquire))
			futex_wait(&host_->req_doorbell, seen, kStopPoll);
		store_relaxed(&shim_->shim_sleeping, 0u);
		spin.restart(policy_.spin);
	}
}

Result<void> ShmPeerChannel::respond(const IncomingCall &call, const Reply &reply)
{
	// An answer that does not fit becomes an error that says so; an error
	// message that does not fit is cut.
	std::string too_large;
	ByteView payload = reply.ok ? reply.payload : ByteView{};
	std::string_view message = reply.ok ? std::string_view{} : reply.message;
	bool ok = reply.ok;
	bulkhead::wire::Status status = ok ? bulkhead::wire::Status::Ok : wire::to_status(reply.code);
	if (ok && payload.size() > max_reply()) {
		too_large = fmt::format("reply of {} bytes exceeds the channel's maximum of {} bytes",
					payload.size(), max_reply());
		ok = false;
		status = wire::to_status(ErrorCode::ResourceExhausted);
		payload = {};
		message = too_large;
	}
	const std::size_t room = completions_->capacity() - wire::completion_size(0, 0, false);
	if (!ok && message.size() > room)
		message = message.substr(0, room);

	RingWriter::Claim claim;
	for (unsigned attempt = 0;; ++attempt) {
		PushStatus s = completions_->claim(claim);
		if (s == PushStatus::Ok)
			break;
		if (s == PushStatus::Corrupt)
			return make_error(ErrorCode::ProtocolViolation,
					  "the host's completion head is impossible");
		// Full: the host has not reaped yet. It always does while a
		// call is in flight, and it kills us if it goes away.
		if (attempt < 64)
			cpu_relax();
		else
			std::this_thread::yield();
	}
	// The reply may view the request's own cell: encode first. Then
	// release the request cell before the host can see the answer, free
	// the slot and reuse it for a request that needs this cell.
	const std::size_t size = wire::encode_completion(claim.data, call.call_id, call.slot,
							 call.generation, status, payload, message);
	if (holding_request_) {
		requests_->pop();
		holding_request_ = false;
	}
	completions_->publish(claim, static_cast<std::uint32_t>(size));
	completions_->prefetch_after(claim);
	// SYNC POINT: a Dekker pair with ShmCallChannel::sleep_for_completion():
	// we publish, fence, read sync_waiters; a host thread counts itself,
	// fences, re-checks the ring.
	fence_seq_cst();
	if (load_relaxed(&host_->sync_waiters) != 0) {
		fetch_add_seq_cst(&shim_->cmp_doorbell, 1u);
		futex_wake(&shim_->cmp_doorbell, INT_MAX);
		::sched_yield(); // a woken host is often placed on this CPU
	}
	// Only while async calls are outstanding and their collector sleeps:
	// a signal per completion would cost a system call per call.
	if (load_relaxed(&host_->async_waiters) != 0 &&
	    load_relaxed(&host_->async_sleeping) != 0) {
		const std::uint64_t one = 1;
		// EAGAIN means the counter is saturated: the host is awake anyway.
		[[maybe_unused]] ssize_t n = ::write(notify_fd_.get(), &one, sizeof(one));
	}
	return {};
}

} // namespace bulkhead::ipc

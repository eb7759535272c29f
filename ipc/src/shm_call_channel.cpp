// SPDX-License-Identifier: Apache-2.0
// The host end of the shared-memory channel, first half: creating the
// regions, claiming slots, submitting calls and waiting for them.
#include <bulkhead/ipc/shm_channel.hpp>

#include <climits>
#include <cstring>
#include <fcntl.h>
#include <thread>

#include <fmt/format.h>

#include <bulkhead/ipc/atomics.hpp>
#include <bulkhead/ipc/futex.hpp>

#include "shm_memory.hpp"
#include "wire.hpp"
#include "wire_encode.hpp"

namespace bulkhead::ipc {

namespace {

// A sleeping waiter that lost a race with close() (which cannot change the
// futex word the shim owns) notices within this bound.
constexpr auto kMaxSleep = std::chrono::milliseconds(10);

} // namespace

ShmCallChannel::ShmCallChannel(Geometry geometry, WaitPolicy policy)
	: geometry_(geometry), policy_(policy)
{
}

ShmCallChannel::~ShmCallChannel()
{
	close(Error(ErrorCode::Unavailable, "the channel was destroyed"));
}

Result<std::unique_ptr<ShmCallChannel>> ShmCallChannel::create(Geometry g, WaitPolicy policy)
{
	if (!valid(g))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("channel geometry {} cells x {} bytes: cells must be "
					      "a power of two in [2, 4096] and cell bytes a "
					      "multiple of 64 in [128, 1048576]",
					      g.cells, g.cell_bytes));
	std::unique_ptr<ShmCallChannel> ch(new ShmCallChannel(g, policy));
	const std::size_t size = region_bytes(g);

	ch->host_fd_ = TRY(create_region("bulkhead-host-region", size));
	ch->shim_fd_ = TRY(create_region("bulkhead-shim-region", size));
	ch->host_map_ = TRY(Mapping::map(ch->host_fd_.get(), size, Access::ReadWrite));

	auto *hdr = reinterpret_cast<RegionHeader *>(ch->host_map_.data());
	hdr->magic = kRegionMagic;
	hdr->version = kLayoutVersion;
	hdr->cells = g.cells;
	hdr->cell_bytes = g.cell_bytes;
	hdr->region_bytes = size;

	// Our writable mapping exists; from now on nobody, the shim included,
	// can create another one or write() to the region, nor resize either.
	TRY(seal(ch->host_fd_.get(),
		 F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL));
	TRY(seal(ch->shim_fd_.get(), F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL));
	ch->host_ro_fd_ = TRY(reopen_read_only(ch->host_fd_.get()));
	ch->host_fd_.reset();
	ch->shim_map_ = TRY(Mapping::map(ch->shim_fd_.get(), size, Access::ReadOnly));
	ch->notify_fd_ = TRY(create_eventfd());

	ch->host_ = reinterpret_cast<HostControl *>(ch->host_map_.data() + kControlOffset);
	ch->shim_ = reinterpret_cast<const ShimControl *>(ch->shim_map_.data() + kControlOffset);
	ch->requests_ = std::make_unique<RingWriter>(ch->host_map_.data() + kCellsOffset, g,
						     &ch->host_->req_tail,
						     &ch->shim_->req_head);
	ch->completions_ = std::make_unique<RingReader>(ch->shim_map_.data() + kCellsOffset,
							g, &ch->host_->cmp_head);

	ch->slots_ = std::make_unique<Slot[]>(g.cells);
	const std::uint32_t words = (g.cells + 63) / 64;
	ch->free_bits_ = std::make_unique<std::atomic<std::uint64_t>[]>(words);
	for (std::uint32_t i = 0; i < g.cells; ++i)
		ch->free_bits_[i / 64].fetch_or(1ull << (i % 64), std::memory_order_relaxed);
	return ch;
}

PeerFds ShmCallChannel::peer_fds() const
{
	return PeerFds{host_ro_fd_.get(), shim_fd_.get(), notify_fd_.get()};
}

void ShmCallChannel::release_peer_fds()
{
	host_ro_fd_.reset();
	shim_fd_.reset();
}

std::uint64_t ShmCallChannel::requests_pending() const
{
	std::uint64_t tail = load_relaxed(&host_->req_tail);
	std::uint64_t head = load_relaxed(&shim_->req_head);
	return head <= tail ? tail - head : 0;
}

std::size_t ShmCallChannel::max_payload() const
{
	return requests_->capacity() - wire::request_size(0);
}

Error ShmCallChannel::closed_error() const
{
	std::lock_guard lock(close_mutex_);
	return close_reason_;
}

Result<std::uint32_t> ShmCallChannel::claim_slot(Deadline deadline)
{
	const std::uint32_t words = (geometry_.cells + 63) / 64;
	for (unsigned attempt = 0;; ++attempt) {
		if (closed())
			return Unexpected(closed_error());
		for (std::uint32_t w = 0; w < words; ++w) {
			// SYNC POINT: pairs with the release fetch_or in
			// free_slot(): the previous call's use of the slot
			// happens before ours.
			std::uint64_t bits = free_bits_[w].load(std::memory_order_acquire);
			while (bits) {
				int bit = __builtin_ctzll(bits);
				if (free_bits_[w].compare_exchange_weak(
					    bits, bits & ~(1ull << bit),
					    std::memory_order_acquire))
					return w * 64 + static_cast<std::uint32_t>(bit);
			}
		}
		if (deadline.passed())
			return make_error(ErrorCode::ResourceExhausted,
					  fmt::format("all {} call slots are busy", geometry_.cells));
		// Answers nobody waits for (abandoned calls) free their slots
		// only when reaped.
		pump();
		if (attempt < 64)
			cpu_relax();
		else
			std::this_thread::yield();
	}
}

void ShmCallChannel::free_slot(std::uint32_t index)
{
	slots_[index].state.store(SlotState::Free, std::memory_order_relaxed);
	free_bits_[index / 64].fetch_or(1ull << (index % 64), std::memory_order_release);
}

void ShmCallChannel::ring_shim()
{
	// SYNC POINT: a Dekker pair with ShmPeerChannel::receive(), which
	// stores shim_sleeping, fences, then re-checks the ring: either the
	// shim sees the cell we just published, or we see it asleep and wake
	// it. A lying shim_sleeping only costs the shim a wake-up.
	fence_seq_cst();
	if (load_relaxed(&shim_->shim_sleeping) != 0) {
		fetch_add_seq_cst(&host_->req_doorbell, 1u);
		futex_wake(&host_->req_doorbell, 1);
		// The woken shim is often placed on this CPU: let it run now
		// rather than after our spin.
		::sched_yield();
	}
}

Result<Ticket> ShmCallChannel::submit(std::uint32_t op, ByteView payload, Deadline deadline)
{
	return submit_impl(op, payload, deadline, nullptr);
}

Result<Ticket> ShmCallChannel::submit_async(std::uint32_t op, ByteView payload,
					    Deadline deadline, CompletionHandler handler)
{
	if (!handler)
		return make_error(ErrorCode::InvalidArgument, "submit_async needs a handler");
	return submit_impl(op, payload, deadline, std::move(handler));
}

Result<Ticket> ShmCallChannel::submit_impl(std::uint32_t op, ByteView payload,
					   Deadline deadline, CompletionHandler handler)
{
	if (payload.size() > max_payload())
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("payload of {} bytes exceeds the channel's maximum "
					      "of {} bytes",
					      payload.size(), max_payload()));
	const std::uint32_t index = TRY(claim_slot(deadline));
	Slot &slot = slots_[index];
	const bool async = static_cast<bool>(handler);
	slot.generation++;
	slot.call_id = next_call_id_.fetch_add(1, std::memory_order_relaxed);
	slot.result.reset();
	slot.handler = std::move(handler);
	if (async)
		fetch_add_seq_cst(&host_->async_waiters, 1u);
	// SYNC POINT: pairs with the acquire loads of `state` by the pump and
	// close(): they see generation, call_id and handler written above.
	slot.state.store(SlotState::InFlight, std::memory_order_release);
	const Ticket ticket{index, slot.generation};

	RingWriter::Claim claim;
	PushStatus status = requests_->claim(claim);
	if (status == PushStatus::Ok) {
		// Encoded in place: the cell is ours until published.
		const std::size_t size =
			wire::encode_request(claim.data, slot.call_id, index, slot.generation, op,
					     deadline.is_never() ? 0 : deadline.ns(), payload);
		requests_->publish(claim, static_cast<std::uint32_t>(size));
		requests_->prefetch_after(claim);
		ring_shim();
		if (async && closed())
			cancel(ticket, closed_error());
		return ticket;
	}

	Error error;
	if (status == PushStatus::Corrupt) {
		violation("the shim's request-ring head is ahead of the requests written");
		error = closed_error();
	} else {
		error = Error(ErrorCode::ResourceExhausted, "the request ring is full");
	}
	SlotState expected = SlotState::InFlight;
	if (slot.state.compare_exchange_strong(expected, SlotState::Filling,
					       std::memory_order_acq_rel)) {
		if (async)
			fetch_sub_seq_cst(&host_->async_waiters, 1u);
		slot.handler = nullptr;
		free_slot(index);
		return Unexpected(std::move(error));
	}
	// close() completed the call first: an async handler has its answer.
	if (async)
		return ticket;
	while (slot.state.load(std::memory_order_acquire) != SlotState::Done)
		cpu_relax();
	free_slot(index);
	return Unexpected(std::move(error));
}

Result<Bytes> ShmCallChannel::wait(Ticket ticket, Deadline deadline)
{
	if (ticket.slot >= geometry_.cells)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("ticket names slot {} of {}", ticket.slot,
					      geometry_.cells));
	Slot &slot = slots_[ticket.slot];
	if (slot.generation != ticket.generation || slot.handler)
		return make_error(ErrorCode::InvalidArgument,
				  "the ticket is not a pending synchronous call");

	publish_cpu(&host_->host_cpu);
	SpinBudget spin(policy_.spin, &shim_->shim_cpu);
	for (unsigned i = 0;; ++i) {
		SlotState st = slot.state.load(std::memory_order_acquire);
		if (st == SlotState::Done) {
			Result<Bytes> result = std::move(*slot.result);
			slot.result.reset();
			free_slot(ticket.slot);
			return result;
		}
		if (st == SlotState::Filling) {
			cpu_relax();
			continue;
		}
		pump();
		if (slot.state.load(std::memory_order_acquire) != SlotState::InFlight)
			continue;
		if (closed()) {
			SlotState expected = SlotState::InFlight;
			if (slot.state.compare_exchange_strong(expected, SlotState::Filling,
							       std::memory_order_acq_rel)) {
				free_slot(ticket.slot);
				return Unexpected(closed_error());
			}
			continue;
		}
		const bool spinning = spin.step();
		if (spinning && (i & 7) != 0)
			continue; // the deadline is read every 8th step
		if (Clock::now() >= deadline.time()) {
			SlotState expected = SlotState::InFlight;
			if (slot.state.compare_exchange_strong(expected, SlotState::Abandoned,
							       std::memory_order_acq_rel)) {
				if (hooks_.on_deadline)
					hooks_.on_deadline();
				return make_error(ErrorCode::DeadlineExceeded,
						  "no answer before the call's deadline");
			}
			continue;
		}
		if (spinning)
			continue;
		sleep_for_completion(slot, deadline);
	}
}

void ShmCallChannel::sleep_for_completion(Slot &slot, Deadline deadline)
{
	// SYNC POINT: a Dekker pair with ShmPeerChannel::respond(), which
	// publishes a completion, fences, then reads sync_waiters: either we
	// see its cell below, or it sees us counted and bumps cmp_doorbell
	// after we read it, so futex_wait returns at once.
	fetch_add_seq_cst(&host_->sync_waiters, 1u);
	const std::uint32_t seen = load_acquire(&shim_->cmp_doorbell);
	// A pump in progress may be about to finish our call without changing
	// the doorbell: never sleep while one runs. Order matters: ring, then
	// pump, then our slot (the pump marks the slot before it unlocks).
	bool sleep = !completions_->pending_at(load_acquire(&host_->cmp_head)) &&
		     !pumping_.load(std::memory_order_acquire) &&
		     slot.state.load(std::memory_order_acquire) == SlotState::InFlight &&
		     !closed();
	if (sleep) {
		auto timeout = std::min<Clock::duration>(deadline.remaining(), kMaxSleep);
		futex_wait(&shim_->cmp_doorbell, seen, timeout);
	} else if (pumping_.load(std::memory_order_relaxed)) {
		std::this_thread::yield();
	}
	fetch_sub_seq_cst(&host_->sync_waiters, 1u);
}

} // namespace bulkhead::ipc

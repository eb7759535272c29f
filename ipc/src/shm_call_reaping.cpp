// SPDX-License-Identifier: Apache-2.0
// The host end of the shared-memory channel, second half: reaping
// completions (copy, verify, check, deliver), cancelling, abandoning and
// closing calls.
#include <bulkhead/ipc/shm_channel.hpp>

#include <climits>

#include <fmt/format.h>

#include <bulkhead/ipc/atomics.hpp>
#include <bulkhead/ipc/futex.hpp>

#include "wire.hpp"

namespace bulkhead::ipc {

namespace {

const char *state_name(std::uint32_t s)
{
	static const char *const names[] = {"free", "in-flight", "filling", "done",
					    "abandoned"};
	return s < 5 ? names[s] : "?";
}

} // namespace

void ShmCallChannel::poll() { pump(); }

void ShmCallChannel::pump()
{
	thread_local std::vector<std::uint8_t> scratch;
	// Spinning waiters call this in a loop: look before taking the lock,
	// so an empty ring costs one load of a line nobody else writes.
	if (!completions_->pending_at(load_acquire(&host_->cmp_head)))
		return;
	for (;;) {
		// SYNC POINT: the pump lock. Both lock and unlock are RMWs
		// (acq_rel), so a thread whose try-lock failed releases what it
		// saw (a completion behind an eventfd wake-up) to the holder,
		// whose unlock acquires it and re-checks the ring below.
		if (pumping_.exchange(true, std::memory_order_acq_rel))
			return;
		for (std::uint32_t i = 0; i < geometry_.cells; ++i)
			if (!drain_one(scratch))
				break;
		pumping_.exchange(false, std::memory_order_acq_rel);
		if (closed() || !completions_->pending_at(load_acquire(&host_->cmp_head)))
			return;
	}
}

bool ShmCallChannel::drain_one(std::vector<std::uint8_t> &scratch)
{
	if (closed())
		return false;
	std::span<const std::uint8_t> view;
	const std::uint64_t position = completions_->position();
	PeekStatus peeked = completions_->peek(view);
	if (peeked == PeekStatus::Empty)
		return false;
	if (peeked == PeekStatus::Corrupt) {
		violation(fmt::format("completion ring cell {} carries an impossible sequence "
				      "number or length",
				      position));
		return false;
	}
	// Copy, then verify, then read (DESIGN.md §2 rule 3).
	scratch.assign(view.begin(), view.end());
	completions_->prefetch_next();
	completions_->pop();

	flatbuffers::Verifier verifier(scratch.data(), scratch.size(), 8, 16);
	if (!verifier.VerifyBuffer<bulkhead::wire::Completion>(nullptr)) {
		violation(fmt::format("completion {} ({} bytes) is not a valid Completion message",
				      position, scratch.size()));
		return false;
	}
	const auto *c = flatbuffers::GetRoot<bulkhead::wire::Completion>(scratch.data());
	const std::uint32_t index = c->slot();
	if (index >= geometry_.cells) {
		violation(fmt::format("completion {} names call slot {} of {}", position, index,
				      geometry_.cells));
		return false;
	}

	Result<Bytes> result = Bytes{};
	if (c->status() == bulkhead::wire::Status::Ok) {
		if (c->payload())
			result = Bytes(c->payload()->begin(), c->payload()->end());
	} else {
		auto code = wire::from_status(c->status());
		if (!code) {
			violation(fmt::format("completion {} carries unknown status {}", position,
					      static_cast<unsigned>(c->status())));
			return false;
		}
		result = Unexpected(Error(*code, c->message() ? c->message()->str() : ""));
	}

	Slot &slot = slots_[index];
	SlotState st = slot.state.load(std::memory_order_acquire);
	if ((st != SlotState::InFlight && st != SlotState::Abandoned) ||
	    slot.generation != c->generation() || slot.call_id != c->call_id()) {
		violation(fmt::format("completion {} for slot {} generation {} call {} matches no "
				      "call in flight (slot is {}, generation {})",
				      position, index, c->generation(), c->call_id(),
				      state_name(static_cast<std::uint32_t>(st)),
				      slot.generation));
		return false;
	}
	for (;;) {
		if (st == SlotState::InFlight &&
		    slot.state.compare_exchange_strong(st, SlotState::Filling,
						       std::memory_order_acq_rel)) {
			finish(slot, std::move(result));
			return true;
		}
		if (st == SlotState::Abandoned &&
		    slot.state.compare_exchange_strong(st, SlotState::Filling,
						       std::memory_order_acq_rel)) {
			free_slot(index); // a late answer to a call that gave up
			return true;
		}
		if (st != SlotState::InFlight && st != SlotState::Abandoned)
			return true; // close() got there first
	}
}

void ShmCallChannel::finish(Slot &slot, Result<Bytes> result)
{
	if (slot.handler) {
		CompletionHandler handler = std::move(slot.handler);
		slot.handler = nullptr;
		fetch_sub_seq_cst(&host_->async_waiters, 1u);
		free_slot(static_cast<std::uint32_t>(&slot - slots_.get()));
		handler(std::move(result));
		return;
	}
	slot.result = std::move(result);
	// SYNC POINT: pairs with the acquire load in wait(): the result is
	// visible to the waiter that sees Done.
	slot.state.store(SlotState::Done, std::memory_order_release);
}

void ShmCallChannel::abandon(Ticket ticket)
{
	if (ticket.slot >= geometry_.cells)
		return;
	Slot &slot = slots_[ticket.slot];
	if (slot.generation != ticket.generation || slot.handler)
		return;
	for (;;) {
		SlotState st = slot.state.load(std::memory_order_acquire);
		if (st == SlotState::InFlight &&
		    slot.state.compare_exchange_strong(st, SlotState::Abandoned,
						       std::memory_order_acq_rel))
			return; // the late answer frees it
		if (st == SlotState::Done) {
			slot.result.reset();
			free_slot(ticket.slot);
			return;
		}
		if (st != SlotState::Filling)
			return;
		cpu_relax();
	}
}

bool ShmCallChannel::prepare_async_sleep()
{
	// SYNC POINT: a Dekker pair with ShmPeerChannel::respond(), which
	// publishes, fences, then reads async_sleeping: either we see its
	// completion below, or it sees us asleep and signals the eventfd.
	store_seq_cst(&host_->async_sleeping, 1u);
	fence_seq_cst();
	if (!closed() && completions_->pending_at(load_acquire(&host_->cmp_head))) {
		store_relaxed(&host_->async_sleeping, 0u);
		return false;
	}
	return true;
}

void ShmCallChannel::end_async_sleep() { store_relaxed(&host_->async_sleeping, 0u); }

bool ShmCallChannel::cancel(Ticket ticket, Error error)
{
	if (ticket.slot >= geometry_.cells)
		return false;
	Slot &slot = slots_[ticket.slot];
	SlotState expected = SlotState::InFlight;
	if (slot.generation != ticket.generation ||
	    !slot.state.compare_exchange_strong(expected, SlotState::Filling,
						std::memory_order_acq_rel))
		return false;
	if (!slot.handler) {
		// A synchronous call ends by its own deadline; cancelling it
		// would free a slot the shim is still going to answer.
		slot.state.store(SlotState::InFlight, std::memory_order_release);
		return false;
	}
	// The request is still with the shim, which will answer it: keep the
	// slot Abandoned (as a passed deadline does) until that late answer is
	// reaped, or the answer would name a free or reused slot.
	CompletionHandler handler = std::move(slot.handler);
	slot.handler = nullptr;
	fetch_sub_seq_cst(&host_->async_waiters, 1u);
	// SYNC POINT: pairs with the acquire CAS in drain_one() and
	// close_once() that free the slot: our clearing of the handler happens
	// before the slot's next use.
	slot.state.store(SlotState::Abandoned, std::memory_order_release);
	handler(Unexpected(std::move(error)));
	return true;
}

void ShmCallChannel::violation(std::string message)
{
	Error error(ErrorCode::ProtocolViolation, std::move(message));
	error.termination = Termination::Protocol;
	if (close_once(error) && hooks_.on_violation)
		hooks_.on_violation(error);
}

void ShmCallChannel::close(Error reason) { close_once(std::move(reason)); }

bool ShmCallChannel::close_once(Error reason)
{
	{
		std::lock_guard lock(close_mutex_);
		if (closed_.load(std::memory_order_relaxed))
			return false;
		close_reason_ = std::move(reason);
		closed_.store(true, std::memory_order_release);
	}
	const Error error = closed_error();
	for (std::uint32_t i = 0; i < geometry_.cells; ++i) {
		Slot &slot = slots_[i];
		SlotState st = slot.state.load(std::memory_order_acquire);
		if (st == SlotState::InFlight &&
		    slot.state.compare_exchange_strong(st, SlotState::Filling,
						       std::memory_order_acq_rel)) {
			finish(slot, Unexpected(error));
		} else if (st == SlotState::Abandoned &&
			   slot.state.compare_exchange_strong(st, SlotState::Filling,
							      std::memory_order_acq_rel)) {
			free_slot(i);
		}
	}
	// Wakes sleepers; one that lost the race notices within kMaxSleep.
	futex_wake(&shim_->cmp_doorbell, INT_MAX);
	return true;
}

} // namespace bulkhead::ipc

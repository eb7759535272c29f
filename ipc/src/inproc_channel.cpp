// SPDX-License-Identifier: Apache-2.0
// The in-process channel.
#include <bulkhead/ipc/inproc_channel.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace bulkhead::ipc {

struct InprocState {
	enum class SlotState : std::uint8_t { Free, InFlight, Done, Abandoned };
	struct Slot {
		SlotState state = SlotState::Free;
		std::uint32_t generation = 0;
		std::uint64_t call_id = 0;
		std::optional<Result<Bytes>> result;
		CompletionHandler handler;
	};
	struct Queued {
		IncomingCall call;
		Bytes payload;
	};

	std::mutex mutex;
	std::condition_variable slot_freed, request_ready, call_done;
	std::vector<Slot> slots;
	std::deque<Queued> queue;
	std::size_t max_message = 0;
	std::uint64_t next_call_id = 1;
	bool closed = false;
	Error close_reason;
};

std::pair<std::unique_ptr<InprocCallChannel>, std::unique_ptr<InprocPeerChannel>>
make_inproc_channel(std::uint32_t slots, std::size_t max_message)
{
	auto state = std::make_shared<InprocState>();
	state->slots.resize(slots);
	state->max_message = max_message;
	return {std::make_unique<InprocCallChannel>(state),
		std::make_unique<InprocPeerChannel>(state)};
}

InprocCallChannel::~InprocCallChannel()
{
	close(Error(ErrorCode::Unavailable, "the channel was destroyed"));
}

std::size_t InprocCallChannel::max_payload() const { return state_->max_message; }

bool InprocCallChannel::closed() const
{
	std::lock_guard lock(state_->mutex);
	return state_->closed;
}

Result<Ticket> InprocCallChannel::submit(std::uint32_t op, ByteView payload, Deadline deadline)
{
	return submit_impl(op, payload, deadline, nullptr);
}

Result<Ticket> InprocCallChannel::submit_async(std::uint32_t op, ByteView payload,
					       Deadline deadline, CompletionHandler handler)
{
	if (!handler)
		return make_error(ErrorCode::InvalidArgument, "submit_async needs a handler");
	return submit_impl(op, payload, deadline, std::move(handler));
}

Result<Ticket> InprocCallChannel::submit_impl(std::uint32_t op, ByteView payload,
					      Deadline deadline, CompletionHandler handler)
{
	auto &s = *state_;
	if (payload.size() > s.max_message)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("payload of {} bytes exceeds the channel's maximum "
					      "of {} bytes",
					      payload.size(), s.max_message));
	std::unique_lock lock(s.mutex);
	for (;;) {
		if (s.closed)
			return Unexpected(s.close_reason);
		for (std::uint32_t i = 0; i < s.slots.size(); ++i) {
			auto &slot = s.slots[i];
			if (slot.state != InprocState::SlotState::Free)
				continue;
			slot.state = InprocState::SlotState::InFlight;
			slot.generation++;
			slot.call_id = s.next_call_id++;
			slot.result.reset();
			slot.handler = std::move(handler);
			InprocState::Queued q;
			q.payload.assign(payload.begin(), payload.end());
			q.call = IncomingCall{slot.call_id, i,        slot.generation,
					      op,           deadline, {}};
			s.queue.push_back(std::move(q));
			s.request_ready.notify_one();
			return Ticket{i, slot.generation};
		}
		if (deadline.is_never())
			s.slot_freed.wait(lock);
		else if (s.slot_freed.wait_until(lock, deadline.time()) == std::cv_status::timeout)
			return make_error(ErrorCode::ResourceExhausted,
					  fmt::format("all {} call slots are busy", s.slots.size()));
	}
}

Result<Bytes> InprocCallChannel::wait(Ticket ticket, Deadline deadline)
{
	auto &s = *state_;
	std::unique_lock lock(s.mutex);
	if (ticket.slot >= s.slots.size() || s.slots[ticket.slot].generation != ticket.generation ||
	    s.slots[ticket.slot].handler)
		return make_error(ErrorCode::InvalidArgument,
				  "the ticket is not a pending synchronous call");
	auto &slot = s.slots[ticket.slot];
	for (;;) {
		if (slot.state == InprocState::SlotState::Done) {
			Result<Bytes> r = std::move(*slot.result);
			slot.result.reset();
			slot.state = InprocState::SlotState::Free;
			s.slot_freed.notify_one();
			return r;
		}
		if (deadline.passed()) {
			slot.state = InprocState::SlotState::Abandoned;
			return make_error(ErrorCode::DeadlineExceeded,
					  "no answer before the call's deadline");
		}
		if (deadline.is_never())
			s.call_done.wait(lock);
		else
			s.call_done.wait_until(lock, deadline.time());
	}
}

bool InprocCallChannel::cancel(Ticket ticket, Error error)
{
	auto &s = *state_;
	std::unique_lock lock(s.mutex);
	if (ticket.slot >= s.slots.size())
		return false;
	auto &slot = s.slots[ticket.slot];
	if (slot.generation != ticket.generation || slot.state != InprocState::SlotState::InFlight)
		return false;
	if (!slot.handler)
		return false; // synchronous calls end by their own deadline
	auto handler = std::move(slot.handler);
	slot.handler = nullptr;
	slot.state = InprocState::SlotState::Abandoned; // freed when the peer answers
	lock.unlock();
	handler(Unexpected(std::move(error)));
	return true;
}

void InprocCallChannel::abandon(Ticket ticket)
{
	auto &s = *state_;
	std::lock_guard lock(s.mutex);
	if (ticket.slot >= s.slots.size())
		return;
	auto &slot = s.slots[ticket.slot];
	if (slot.generation != ticket.generation || slot.handler)
		return;
	if (slot.state == InprocState::SlotState::InFlight) {
		slot.state = InprocState::SlotState::Abandoned;
	} else if (slot.state == InprocState::SlotState::Done) {
		slot.result.reset();
		slot.state = InprocState::SlotState::Free;
		s.slot_freed.notify_one();
	}
}

void InprocCallChannel::close(Error reason)
{
	auto &s = *state_;
	std::vector<CompletionHandler> handlers;
	{
		std::lock_guard lock(s.mutex);
		if (s.closed)
			return;
		s.closed = true;
		s.close_reason = reason;
		s.queue.clear();
		for (auto &slot : s.slots) {
			if (slot.state == InprocState::SlotState::Abandoned) {
				slot.state = InprocState::SlotState::Free;
			} else if (slot.state == InprocState::SlotState::InFlight) {
				if (slot.handler) {
					handlers.push_back(std::move(slot.handler));
					slot.handler = nullptr;
					slot.state = InprocState::SlotState::Free;
				} else {
					slot.result = Unexpected(reason);
					slot.state = InprocState::SlotState::Done;
				}
			}
		}
		s.call_done.notify_all();
		s.slot_freed.notify_all();
		s.request_ready.notify_all();
	}
	for (auto &h : handlers)
		h(Unexpected(reason));
}

std::size_t InprocPeerChannel::max_reply() const { return state_->max_message; }

Result<std::optional<IncomingCall>> InprocPeerChannel::receive(const std::atomic<bool> &stop)
{
	auto &s = *state_;
	std::unique_lock lock(s.mutex);
	for (;;) {
		if (!s.queue.empty()) {
			auto q = std::move(s.queue.front());
			s.queue.pop_front();
			current_ = std::move(q.payload);
			q.call.payload = current_;
			return std::optional<IncomingCall>(q.call);
		}
		if (s.closed)
			return Unexpected(s.close_reason);
		if (stop.load(std::memory_order_acquire))
			return std::optional<IncomingCall>();
		s.request_ready.wait_for(lock, std::chrono::milliseconds(10));
	}
}

Result<void> InprocPeerChannel::respond(const IncomingCall &call, const Reply &reply)
{
	auto &s = *state_;
	Result<Bytes> result = Bytes{};
	if (reply.ok && reply.payload.size() > s.max_message)
		result = Unexpected(Error(ErrorCode::ResourceExhausted,
					  fmt::format("reply of {} bytes exceeds the channel's "
						      "maximum of {} bytes",
						      reply.payload.size(), s.max_message)));
	else if (reply.ok)
		result = Bytes(reply.payload.begin(), reply.payload.end());
	else
		result = Unexpected(Error(reply.code, std::string(reply.message)));

	std::unique_lock lock(s.mutex);
	if (call.slot >= s.slots.size())
		return make_error(ErrorCode::InvalidArgument, "reply names no call slot");
	auto &slot = s.slots[call.slot];
	if (slot.generation != call.generation)
		return {};
	if (slot.state == InprocState::SlotState::Abandoned) {
		slot.state = InprocState::SlotState::Free;
		s.slot_freed.notify_one();
		return {};
	}
	if (slot.state != InprocState::SlotState::InFlight)
		return {};
	if (slot.handler) {
		auto handler = std::move(slot.handler);
		slot.handler = nullptr;
		slot.state = InprocState::SlotState::Free;
		s.slot_freed.notify_one();
		lock.unlock();
		handler(std::move(result));
		return {};
	}
	slot.result = std::move(result);
	slot.state = InprocState::SlotState::Done;
	s.call_done.notify_all();
	return {};
}

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// The two ends of a call channel. CallChannel is the host end: many host
// threads submit calls and wait for their completions. PeerChannel is the
// serving end (the shim): one thread receives requests and answers them.
// ShmCallChannel/ShmPeerChannel and the in-process pair implement them and
// pass one conformance suite (tests/ipc/channel_conformance_test.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <bulkhead/bytes.hpp>
#include <bulkhead/deadline.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ipc {

// Names one submitted call until it is waited for or completed.
struct Ticket {
	std::uint32_t slot = 0;
	std::uint32_t generation = 0;
};

using CompletionHandler = std::function<void(Result<Bytes>)>;

// Host end. Thread-safe: every member may be called from any thread.
class CallChannel {
public:
	virtual ~CallChannel() = default;

	// Largest payload a request can carry.
	virtual std::size_t max_payload() const = 0;

	// Queues a call. Fails at once with ResourceExhausted when every call
	// slot is busy and none frees up before `deadline`, InvalidArgument
	// when the payload exceeds max_payload(), or the close() reason.
	virtual Result<Ticket> submit(std::uint32_t op, ByteView payload,
				      Deadline deadline) = 0;
	// Waits for a submitted call. Each ticket is waited for exactly once.
	// On DeadlineExceeded the call is abandoned: a late completion is
	// dropped.
	virtual Result<Bytes> wait(Ticket ticket, Deadline deadline) = 0;

	// Queues a call whose result goes to `handler`, invoked exactly once
	// on whichever thread reaps it (keep it short: post elsewhere).
	virtual Result<Ticket> submit_async(std::uint32_t op, ByteView payload,
					    Deadline deadline,
					    CompletionHandler handler) = 0;
	// Completes an async call with `error` if it has not completed yet;
	// its late answer is dropped. Returns true if it did; false for a
	// synchronous ticket, which ends by its own deadline.
	virtual bool cancel(Ticket ticket, Error error) = 0;
	// Forgets a synchronous call that will not be waited for; its slot
	// is reused once the answer arrives (or at once, if it has).
	virtual void abandon(Ticket ticket) = 0;
	// Reaps whatever completions have arrived, without blocking.
	virtual void poll() = 0;

	// Fails every in-flight call, and every later one, with `reason`.
	// Idempotent: the first reason wins.
	virtual void close(Error reason) = 0;
	virtual bool closed() const = 0;

	// Submits and waits.
	Result<Bytes> call(std::uint32_t op, ByteView payload, Deadline deadline)
	{
		auto ticket = submit(op, payload, deadline);
		if (!ticket.has_value())
			return Unexpected(std::move(ticket).error());
		return wait(ticket.value(), deadline);
	}
};

// A request as the serving end sees it. `payload` stays valid until the
// request is answered.
struct IncomingCall {
	std::uint64_t call_id = 0;
	std::uint32_t slot = 0;
	std::uint32_t generation = 0;
	std::uint32_t op = 0;
	Deadline deadline = Deadline::never();
	ByteView payload;
};

// The answer to one IncomingCall: a payload, or an error.
struct Reply {
	ErrorCode code{};     // meaningful only when !ok
	bool ok = true;
	ByteView payload;     // with ok
	std::string_view message; // without ok

	static Reply success(ByteView p) { return Reply{ErrorCode{}, true, p, {}}; }
	static Reply failure(ErrorCode c, std::string_view m)
	{
		return Reply{c, false, {}, m};
	}
};

// Serving end. One thread at a time.
class PeerChannel {
public:
	virtual ~PeerChannel() = default;

	// Blocks until a request arrives (returns it), `stop` becomes true
	// (returns nullopt), or the channel fails (returns the error).
	virtual Result<std::optional<IncomingCall>>
	receive(const std::atomic<bool> &stop) = 0;
	// Answers the request last returned by receive().
	virtual Result<void> respond(const IncomingCall &call, const Reply &reply) = 0;
	virtual std::size_t max_reply() const = 0;
};

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// An in-process channel: both ends in one process, a mutex and condition
// variables instead of shared memory. The reference implementation the
// conformance suite holds the shared-memory channel to, and a transport for
// trusted plugins that need no isolation.
#pragma once

#include <memory>
#include <utility>

#include <bulkhead/ipc/channel.hpp>

namespace bulkhead::ipc {

struct InprocState;

class InprocCallChannel final : public CallChannel {
public:
	explicit InprocCallChannel(std::shared_ptr<InprocState> state) : state_(std::move(state)) {}
	~InprocCallChannel() override;

	std::size_t max_payload() const override;
	Result<Ticket> submit(std::uint32_t op, ByteView payload, Deadline deadline) override;
	Result<Bytes> wait(Ticket ticket, Deadline deadline) override;
	Result<Ticket> submit_async(std::uint32_t op, ByteView payload, Deadline deadline,
				    CompletionHandler handler) override;
	bool cancel(Ticket ticket, Error error) override;
	void abandon(Ticket ticket) override;
	void poll() override {}
	void close(Error reason) override;
	bool closed() const override;

private:
	Result<Ticket> submit_impl(std::uint32_t op, ByteView payload, Deadline deadline,
				   CompletionHandler handler);
	std::shared_ptr<InprocState> state_;
};

class InprocPeerChannel final : public PeerChannel {
public:
	explicit InprocPeerChannel(std::shared_ptr<InprocState> state) : state_(std::move(state)) {}

	Result<std::optional<IncomingCall>> receive(const std::atomic<bool> &stop) override;
	Result<void> respond(const IncomingCall &call, const Reply &reply) override;
	std::size_t max_reply() const override;

private:
	std::shared_ptr<InprocState> state_;
	Bytes current_; // payload of the request being served
};

// `slots` calls in flight at most, messages of at most `max_message` bytes.
std::pair<std::unique_ptr<InprocCallChannel>, std::unique_ptr<InprocPeerChannel>>
make_inproc_channel(std::uint32_t slots, std::size_t max_message);

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// The shared-memory channel: two sealed memfds (DESIGN.md §2), a request
// ring the host writes and a completion ring the shim writes, and doorbells
// that cost nothing while the peer is awake.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <bulkhead/ipc/channel.hpp>
#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/ipc/ring.hpp>
#include <bulkhead/mapping.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::ipc {

// How long a waiting side spins before it sleeps on a futex. Spinning keeps
// a hot call near the cache-line floor; sleeping bounds the CPU a quiet
// channel burns. Never unbounded (research/perf-anchors.md §3).
struct WaitPolicy {
	std::chrono::nanoseconds spin = std::chrono::microseconds(100);
};

// The descriptors a shim needs, as handed to it at spawn.
struct PeerFds {
	int host_region = -1;  // read-only descriptor; writable mappings refused
	int shim_region = -1;  // read-write
	int notify = -1;       // eventfd the shim signals for async waiters
};

class ShmCallChannel final : public CallChannel {
public:
	struct Hooks {
		// The peer broke the protocol; the channel is already closed.
		std::function<void(const Error &)> on_violation;
		// A synchronous call's deadline passed with no answer.
		std::function<void()> on_deadline;
	};

	// Creates both regions (sealed) and the eventfd.
	static Result<std::unique_ptr<ShmCallChannel>> create(Geometry geometry,
							      WaitPolicy policy = {});
	~ShmCallChannel() override;

	// Set once, before the peer starts.
	void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

	// Descriptors to give the peer. Valid until release_peer_fds().
	PeerFds peer_fds() const;
	// Closes the host's copies once the peer holds its own.
	void release_peer_fds();
	// The eventfd the peer signals while async calls are outstanding.
	int notify_fd() const { return notify_fd_.get(); }
	const Geometry &geometry() const { return geometry_; }
	// The async collector (the broker's io thread, woken by notify_fd())
	// announces that it goes to sleep: the shim signals the eventfd only
	// then. False when completions are already waiting: poll() first.
	bool prepare_async_sleep();
	void end_async_sleep();
	// Requests published and not yet consumed by the peer (ring occupancy).
	std::uint64_t requests_pending() const;
	// The word the kernel marks when the peer's process dies
	// (death_notice.hpp), in the peer's region: read and wait only.
	const std::uint32_t *death_word() const { return &shim_->death_word; }

	std::size_t max_payload() const override;
	Result<Ticket> submit(std::uint32_t op, ByteView payload, Deadline deadline) override;
	Result<Bytes> wait(Ticket ticket, Deadline deadline) override;
	Result<Ticket> submit_async(std::uint32_t op, ByteView payload, Deadline deadline,
				    CompletionHandler handler) override;
	bool cancel(Ticket ticket, Error error) override;
	void abandon(Ticket ticket) override;
	void poll() override;
	void close(Error reason) override;
	bool closed() const override { return closed_.load(std::memory_order_acquire); }

private:
	enum class SlotState : std::uint32_t { Free, InFlight, Filling, Done, Abandoned };
	struct Slot {
		std::atomic<SlotState> state{SlotState::Free};
		std::uint32_t generation = 0;
		std::uint64_t call_id = 0;
		std::optional<Result<Bytes>> result;
		CompletionHandler handler; // async calls only
	};

	ShmCallChannel(Geometry geometry, WaitPolicy policy);

	Result<Ticket> submit_impl(std::uint32_t op, ByteView payload, Deadline deadline,
				   CompletionHandler handler);
	Result<std::uint32_t> claim_slot(Deadline deadline);
	void free_slot(std::uint32_t index);
	void ring_shim();
	// Drains the completion ring while nobody else does.
	void pump();
	bool drain_one(std::vector<std::uint8_t> &scratch);
	void finish(Slot &slot, Result<Bytes> result);
	void violation(std::string message);
	bool close_once(Error reason); // true if this call closed the channel
	Error closed_error() const;
	void sleep_for_completion(Slot &slot, Deadline deadline);

	Geometry geometry_;
	WaitPolicy policy_;
	Hooks hooks_;
	UniqueFd host_fd_, host_ro_fd_, shim_fd_, notify_fd_;
	Mapping host_map_, shim_map_;
	HostControl *host_ = nullptr;
	const ShimControl *shim_ = nullptr;
	std::unique_ptr<RingWriter> requests_;
	std::unique_ptr<RingReader> completions_;

	std::unique_ptr<Slot[]> slots_;
	std::unique_ptr<std::atomic<std::uint64_t>[]> free_bits_;
	std::atomic<std::uint64_t> next_call_id_{1};
	std::atomic<bool> pumping_{false};
	std::atomic<bool> closed_{false};
	mutable std::mutex close_mutex_;
	Error close_reason_;
};

class ShmPeerChannel final : public PeerChannel {
public:
	// Maps the regions a host created. Takes ownership of the descriptors.
	static Result<std::unique_ptr<ShmPeerChannel>> open(UniqueFd host_region,
							    UniqueFd shim_region,
							    UniqueFd notify,
							    WaitPolicy policy = {});

	Result<std::optional<IncomingCall>> receive(const std::atomic<bool> &stop) override;
	Result<void> respond(const IncomingCall &call, const Reply &reply) override;
	std::size_t max_reply() const override;
	// Wakes receive() so it notices `stop` at once.
	void wake();
	// Arms the death notice (death_notice.hpp) for the calling thread.
	bool arm_death_notice();

private:
	ShmPeerChannel() = default;

	Geometry geometry_;
	WaitPolicy policy_;
	UniqueFd notify_fd_;
	Mapping host_map_, shim_map_;
	const HostControl *host_ = nullptr;
	ShimControl *shim_ = nullptr;
	std::unique_ptr<RingReader> requests_;
	std::unique_ptr<RingWriter> completions_;
	bool holding_request_ = false;
};

} // namespace bulkhead::ipc

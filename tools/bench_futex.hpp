// SPDX-License-Identifier: Apache-2.0
// The kernel's own wake-up cost: a bare futex round trip with a peer process
// that is asleep when the request arrives, the yardstick of a cold call.
#pragma once

#include <chrono>
#include <cstdint>

#include <bulkhead/mapping.hpp>
#include <bulkhead/result.hpp>

#include "bench_peer.hpp"

namespace bulkhead::tools {

// The page both processes map: one cache line per writer and direction.
struct FutexPage {
	alignas(64) std::uint32_t ping; // client -> peer: call number; the peer sleeps here
	alignas(64) std::uint32_t pong; // peer -> client: the call number answered
	std::int32_t peer_cpu;          // where the peer answered it (same line as pong)
	alignas(64) std::uint32_t ready; // 1 once the peer serves
};

// ping set to this stops the peer.
inline constexpr std::uint32_t kFutexStop = 0xffffffffu;

class FutexBaseline {
public:
	// Creates the shared page (a memfd, MAP_SHARED) and starts the peer,
	// pinned to `peer_cpu` unless it is negative.
	static Result<FutexBaseline> start(int peer_cpu);
	FutexBaseline(FutexBaseline &&) noexcept = default;
	~FutexBaseline();

	// One timed round trip, in ns: wake the sleeping peer (FUTEX_WAKE on a
	// shared, not private, futex), then wait for its answer the way a host
	// thread waits for a completion: spin for `reply_spin`, then
	// FUTEX_WAIT until the peer's FUTEX_WAKE.
	Result<double> round_trip(std::chrono::nanoseconds reply_spin);
	// The CPU the peer answered the last round trip on.
	int last_peer_cpu() const;
	// Stops and reaps the peer; fails if it did not exit cleanly.
	Result<void> stop();

private:
	FutexBaseline(Mapping page, PeerProcess peer) : page_(std::move(page)), peer_(std::move(peer)) {}
	FutexPage *page() const { return reinterpret_cast<FutexPage *>(page_.data()); }

	Mapping page_;
	PeerProcess peer_;
	std::uint32_t next_ = 0;
	bool stopped_ = false;
};

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// Ring: a bounded ring of fixed-size cells in shared memory, split into its
// two roles. The producer's region holds the cells and its claim counter;
// the consumer's region holds only the consumer's head. A consumer polls the
// sequence number in the cell it waits for (no shared tail index to bounce),
// which measured 1.6x the one-cache-line floor here against 2.9x for a
// head/tail index ring (research/perf-anchors.md §2.2).
//
// Neither side trusts the other: every index and length read from the peer
// is bounded before use, and anything impossible is reported as Corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <bulkhead/ipc/layout.hpp>

namespace bulkhead::ipc {

enum class PushStatus : std::uint8_t { Ok, Full, TooLarge, Corrupt };
enum class PeekStatus : std::uint8_t { Ready, Empty, Corrupt };

// Producer end. Many threads may claim and publish concurrently.
class RingWriter {
public:
	struct Claim {
		std::uint8_t *data = nullptr; // capacity() bytes, private to the claimer
		std::uint64_t position = 0;
	};

	// `cells` and `tail` are in the producer's (writable) region;
	// `peer_head` is the consumer's counter, read-only and untrusted.
	RingWriter(std::byte *cells, Geometry geometry, std::uint64_t *tail,
		   const std::uint64_t *peer_head)
		: cells_(cells), geometry_(geometry), tail_(tail), peer_head_(peer_head) {}

	std::size_t capacity() const { return geometry_.cell_bytes - kCellHeaderBytes; }

	// Claims the next free cell: Full when the consumer has not released it
	// yet, Corrupt when the consumer's head is impossible.
	PushStatus claim(Claim &out);
	// Publishes a claimed cell holding `len` (<= capacity()) bytes.
	void publish(const Claim &claim, std::uint32_t len);
	// claim + copy + publish.
	PushStatus push(std::span<const std::uint8_t> message);
	// Starts fetching, for writing, the cell after `claim`: its cache
	// line still sits in the consumer's cache from the last lap.
	void prefetch_after(const Claim &claim) const;

private:
	std::byte *cells_;
	Geometry geometry_;
	std::uint64_t *tail_;
	const std::uint64_t *peer_head_;
	std::uint64_t cached_head_ = 0; // private; atomic: producers share it
};

// Consumer end. One consumer at a time (callers serialise).
class RingReader {
public:
	// `cells` are in the producer's region (read-only here, untrusted);
	// `head` is the consumer's own counter in its writable region.
	RingReader(const std::byte *cells, Geometry geometry, std::uint64_t *head)
		: cells_(cells), geometry_(geometry), head_(head) {}

	std::size_t capacity() const { return geometry_.cell_bytes - kCellHeaderBytes; }

	// Ready: `out` views the message inside the shared cell, valid until
	// pop(); it may still change under a hostile producer, so copy before
	// parsing. Empty: nothing published. Corrupt: the cell's sequence or
	// length is impossible.
	PeekStatus peek(std::span<const std::uint8_t> &out) const;
	// Releases the cell peek() returned to the producer.
	void pop();
	// True when the next cell is published (or corrupt: worth a look).
	bool pending() const { return pending_at(position_); }
	// The same for the cell at `position`; touches no consumer state, so
	// threads that do not hold the consumer role may ask.
	bool pending_at(std::uint64_t position) const;
	// Starts fetching the next cell, which the producer is writing on
	// another core, while the current one is processed.
	void prefetch_next() const;
	std::uint64_t position() const { return position_; }

private:
	const std::byte *cells_;
	Geometry geometry_;
	std::uint64_t *head_;
	std::uint64_t position_ = 0; // private copy of *head_
};

} // namespace bulkhead::ipc

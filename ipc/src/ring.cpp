// SPDX-License-Identifier: Apache-2.0
// Ring producer and consumer.
#include <bulkhead/ipc/ring.hpp>

#include <cstring>

#include <bulkhead/ipc/atomics.hpp>

namespace bulkhead::ipc {

namespace {

inline CellHeader *cell_at(std::byte *cells, const Geometry &g, std::uint64_t pos)
{
	return reinterpret_cast<CellHeader *>(cells + (pos & (g.cells - 1)) * g.cell_bytes);
}

inline const CellHeader *cell_at(const std::byte *cells, const Geometry &g,
				 std::uint64_t pos)
{
	return reinterpret_cast<const CellHeader *>(cells +
						    (pos & (g.cells - 1)) * g.cell_bytes);
}

} // namespace

PushStatus RingWriter::claim(Claim &out)
{
	std::uint64_t pos = load_relaxed(tail_);
	for (;;) {
		// Most claims are decided by our cached copy of the consumer's
		// head: reading the peer's line on every push would pull it
		// across cores each call.
		// SYNC POINT: pairs with the release store of the cache below,
		// which carries the acquire of the peer's head (a chain back to
		// the consumer's release in RingReader::pop()).
		std::uint64_t head = load_acquire(&cached_head_);
		if (head > pos || pos - head >= geometry_.cells) {
			// SYNC POINT: pairs with the consumer's release store of
			// its head in RingReader::pop(): once we see head > pos -
			// cells, the consumer has finished reading the cell we
			// are about to reuse.
			head = load_acquire(peer_head_);
			if (head > pos) {
				// A stale `pos` may legitimately trail the head;
				// reload it before calling the peer corrupt.
				pos = load_relaxed(tail_);
				if (head > pos)
					return PushStatus::Corrupt;
				continue;
			}
			store_release(&cached_head_, head);
			if (pos - head >= geometry_.cells)
				return PushStatus::Full;
		}
		// The claim itself orders nothing: the cell is published by the
		// release store of its sequence number in publish().
		if (cas_relaxed(tail_, pos, pos + 1))
			break;
	}
	auto *hdr = cell_at(cells_, geometry_, pos);
	out.data = reinterpret_cast<std::uint8_t *>(hdr) + kCellHeaderBytes;
	out.position = pos;
	return PushStatus::Ok;
}

void RingWriter::publish(const Claim &claim, std::uint32_t len)
{
	auto *hdr = cell_at(cells_, geometry_, claim.position);
	store_relaxed(&hdr->len, len);
	// SYNC POINT: pairs with the acquire load of `seq` in
	// RingReader::peek(): the message bytes and `len` written before this
	// store are visible to a consumer that sees seq == position + 1.
	store_release(&hdr->seq, claim.position + 1);
}

PushStatus RingWriter::push(std::span<const std::uint8_t> message)
{
	if (message.size() > capacity())
		return PushStatus::TooLarge;
	Claim c;
	PushStatus s = claim(c);
	if (s != PushStatus::Ok)
		return s;
	if (!message.empty()) // an empty span's data() may be null: UB for memcpy
		std::memcpy(c.data, message.data(), message.size());
	publish(c, static_cast<std::uint32_t>(message.size()));
	prefetch_after(c);
	return PushStatus::Ok;
}

void RingWriter::prefetch_after(const Claim &claim) const
{
	const auto *next = reinterpret_cast<const char *>(cell_at(cells_, geometry_, claim.position + 1));
	__builtin_prefetch(next, 1, 3);
	__builtin_prefetch(next + kCacheLine, 1, 3);
}

void RingReader::prefetch_next() const
{
	const auto *next = reinterpret_cast<const char *>(cell_at(cells_, geometry_, position_ + 1));
	__builtin_prefetch(next, 0, 3);
	__builtin_prefetch(next + kCacheLine, 0, 3);
}

PeekStatus RingReader::peek(std::span<const std::uint8_t> &out) const
{
	const auto *hdr = cell_at(cells_, geometry_, position_);
	// SYNC POINT: pairs with the release store in RingWriter::publish().
	std::uint64_t seq = load_acquire(&hdr->seq);
	if (seq == position_ + 1) {
		std::uint32_t len = load_relaxed(&hdr->len);
		if (len > capacity())
			return PeekStatus::Corrupt;
		out = {reinterpret_cast<const std::uint8_t *>(hdr) + kCellHeaderBytes, len};
		return PeekStatus::Ready;
	}
	// Not yet published: the cell still carries the previous lap's
	// sequence (or 0 on the first lap). Anything else is a forgery.
	std::uint64_t previous = position_ + 1 > geometry_.cells
					 ? position_ + 1 - geometry_.cells
					 : 0;
	return seq == previous ? PeekStatus::Empty : PeekStatus::Corrupt;
}

bool RingReader::pending_at(std::uint64_t position) const
{
	const auto *hdr = cell_at(cells_, geometry_, position);
	std::uint64_t previous = position + 1 > geometry_.cells
					 ? position + 1 - geometry_.cells
					 : 0;
	return load_acquire(&hdr->seq) != previous;
}

void RingReader::pop()
{
	++position_;
	// SYNC POINT: pairs with the acquire load of the head in
	// RingWriter::claim(): our reads of the cell happen before the
	// producer reuses it.
	store_release(head_, position_);
}

} // namespace bulkhead::ipc

// SPDX-License-Identifier: Apache-2.0
// RingWriter/RingReader over plain heap memory: ordering, back-pressure and
// the checks against a forged peer.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/ipc/ring.hpp>

using namespace bulkhead::ipc;

namespace {

// One ring's memory: the cells (zeroed, cache-line aligned, as in a fresh
// memfd) and the two counters, each on its own line.
class RingMemory {
public:
	explicit RingMemory(Geometry geometry)
		: geometry_(geometry),
		  cells_(static_cast<std::byte *>(::operator new(
			  bytes(), std::align_val_t(kCacheLine))))
	{
		std::memset(cells_.get(), 0, bytes());
	}

	RingWriter writer() { return RingWriter(cells_.get(), geometry_, &tail_, &head_); }
	RingReader reader() { return RingReader(cells_.get(), geometry_, &head_); }

	CellHeader &cell(std::uint32_t index)
	{
		return *reinterpret_cast<CellHeader *>(cells_.get() +
						       std::size_t(index) * geometry_.cell_bytes);
	}
	std::uint64_t &head() { return head_; }
	std::uint64_t &tail() { return tail_; }

private:
	struct AlignedDelete {
		void operator()(std::byte *p) const
		{
			::operator delete(p, std::align_val_t(kCacheLine));
		}
	};

	std::size_t bytes() const { return std::size_t(geometry_.cells) * geometry_.cell_bytes; }

	Geometry geometry_;
	std::unique_ptr<std::byte, AlignedDelete> cells_;
	alignas(kCacheLine) std::uint64_t tail_ = 0;
	alignas(kCacheLine) std::uint64_t head_ = 0;
};

std::vector<std::uint8_t> message_for(std::uint64_t n, std::size_t size)
{
	std::vector<std::uint8_t> m(size);
	for (std::size_t i = 0; i < size; ++i)
		m[i] = static_cast<std::uint8_t>(n * 31 + i);
	return m;
}

std::vector<std::uint8_t> copy(std::span<const std::uint8_t> view)
{
	return {view.begin(), view.end()};
}

} // namespace

TEST_CASE("a pushed message is peeked unchanged and popped once")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();

	std::span<const std::uint8_t> view;
	CHECK(reader.peek(view) == PeekStatus::Empty);
	CHECK_FALSE(reader.pending());

	auto message = message_for(7, 42);
	REQUIRE(writer.push(message) == PushStatus::Ok);
	CHECK(reader.pending());
	REQUIRE(reader.peek(view) == PeekStatus::Ready);
	CHECK(copy(view) == message);
	// Peeking again without pop() shows the same message.
	REQUIRE(reader.peek(view) == PeekStatus::Ready);
	CHECK(copy(view) == message);

	reader.pop();
	CHECK(reader.position() == 1);
	CHECK(mem.head() == 1);
	CHECK(reader.peek(view) == PeekStatus::Empty);
}

TEST_CASE("an empty message and a message of exactly capacity bytes both round-trip")
{
	RingMemory mem({2, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();
	REQUIRE(writer.capacity() == 128 - kCellHeaderBytes);

	std::span<const std::uint8_t> view;
	REQUIRE(writer.push({}) == PushStatus::Ok);
	REQUIRE(reader.peek(view) == PeekStatus::Ready);
	CHECK(view.empty());
	reader.pop();

	auto full = message_for(3, writer.capacity());
	REQUIRE(writer.push(full) == PushStatus::Ok);
	REQUIRE(reader.peek(view) == PeekStatus::Ready);
	CHECK(copy(view) == full);
	reader.pop();
}

TEST_CASE("messages keep their order and contents over many laps of the ring")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();

	std::uint64_t next_read = 0;
	for (std::uint64_t n = 0; n < 1000; ++n) {
		REQUIRE(writer.push(message_for(n, 1 + n % writer.capacity())) == PushStatus::Ok);
		// Let the ring fill up before draining, so every lap reuses
		// cells that still hold the previous lap's sequence numbers.
		if (n % 4 != 3)
			continue;
		for (; next_read <= n; ++next_read) {
			std::span<const std::uint8_t> view;
			REQUIRE(reader.peek(view) == PeekStatus::Ready);
			CHECK(copy(view) == message_for(next_read, 1 + next_read % writer.capacity()));
			reader.pop();
		}
	}
	CHECK(next_read == 1000);
	CHECK(mem.tail() == 1000);
	CHECK(mem.head() == 1000);
	std::span<const std::uint8_t> view;
	CHECK(reader.peek(view) == PeekStatus::Empty);
}

TEST_CASE("a full ring refuses a push until the consumer pops")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();

	for (std::uint64_t n = 0; n < 4; ++n)
		REQUIRE(writer.push(message_for(n, 8)) == PushStatus::Ok);
	CHECK(writer.push(message_for(4, 8)) == PushStatus::Full);
	CHECK(writer.push(message_for(4, 8)) == PushStatus::Full);
	CHECK(mem.tail() == 4); // a refused push claims nothing

	std::span<const std::uint8_t> view;
	REQUIRE(reader.peek(view) == PeekStatus::Ready);
	CHECK(copy(view) == message_for(0, 8));
	reader.pop();

	CHECK(writer.push(message_for(4, 8)) == PushStatus::Ok);
	CHECK(writer.push(message_for(5, 8)) == PushStatus::Full);
	for (std::uint64_t n = 1; n <= 4; ++n) {
		REQUIRE(reader.peek(view) == PeekStatus::Ready);
		CHECK(copy(view) == message_for(n, 8));
		reader.pop();
	}
}

TEST_CASE("a message larger than a cell's capacity is refused as too large")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();
	CHECK(writer.push(message_for(0, writer.capacity() + 1)) == PushStatus::TooLarge);
	CHECK(writer.push(message_for(0, 4096)) == PushStatus::TooLarge);
	CHECK(mem.tail() == 0);
}

TEST_CASE("a cell whose sequence number is forged reads as corrupt")
{
	RingMemory mem({4, 128});
	RingReader reader = mem.reader();
	std::span<const std::uint8_t> view;

	SUBCASE("a sequence from a future lap")
	{
		mem.cell(0).seq = 1 + 4;
	}
	SUBCASE("an arbitrary sequence")
	{
		mem.cell(0).seq = 0xdeadbeef;
	}
	SUBCASE("a sequence from an earlier lap than the previous one")
	{
		// Walk the reader to position 8 (third lap on cell 0): cell 0
		// should then hold seq 5 (position 4), not 1 (position 0).
		RingWriter writer = mem.writer();
		for (std::uint64_t n = 0; n < 8; ++n) {
			REQUIRE(writer.push(message_for(n, 4)) == PushStatus::Ok);
			REQUIRE(reader.peek(view) == PeekStatus::Ready);
			reader.pop();
		}
		REQUIRE(reader.peek(view) == PeekStatus::Empty);
		mem.cell(0).seq = 1;
	}
	CHECK(reader.peek(view) == PeekStatus::Corrupt);
	CHECK(reader.pending()); // worth a look: peek() then reports it
}

TEST_CASE("a published cell whose length exceeds the capacity reads as corrupt")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();
	REQUIRE(writer.push(message_for(0, 8)) == PushStatus::Ok);

	std::span<const std::uint8_t> view;
	SUBCASE("one byte over")
	{
		mem.cell(0).len = static_cast<std::uint32_t>(reader.capacity() + 1);
	}
	SUBCASE("far over")
	{
		mem.cell(0).len = 0xffffffffu;
	}
	CHECK(reader.peek(view) == PeekStatus::Corrupt);
}

// The producer caches the consumer's head and consults the real one only
// when the cache says the ring is full, so a forged head is reported by the
// time it could matter: within one lap of pushes.
TEST_CASE("a consumer head ahead of the tail makes a push report corruption")
{
	RingMemory mem({4, 128});
	RingWriter writer = mem.writer();

	SUBCASE("on an untouched ring")
	{
		mem.head() = 100;
	}
	SUBCASE("far ahead after some traffic")
	{
		RingReader reader = mem.reader();
		for (std::uint64_t n = 0; n < 6; ++n) {
			REQUIRE(writer.push(message_for(n, 4)) == PushStatus::Ok);
			std::span<const std::uint8_t> view;
			REQUIRE(reader.peek(view) == PeekStatus::Ready);
			reader.pop();
		}
		mem.head() = 1ull << 40;
	}
	PushStatus status = PushStatus::Ok;
	for (std::uint32_t n = 0; n <= 4 && status == PushStatus::Ok; ++n)
		status = writer.push(message_for(n, 4));
	CHECK(status == PushStatus::Corrupt);
	RingWriter::Claim claim;
	CHECK(writer.claim(claim) == PushStatus::Corrupt);
}

TEST_CASE("concurrent producers deliver every message exactly once in per-producer order")
{
	constexpr std::uint32_t kProducers = 4;
	constexpr std::uint32_t kPerProducer = 20000;
	struct Tagged {
		std::uint32_t producer;
		std::uint32_t index;
		std::uint32_t check; // derived from the two, catches torn copies
	};

	RingMemory mem({8, 128});
	RingWriter writer = mem.writer();
	RingReader reader = mem.reader();

	std::atomic<bool> go{false};
	std::atomic<bool> failed{false}; // stops every thread instead of hanging
	std::vector<std::thread> producers;
	for (std::uint32_t p = 0; p < kProducers; ++p) {
		producers.emplace_back([&, p] {
			while (!go.load(std::memory_order_acquire))
				std::this_thread::yield();
			for (std::uint32_t i = 0; i < kPerProducer; ++i) {
				Tagged t{p, i, p * 0x9e3779b9u ^ i};
				// Vary the length so stale bytes of a longer message
				// in the same cell would be noticed.
				std::uint8_t bytes[sizeof(Tagged) + 16] = {};
				std::memcpy(bytes, &t, sizeof(t));
				std::size_t len = sizeof(Tagged) + i % 16;
				PushStatus s;
				while ((s = writer.push({bytes, len})) == PushStatus::Full &&
				       !failed.load(std::memory_order_relaxed))
					std::this_thread::yield();
				if (s != PushStatus::Ok) {
					failed.store(true); // reported below as missing messages
					return;
				}
			}
		});
	}

	std::array<std::uint32_t, kProducers> next{};
	std::uint64_t received = 0, out_of_order = 0, malformed = 0, corrupt = 0;
	std::thread consumer([&] {
		const std::uint64_t total = std::uint64_t(kProducers) * kPerProducer;
		while (received < total && !failed.load(std::memory_order_relaxed)) {
			std::span<const std::uint8_t> view;
			PeekStatus s = reader.peek(view);
			if (s == PeekStatus::Empty) {
				std::this_thread::yield();
				continue;
			}
			if (s == PeekStatus::Corrupt) {
				++corrupt;
				failed.store(true);
				return;
			}
			Tagged t;
			if (view.size() < sizeof(t) || view.size() > sizeof(t) + 15) {
				++malformed;
				reader.pop();
				++received;
				continue;
			}
			std::memcpy(&t, view.data(), sizeof(t));
			reader.pop();
			++received;
			if (t.producer >= kProducers || t.check != (t.producer * 0x9e3779b9u ^ t.index) ||
			    view.size() != sizeof(t) + t.index % 16) {
				++malformed;
				continue;
			}
			if (t.index != next[t.producer])
				++out_of_order;
			next[t.producer] = t.index + 1;
		}
	});

	go.store(true, std::memory_order_release);
	for (auto &t : producers)
		t.join();
	consumer.join();

	CHECK_FALSE(failed.load());
	CHECK(corrupt == 0);
	CHECK(malformed == 0);
	CHECK(out_of_order == 0);
	CHECK(received == std::uint64_t(kProducers) * kPerProducer);
	for (std::uint32_t p = 0; p < kProducers; ++p)
		CHECK(next[p] == kPerProducer);
	CHECK(mem.head() == mem.tail());
}

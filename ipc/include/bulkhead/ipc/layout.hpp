// SPDX-License-Identifier: Apache-2.0
// The memory layout of a channel's two regions. Shared between processes:
// plain, fixed-width, offsets only; every field's position is pinned below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace bulkhead::ipc {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint32_t kRegionMagic = 0x42484b31; // "BHK1"
inline constexpr std::uint32_t kLayoutVersion = 2;

// Geometry of both rings; the request and the completion ring have the same.
struct Geometry {
	std::uint32_t cells = 64;        // power of two, 2..4096
	std::uint32_t cell_bytes = 4096; // multiple of 64, 128..1 MiB
};

// First line of the host region. Written once by the host before the shim
// starts; the shim reads it to learn the geometry.
struct RegionHeader {
	std::uint32_t magic;
	std::uint32_t version;
	std::uint32_t cells;
	std::uint32_t cell_bytes;
	std::uint64_t region_bytes;
	std::uint8_t reserved[kCacheLine - 24];
};

// Control words of the host-written region. Each on its own line so the two
// sides never write the same line.
struct HostControl {
	alignas(kCacheLine) std::uint64_t req_tail;      // request slots claimed
	alignas(kCacheLine) std::uint32_t req_doorbell;  // futex: the shim sleeps here
	alignas(kCacheLine) std::uint64_t cmp_head;      // completions consumed
	alignas(kCacheLine) std::uint32_t sync_waiters;  // host threads asleep
	std::uint32_t async_waiters;                     // async calls outstanding
	std::uint32_t async_sleeping;                    // 1: the async collector sleeps
	std::uint32_t host_cpu;                          // CPU a waiting host thread ran on
};

// Control words of the shim-written region.
struct ShimControl {
	alignas(kCacheLine) std::uint64_t req_head;      // requests consumed
	alignas(kCacheLine) std::uint32_t shim_sleeping; // 1 while the shim sleeps
	std::uint32_t shim_cpu;                          // CPU the shim last served on
	std::uint32_t death_word;                        // futex: death_notice.hpp
	alignas(kCacheLine) std::uint32_t cmp_doorbell;  // futex: host threads sleep here
	alignas(kCacheLine) std::uint64_t cmp_tail;      // completions produced
};

// Each ring cell starts with this header; the message follows.
struct CellHeader {
	std::uint64_t seq; // position + 1 once published at `position`
	std::uint32_t len; // message bytes that follow
	std::uint32_t reserved;
};

inline constexpr std::size_t kCellHeaderBytes = sizeof(CellHeader);

// Offsets inside a region: [header][control][cells...]
inline constexpr std::size_t kControlOffset = kCacheLine;
inline constexpr std::size_t kCellsOffset = kControlOffset + 4 * kCacheLine;

static_assert(std::is_standard_layout_v<RegionHeader> &&
	      std::is_trivially_copyable_v<RegionHeader>);
static_assert(sizeof(RegionHeader) == kCacheLine);
static_assert(std::is_standard_layout_v<HostControl> &&
	      std::is_trivially_copyable_v<HostControl>);
static_assert(sizeof(HostControl) == 4 * kCacheLine);
static_assert(offsetof(HostControl, req_doorbell) == 1 * kCacheLine);
static_assert(offsetof(HostControl, cmp_head) == 2 * kCacheLine);
static_assert(offsetof(HostControl, sync_waiters) == 3 * kCacheLine);
static_assert(offsetof(HostControl, async_waiters) == 3 * kCacheLine + 4);
static_assert(offsetof(HostControl, async_sleeping) == 3 * kCacheLine + 8);
static_assert(offsetof(HostControl, host_cpu) == 3 * kCacheLine + 12);
static_assert(offsetof(ShimControl, shim_cpu) == 1 * kCacheLine + 4);
static_assert(offsetof(ShimControl, death_word) == 1 * kCacheLine + 8);
static_assert(sizeof(ShimControl) == 4 * kCacheLine);
static_assert(offsetof(ShimControl, shim_sleeping) == 1 * kCacheLine);
static_assert(offsetof(ShimControl, cmp_doorbell) == 2 * kCacheLine);
static_assert(offsetof(ShimControl, cmp_tail) == 3 * kCacheLine);
static_assert(sizeof(CellHeader) == 16 && offsetof(CellHeader, len) == 8);

// Bytes of one region for a geometry (both regions have the same size).
constexpr std::size_t region_bytes(const Geometry &g)
{
	return kCellsOffset + std::size_t(g.cells) * g.cell_bytes;
}

constexpr bool valid(const Geometry &g)
{
	bool pow2 = g.cells >= 2 && (g.cells & (g.cells - 1)) == 0;
	return pow2 && g.cells <= 4096 && g.cell_bytes >= 128 &&
	       g.cell_bytes <= (1u << 20) && g.cell_bytes % kCacheLine == 0;
}

} // namespace bulkhead::ipc

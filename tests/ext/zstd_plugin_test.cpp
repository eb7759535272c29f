// SPDX-License-Identifier: Apache-2.0
// The zstd compression plugin end to end through a real shim: round trips
// of every size the channel carries, corrupt and hostile frames refused with
// InvalidArgument (a decompression bomb included), and the level's range.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <zstd.h>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

// Half text-like, half pseudo-random: both of zstd's paths.
Bytes sample(std::size_t n)
{
	Bytes out(n);
	std::uint32_t x = 2463534242u;
	for (std::size_t i = 0; i < n; ++i) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		out[i] = (i / 4096) % 2 ? static_cast<std::uint8_t>(x)
					: static_cast<std::uint8_t>("bulkhead "[i % 9]);
	}
	return out;
}

Bytes compress(const Plugin &p, ByteView data)
{
	return decoded(codec::decode_blob(ok(p, op::kCompress, codec::encode_blob(data))));
}

Result<Bytes> decompress(const Plugin &p, ByteView frame)
{
	auto r = p.call(op::kDecompress, codec::encode_blob(frame), soon());
	if (!r.has_value())
		return Unexpected(std::move(r).error());
	return decoded(codec::decode_blob(r.value()));
}

Error decompress_error(const Plugin &p, ByteView frame)
{
	auto r = decompress(p, frame);
	REQUIRE_FALSE(r.has_value());
	return r.error();
}

// A frame header with no content size and a window of 2^(10 + exponent).
Bytes unsized_frame_header(std::uint8_t exponent)
{
	return {0x28, 0xb5, 0x2f, 0xfd, 0x00, static_cast<std::uint8_t>(exponent << 3)};
}

void block_header(Bytes &out, bool last, std::uint8_t type, std::uint32_t size)
{
	const std::uint32_t h = (last ? 1u : 0u) | (type << 1) | (size << 3);
	out.insert(out.end(), {static_cast<std::uint8_t>(h), static_cast<std::uint8_t>(h >> 8),
			       static_cast<std::uint8_t>(h >> 16)});
}

} // namespace

TEST_CASE("zstd_round_trips_inputs_from_empty_to_the_largest_the_channel_carries")
{
	// 1 MiB cells: the largest message a channel takes is a cell less
	// its envelope, so the largest input is 1 MiB less the framing.
	HostOptions o = options();
	o.geometry = {4, 1u << 20};
	auto host = make_host(o);
	auto p = load(*host, "zstd");
	CHECK(decoded(codec::decode_text(ok(p, op::kCompressionName))) == "zstd");
	const std::size_t largest = p.info().max_payload - 1024;
	CHECK(largest > 1'040'000);
	for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(100), std::size_t(4096),
			      std::size_t(65'539), largest}) {
		CAPTURE(n);
		const Bytes data = sample(n);
		const Bytes frame = compress(p, data);
		CHECK(ZSTD_getFrameContentSize(frame.data(), frame.size()) == n);
		auto back = decompress(p, frame);
		REQUIRE_MESSAGE(back.has_value(), why(back));
		CHECK(back.value() == data);
	}
	// Text-like input shrinks.
	const Bytes text(200'000, 'a');
	CHECK(compress(p, text).size() < 1000);
}

TEST_CASE("zstd_frames_from_the_plugin_are_standard_zstd")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	const Bytes data = sample(3000);
	const Bytes frame = compress(p, data);
	Bytes out(data.size());
	CHECK(ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size()) == data.size());
	CHECK(out == data);
	// And the other way: a frame libzstd wrote decompresses in the plugin.
	Bytes theirs(ZSTD_compressBound(data.size()));
	theirs.resize(ZSTD_compress(theirs.data(), theirs.size(), data.data(), data.size(), 7));
	CHECK(decompress(p, theirs).value() == data);
}

TEST_CASE("zstd_refuses_corrupt_truncated_and_foreign_input_with_invalid_argument")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	const Bytes frame = compress(p, sample(20'000));

	Bytes flipped = frame;
	flipped[flipped.size() / 2] ^= 0x5a;
	Error e = decompress_error(p, flipped);
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "zstd"));

	Bytes truncated(frame.begin(), frame.begin() + frame.size() / 2);
	e = decompress_error(p, truncated);
	CHECK(e.code == ErrorCode::InvalidArgument);

	e = decompress_error(p, bytes("this was never compressed"));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "not zstd data"));

	e = decompress_error(p, {});
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "empty input"));

	// The plugin still serves.
	CHECK(decompress(p, frame).has_value());
}

TEST_CASE("zstd_refuses_a_frame_declaring_more_than_its_limit_before_inflating_it")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	// Single segment, an 8-byte content size of 1 TiB, one empty raw block.
	Bytes bomb = {0x28, 0xb5, 0x2f, 0xfd, 0xe0};
	const std::uint64_t declared = 1ull << 40;
	for (int i = 0; i < 8; ++i)
		bomb.push_back(static_cast<std::uint8_t>(declared >> (8 * i)));
	block_header(bomb, true, 0, 0);
	const Error e = decompress_error(p, bomb);
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, fmt::format("the input declares {} bytes, over the plugin's limit of {}",
				      declared, 64u << 20)));
	CHECK(p.alive());
}

TEST_CASE("zstd_streams_a_frame_written_without_a_content_size")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	Bytes frame = unsized_frame_header(0);
	block_header(frame, true, 0, 5);
	frame.insert(frame.end(), {'h', 'e', 'l', 'l', 'o'});
	REQUIRE(ZSTD_getFrameContentSize(frame.data(), frame.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
	auto r = decompress(p, frame);
	REQUIRE_MESSAGE(r.has_value(), why(r));
	CHECK(r.value() == bytes("hello"));

	// The same frame cut inside its block is truncated, not short.
	Bytes cut(frame.begin(), frame.end() - 2);
	CHECK(decompress_error(p, cut).code == ErrorCode::InvalidArgument);
}

TEST_CASE("zstd_stops_an_unsized_frame_that_inflates_past_its_limit")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	// 600 RLE blocks of 128 KiB: 2.4 KB that inflate to 75 MiB.
	Bytes bomb = unsized_frame_header(7);
	for (int i = 0; i < 600; ++i) {
		block_header(bomb, i == 599, 1, 128 * 1024);
		bomb.push_back('x');
	}
	const Error e = decompress_error(p, bomb);
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, fmt::format("inflates past the plugin's limit of {} bytes", 64u << 20)));
	CHECK(p.alive());
	CHECK(decompress(p, compress(p, bytes("after the bomb"))).value() ==
	      bytes("after the bomb"));
}

TEST_CASE("zstd_set_level_accepts_its_range_and_names_it_when_refusing")
{
	auto host = make_host();
	auto p = load(*host, "zstd");
	const Bytes data = sample(50'000);
	for (int level : {1, 19, ZSTD_maxCLevel(), -5, 0, 3}) {
		CAPTURE(level);
		ok(p, op::kCompressionSetLevel, codec::encode_number(level));
		CHECK(decompress(p, compress(p, data)).value() == data);
	}
	const std::string range = fmt::format("{}..{}", ZSTD_minCLevel(), ZSTD_maxCLevel());
	for (int level : {ZSTD_maxCLevel() + 1, ZSTD_minCLevel() - 1}) {
		CAPTURE(level);
		const Error e = refused(p, op::kCompressionSetLevel, codec::encode_number(level));
		CHECK(e.code == ErrorCode::InvalidArgument);
		CHECK(mentions(e, fmt::format("zstd level {} is outside {}", level, range)));
	}
	// Past any int: refused before it reaches the plugin's check.
	const Error e = refused(p, op::kCompressionSetLevel, codec::encode_number(1ll << 40));
	CHECK(e.code == ErrorCode::InvalidArgument);
	// A refused level leaves the last good one in force.
	CHECK(decompress(p, compress(p, data)).value() == data);
}

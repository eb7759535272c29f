// SPDX-License-Identifier: Apache-2.0
// Example compression plugin: zstd (libzstd), one reused context each way.
// Frames carry a content checksum, so corruption is caught, not returned.
// Decompression is bounded: a frame that declares, or inflates to, more than
// kMaxDecompressed bytes is refused before (or while) it is inflated.
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include <bulkhead/sdk/compression.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::ErrorCode;
using bulkhead::Result;
using bulkhead::sdk::fail;

// Well under the shim's default 256 MiB memory limit: the output and its
// copy into the answer both fit beside the input.
constexpr std::size_t kMaxDecompressed = 64ull << 20;
// A frame's window never needs to exceed its content (the cap): larger
// windows are refused instead of allocated.
constexpr int kMaxWindowLog = 26;
static_assert(std::size_t(1) << kMaxWindowLog == kMaxDecompressed);
constexpr int kDefaultLevel = 3;

struct CCtxFree {
	void operator()(ZSTD_CCtx *c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
	void operator()(ZSTD_DCtx *d) const { ZSTD_freeDCtx(d); }
};

std::string zstd_error(std::size_t code)
{
	return ZSTD_getErrorName(code);
}

class Zstd final : public bulkhead::sdk::CompressionPlugin {
public:
	Result<void> init(ByteView) override
	{
		cctx_.reset(ZSTD_createCCtx());
		dctx_.reset(ZSTD_createDCtx());
		if (!cctx_ || !dctx_)
			return fail(ErrorCode::ResourceExhausted,
				    "zstd: cannot allocate its contexts");
		TRY(set_level(kDefaultLevel));
		if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1)) ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax,
							kMaxWindowLog)))
			return fail(ErrorCode::Internal, "zstd: cannot set the context parameters");
		return {};
	}

	std::string algorithm() const override { return "zstd"; }

	Result<void> set_level(int level) override
	{
		// 0 is in range: zstd reads it as its default level (3).
		const int lo = ZSTD_minCLevel(), hi = ZSTD_maxCLevel();
		if (level < lo || level > hi)
			return fail(ErrorCode::InvalidArgument,
				    "zstd level " + std::to_string(level) + " is outside " +
					    std::to_string(lo) + ".." + std::to_string(hi));
		const std::size_t rc =
			ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level);
		if (ZSTD_isError(rc))
			return fail(ErrorCode::InvalidArgument, "zstd refused level " +
									std::to_string(level) +
									": " + zstd_error(rc));
		return {};
	}

	Result<Bytes> compress(ByteView data) override
	{
		Bytes out(ZSTD_compressBound(data.size()));
		const std::size_t n = ZSTD_compress2(cctx_.get(), out.data(), out.size(),
						     data.data(), data.size());
		if (ZSTD_isError(n)) {
			// A failed call can leave the context mid-frame.
			ZSTD_CCtx_reset(cctx_.get(), ZSTD_reset_session_only);
			return fail(ErrorCode::Internal,
				    "zstd compression failed: " + zstd_error(n));
		}
		out.resize(n);
		return out;
	}

	Result<Bytes> decompress(ByteView data) override
	{
		if (data.empty())
			return fail(ErrorCode::InvalidArgument,
				    "zstd: empty input is not a zstd frame");
		const unsigned long long declared = declared_size(data);
		if (declared == ZSTD_CONTENTSIZE_ERROR)
			return fail(
				ErrorCode::InvalidArgument,
				"zstd: the input is not zstd data (or a frame in it is cut short)");
		if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
			return decompress_streaming(data);
		if (declared > kMaxDecompressed)
			return fail(ErrorCode::InvalidArgument,
				    "zstd: the input declares " + std::to_string(declared) +
					    " bytes, over the plugin's limit of " +
					    std::to_string(kMaxDecompressed));
		Bytes out(static_cast<std::size_t>(declared));
		const std::size_t n = ZSTD_decompressDCtx(dctx_.get(), out.data(), out.size(),
							  data.data(), data.size());
		if (ZSTD_isError(n))
			return corrupt(n);
		if (n != out.size())
			return fail(ErrorCode::InvalidArgument,
				    "zstd: the input declared " + std::to_string(declared) +
					    " bytes but held " + std::to_string(n));
		return out;
	}

private:
	// The content size summed over every frame, ZSTD_CONTENTSIZE_UNKNOWN
	// if a frame does not say, ZSTD_CONTENTSIZE_ERROR for bytes that are
	// not frames. (ZSTD_findDecompressedSize does this, but outside the
	// stable API.) Stops once past the limit.
	static unsigned long long declared_size(ByteView data)
	{
		unsigned long long total = 0;
		while (!data.empty()) {
			const unsigned long long n =
				ZSTD_getFrameContentSize(data.data(), data.size());
			if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
				return n;
			const std::size_t frame =
				ZSTD_findFrameCompressedSize(data.data(), data.size());
			if (ZSTD_isError(frame))
				return ZSTD_CONTENTSIZE_ERROR;
			// Past the limit: no need to read on (and no overflow).
			if (n > kMaxDecompressed)
				return n;
			if (total + n > kMaxDecompressed)
				return total + n;
			total += n;
			data = data.subspan(frame);
		}
		return total;
	}

	// For frames written without a content size (streamed): inflate in
	// steps, refusing once the output passes the limit.
	Result<Bytes> decompress_streaming(ByteView data)
	{
		ZSTD_DCtx_reset(dctx_.get(), ZSTD_reset_session_only);
		Bytes out;
		ZSTD_inBuffer in{data.data(), data.size(), 0};
		std::size_t rc = 1;
		while (in.pos < in.size || rc != 0) {
			if (out.size() >= kMaxDecompressed)
				return fail(ErrorCode::InvalidArgument,
					    "zstd: the data inflates past the plugin's limit of " +
						    std::to_string(kMaxDecompressed) + " bytes");
			const std::size_t have = out.size();
			const std::size_t step =
				std::min(std::max<std::size_t>(ZSTD_DStreamOutSize(), have),
					 kMaxDecompressed - have);
			out.resize(have + step);
			ZSTD_outBuffer o{out.data() + have, step, 0};
			const std::size_t before_in = in.pos;
			rc = ZSTD_decompressStream(dctx_.get(), &o, &in);
			out.resize(have + o.pos);
			if (ZSTD_isError(rc))
				return corrupt(rc);
			// No progress with input left and room to write: the
			// input ends mid-frame.
			if (o.pos == 0 && in.pos == before_in && in.pos == in.size && rc != 0)
				return fail(ErrorCode::InvalidArgument,
					    "zstd: the input ends inside a frame (truncated)");
		}
		return out;
	}

	Result<Bytes> corrupt(std::size_t code)
	{
		ZSTD_DCtx_reset(dctx_.get(), ZSTD_reset_session_only);
		return fail(ErrorCode::InvalidArgument, "zstd: corrupt input: " + zstd_error(code));
	}

	std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx_;
	std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx_;
};

} // namespace

BULKHEAD_PLUGIN(Zstd, "zstd", "1.0.0", BULKHEAD_COMPRESSION_OPS)

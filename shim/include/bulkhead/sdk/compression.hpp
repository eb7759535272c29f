// SPDX-License-Identifier: Apache-2.0
// The compression category for plugin authors: derive from
// CompressionPlugin and list BULKHEAD_COMPRESSION_OPS.
#pragma once

#include <string>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace bulkhead::sdk {

class CompressionPlugin : public Plugin {
public:
	// "zstd", "lz4": what the bytes are, for whoever stores them.
	virtual std::string algorithm() const = 0;
	virtual Result<Bytes> compress(ByteView data) = 0;
	// InvalidArgument for bytes that are not this algorithm's (corrupt).
	virtual Result<Bytes> decompress(ByteView data) = 0;
	// InvalidArgument naming the accepted range for a level outside it.
	virtual Result<void> set_level(int level) = 0;

	Result<Bytes> call(std::string_view op, ByteView input) final
	{
		namespace c = ext::codec;
		if (op == ext::op::kCompress)
			return c::encode_blob(TRY(compress(TRY(c::decode_blob(input)))));
		if (op == ext::op::kDecompress)
			return c::encode_blob(TRY(decompress(TRY(c::decode_blob(input)))));
		if (op == ext::op::kCompressionName)
			return c::encode_text(algorithm());
		if (op == ext::op::kCompressionSetLevel) {
			const auto level = TRY(c::decode_number(input));
			if (level < -1'000'000 || level > 1'000'000)
				return fail(ErrorCode::InvalidArgument, "compression level " + std::to_string(level) +
										" is out of any range");
			TRY(set_level(static_cast<int>(level)));
			return Bytes{};
		}
		return fail(ErrorCode::NotFound, std::string("compression plugin has no operation ") + std::string(op));
	}
};

} // namespace bulkhead::sdk

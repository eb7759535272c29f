// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/compression.hpp>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>

#include "answer.hpp"

namespace bulkhead::ext {

namespace c = codec;
constexpr std::string_view kCategory = "compression";

Result<std::string> Compression::algorithm() const
{
	auto r = TRY(invoke(kCategory, op::kCompressionName, {}));
	return detail::answer(c::decode_text(r), endpoint(), op::kCompressionName);
}

Result<Bytes> Compression::compress(ByteView data) const
{
	auto r = TRY(invoke(kCategory, op::kCompress, c::encode_blob(data)));
	return detail::answer(c::decode_blob(r), endpoint(), op::kCompress);
}

Result<Bytes> Compression::decompress(ByteView data) const
{
	auto r = TRY(invoke(kCategory, op::kDecompress, c::encode_blob(data)));
	return detail::answer(c::decode_blob(r), endpoint(), op::kDecompress);
}

Result<void> Compression::set_level(int level) const
{
	TRY(invoke(kCategory, op::kCompressionSetLevel, c::encode_number(level)));
	return {};
}

} // namespace bulkhead::ext

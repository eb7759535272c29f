// SPDX-License-Identifier: Apache-2.0
// The extension API's messages to and from bytes (shim/schema/extensions.fbs).
// Every decode runs the flatbuffers Verifier first and checks the fields the
// other side relies on: bytes from the other process are untrusted both
// ways. Errors are InvalidArgument naming the message and what was wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/bytes.hpp>
#include <bulkhead/ext/types.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ext::codec {

// Scalars and simple values.
Bytes encode_blob(ByteView data);
Result<Bytes> decode_blob(ByteView wire);
Bytes encode_text(std::string_view text);
Result<std::string> decode_text(ByteView wire);
Bytes encode_number(std::int64_t value);
Result<std::int64_t> decode_number(ByteView wire);
Bytes encode_flag(bool value);
Result<bool> decode_flag(ByteView wire);

// storage.get's answer, storage.put's request.
Bytes encode_found(const std::optional<Bytes> &value);
Result<std::optional<Bytes>> decode_found(ByteView wire);
Bytes encode_key_value(ByteView key, ByteView value);
Result<KeyValue> decode_key_value(ByteView wire);

Bytes encode_range(const KeyRange &range);
Result<KeyRange> decode_range(ByteView wire);
Bytes encode_entries(const ScanResult &result);
Result<ScanResult> decode_entries(ByteView wire);
Bytes encode_stats(const StorageStats &stats);
Result<StorageStats> decode_stats(ByteView wire);

Bytes encode_index_entry(const IndexEntry &entry);
Result<IndexEntry> decode_index_entry(ByteView wire);
Bytes encode_index_entries(const std::vector<IndexEntry> &entries);
Result<std::vector<IndexEntry>> decode_index_entries(ByteView wire);
Bytes encode_nearest(const std::vector<float> &vector, std::uint32_t k);
struct NearestQuery {
	std::vector<float> vector;
	std::uint32_t k = 0;
};
Result<NearestQuery> decode_nearest(ByteView wire);
Bytes encode_neighbors(const std::vector<Neighbor> &neighbors);
Result<std::vector<Neighbor>> decode_neighbors(ByteView wire);

Bytes encode_metric(const Metric &metric);
Result<Metric> decode_metric(ByteView wire);
Bytes encode_span(const Span &span);
Result<Span> decode_span(ByteView wire);
Bytes encode_log(const LogRecord &record);
Result<LogRecord> decode_log(ByteView wire);
Bytes encode_health(const Health &health);
Result<Health> decode_health(ByteView wire);

Bytes encode_invocation(const Invocation &invocation);
Result<Invocation> decode_invocation(ByteView wire);

} // namespace bulkhead::ext::codec

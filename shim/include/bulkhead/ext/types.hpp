// SPDX-License-Identifier: Apache-2.0
// The values of the typed extension API, as both sides see them: host proxies
// take and return these, the SDK's category bases hand them to the plugin.
// Plain data; bulkhead/ext/codec.hpp puts them on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <bulkhead/bytes.hpp>

namespace bulkhead::ext {

struct KeyValue {
	Bytes key;
	Bytes value;
	bool operator==(const KeyValue &) const = default;
};

// Keys in [start, end) in key order (bytewise), at most `limit` (0: all).
struct KeyRange {
	Bytes start;
	std::optional<Bytes> end; // none: to the last key
	std::uint32_t limit = 0;
};

struct ScanResult {
	std::vector<KeyValue> entries;
	bool more = false; // the limit cut the range short
};

struct StorageStats {
	std::uint64_t entries = 0;
	std::uint64_t bytes = 0; // keys and values, as the backend counts them
	std::string backend;     // "sqlite 3.40.1", "memory"
	std::string detail;
};

struct IndexEntry {
	Bytes key;
	Bytes value;
	std::vector<float> vector; // a vector index's point; empty otherwise
	bool operator==(const IndexEntry &) const = default;
};

struct Neighbor {
	Bytes key;
	Bytes value;
	float distance = 0;
};

struct Label {
	std::string name;
	std::string value;
	bool operator==(const Label &) const = default;
};

enum class MetricKind : std::uint8_t { Counter = 0, Gauge = 1, Histogram = 2 };

// A counter adds `value`, a gauge sets it, a histogram observes it.
struct Metric {
	MetricKind kind = MetricKind::Counter;
	std::string name;
	std::string help;
	std::vector<Label> labels;
	double value = 0;
};

struct Span {
	std::string name;
	std::uint64_t trace_id = 0;
	std::uint64_t span_id = 0;
	std::uint64_t parent_id = 0; // 0: a root span
	std::int64_t start_ns = 0;
	std::int64_t end_ns = 0;
	bool ok = true;
	std::vector<Label> attributes;
};

struct LogRecord {
	int level = 1; // 0 debug .. 3 error
	std::string message;
	std::vector<Label> fields;
};

struct Health {
	bool ok = true;
	std::string detail;
};

// A custom operation's anchor call: before and define see `input`, after
// sees both.
struct Invocation {
	std::string operation;
	Bytes input;
	Bytes output;
};

} // namespace bulkhead::ext

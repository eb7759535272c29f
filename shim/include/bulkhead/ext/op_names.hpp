// SPDX-License-Identifier: Apache-2.0
// The operation names of the extension categories on the channel. A plugin
// lists those it implements (the BULKHEAD_*_OPS macros list a category's
// whole set); the host refuses a name the plugin did not list with NotFound
// before any round trip, and Index::nearest says "does not support".
#pragma once

#include <string_view>

namespace bulkhead::ext::op {

inline constexpr std::string_view kStorageGet = "storage.get";
inline constexpr std::string_view kStoragePut = "storage.put";
inline constexpr std::string_view kStorageDelete = "storage.delete";
inline constexpr std::string_view kStorageScan = "storage.scan";
inline constexpr std::string_view kStorageFlush = "storage.flush";
inline constexpr std::string_view kStorageCompact = "storage.compact";
inline constexpr std::string_view kStorageStats = "storage.stats";

inline constexpr std::string_view kIndexBuild = "index.build";
inline constexpr std::string_view kIndexInsert = "index.insert";
inline constexpr std::string_view kIndexDelete = "index.delete";
inline constexpr std::string_view kIndexLookup = "index.lookup";
inline constexpr std::string_view kIndexRange = "index.range";
inline constexpr std::string_view kIndexNearest = "index.nearest";
inline constexpr std::string_view kIndexSize = "index.size";

inline constexpr std::string_view kCompressionName = "compression.name";
inline constexpr std::string_view kCompress = "compression.compress";
inline constexpr std::string_view kDecompress = "compression.decompress";
inline constexpr std::string_view kCompressionSetLevel = "compression.set_level";

inline constexpr std::string_view kObsCounter = "observability.counter";
inline constexpr std::string_view kObsGauge = "observability.gauge";
inline constexpr std::string_view kObsHistogram = "observability.histogram";
inline constexpr std::string_view kObsSpan = "observability.span";
inline constexpr std::string_view kObsLog = "observability.log";
inline constexpr std::string_view kObsHealth = "observability.health";
// Everything recorded, in the plugin's export format (Prometheus text for
// the example plugin).
inline constexpr std::string_view kObsExport = "observability.export";

} // namespace bulkhead::ext::op

// For BULKHEAD_PLUGIN's operation list.
#define BULKHEAD_STORAGE_OPS                                                             \
	"storage.get", "storage.put", "storage.delete", "storage.scan", "storage.flush", \
		"storage.compact", "storage.stats"
// Without nearest: an index type that has no distance lists only these.
#define BULKHEAD_INDEX_OPS                                                              \
	"index.build", "index.insert", "index.delete", "index.lookup", "index.range",   \
		"index.size"
#define BULKHEAD_INDEX_NEAREST_OP "index.nearest"
#define BULKHEAD_COMPRESSION_OPS                                                         \
	"compression.name", "compression.compress", "compression.decompress",            \
		"compression.set_level"
#define BULKHEAD_OBSERVABILITY_OPS                                                       \
	"observability.counter", "observability.gauge", "observability.histogram",      \
		"observability.span", "observability.log", "observability.health",      \
		"observability.export"

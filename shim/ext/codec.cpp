// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/codec.hpp>

#include <flatbuffers/flatbuffers.h>

#include "extensions_generated.h"

namespace bulkhead::ext::codec {

namespace w = bulkhead::ext::wire;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

namespace {

// Messages are small; most fit the first allocation.
constexpr std::size_t kInitialSize = 256;

Bytes finish(FlatBufferBuilder &b)
{
	return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

template<typename T>
Result<const T *> root(ByteView wire, const char *what)
{
	flatbuffers::Verifier v(wire.data(), wire.size());
	if (wire.size() < sizeof(flatbuffers::uoffset_t) || !v.VerifyBuffer<T>(nullptr))
		return make_error(ErrorCode::InvalidArgument,
				  std::string("malformed ") + what + " message (" + std::to_string(wire.size()) +
					  " bytes do not verify)");
	return flatbuffers::GetRoot<T>(wire.data());
}

Bytes bytes_of(const flatbuffers::Vector<std::uint8_t> *v)
{
	return v ? Bytes(v->begin(), v->end()) : Bytes{};
}

std::string string_of(const flatbuffers::String *s)
{
	return s ? s->str() : std::string{};
}

Offset<flatbuffers::Vector<std::uint8_t>> vec(FlatBufferBuilder &b, ByteView data)
{
	return b.CreateVector(data.data(), data.size());
}

Offset<flatbuffers::Vector<Offset<w::Label>>> labels(FlatBufferBuilder &b, const std::vector<Label> &ls)
{
	std::vector<Offset<w::Label>> out;
	out.reserve(ls.size());
	for (const auto &l : ls)
		out.push_back(w::CreateLabel(b, b.CreateString(l.name), b.CreateString(l.value)));
	return b.CreateVector(out);
}

std::vector<Label> labels_of(const flatbuffers::Vector<Offset<w::Label>> *v)
{
	std::vector<Label> out;
	if (!v)
		return out;
	out.reserve(v->size());
	for (const auto *l : *v)
		out.push_back({string_of(l->name()), string_of(l->value())});
	return out;
}

std::vector<float> floats_of(const flatbuffers::Vector<float> *v)
{
	return v ? std::vector<float>(v->begin(), v->end()) : std::vector<float>{};
}

} // namespace

Bytes encode_blob(ByteView data)
{
	FlatBufferBuilder b(kInitialSize + data.size());
	b.Finish(w::CreateBlob(b, vec(b, data)));
	return finish(b);
}

Result<Bytes> decode_blob(ByteView wire)
{
	const auto *m = TRY(root<w::Blob>(wire, "Blob"));
	return bytes_of(m->data());
}

Bytes encode_text(std::string_view text)
{
	FlatBufferBuilder b(kInitialSize + text.size());
	b.Finish(w::CreateText(b, b.CreateString(text.data(), text.size())));
	return finish(b);
}

Result<std::string> decode_text(ByteView wire)
{
	const auto *m = TRY(root<w::Text>(wire, "Text"));
	return string_of(m->text());
}

Bytes encode_number(std::int64_t value)
{
	FlatBufferBuilder b(64);
	b.Finish(w::CreateNumber(b, value));
	return finish(b);
}

Result<std::int64_t> decode_number(ByteView wire)
{
	const auto *m = TRY(root<w::Number>(wire, "Number"));
	return m->value();
}

Bytes encode_flag(bool value)
{
	FlatBufferBuilder b(64);
	b.Finish(w::CreateFlag(b, value));
	return finish(b);
}

Result<bool> decode_flag(ByteView wire)
{
	const auto *m = TRY(root<w::Flag>(wire, "Flag"));
	return m->value();
}

Bytes encode_found(const std::optional<Bytes> &value)
{
	FlatBufferBuilder b(kInitialSize + (value ? value->size() : 0));
	Offset<flatbuffers::Vector<std::uint8_t>> v;
	if (value)
		v = vec(b, *value);
	b.Finish(w::CreateFound(b, value.has_value(), v));
	return finish(b);
}

Result<std::optional<Bytes>> decode_found(ByteView wire)
{
	const auto *m = TRY(root<w::Found>(wire, "Found"));
	if (!m->found())
		return std::optional<Bytes>{};
	return std::optional<Bytes>(bytes_of(m->value()));
}

Bytes encode_key_value(ByteView key, ByteView value)
{
	FlatBufferBuilder b(kInitialSize + key.size() + value.size());
	auto k = vec(b, key);
	auto v = vec(b, value);
	b.Finish(w::CreateKeyValue(b, k, v));
	return finish(b);
}

Result<KeyValue> decode_key_value(ByteView wire)
{
	const auto *m = TRY(root<w::KeyValue>(wire, "KeyValue"));
	return KeyValue{bytes_of(m->key()), bytes_of(m->value())};
}

Bytes encode_range(const KeyRange &range)
{
	FlatBufferBuilder b(kInitialSize);
	auto s = vec(b, range.start);
	Offset<flatbuffers::Vector<std::uint8_t>> e;
	if (range.end)
		e = vec(b, *range.end);
	b.Finish(w::CreateRange(b, s, e, range.end.has_value(), range.limit));
	return finish(b);
}

Result<KeyRange> decode_range(ByteView wire)
{
	const auto *m = TRY(root<w::Range>(wire, "Range"));
	KeyRange r;
	r.start = bytes_of(m->start());
	if (m->has_end())
		r.end = bytes_of(m->end());
	r.limit = m->limit();
	return r;
}

Bytes encode_entries(const ScanResult &result)
{
	FlatBufferBuilder b(kInitialSize);
	std::vector<Offset<w::KeyValue>> out;
	out.reserve(result.entries.size());
	for (const auto &kv : result.entries) {
		auto k = vec(b, kv.key);
		auto v = vec(b, kv.value);
		out.push_back(w::CreateKeyValue(b, k, v));
	}
	b.Finish(w::CreateEntries(b, b.CreateVector(out), result.more));
	return finish(b);
}

Result<ScanResult> decode_entries(ByteView wire)
{
	const auto *m = TRY(root<w::Entries>(wire, "Entries"));
	ScanResult r;
	r.more = m->more();
	if (m->entries()) {
		r.entries.reserve(m->entries()->size());
		for (const auto *kv : *m->entries())
			r.entries.push_back({bytes_of(kv->key()), bytes_of(kv->value())});
	}
	return r;
}

Bytes encode_stats(const StorageStats &stats)
{
	FlatBufferBuilder b(kInitialSize);
	auto be = b.CreateString(stats.backend);
	auto d = b.CreateString(stats.detail);
	b.Finish(w::CreateStorageStats(b, stats.entries, stats.bytes, be, d));
	return finish(b);
}

Result<StorageStats> decode_stats(ByteView wire)
{
	const auto *m = TRY(root<w::StorageStats>(wire, "StorageStats"));
	return StorageStats{m->entries(), m->bytes(), string_of(m->backend()), string_of(m->detail())};
}

namespace {

Offset<w::IndexEntry> index_entry(FlatBufferBuilder &b, const IndexEntry &e)
{
	auto k = vec(b, e.key);
	auto v = vec(b, e.value);
	Offset<flatbuffers::Vector<float>> f;
	if (!e.vector.empty())
		f = b.CreateVector(e.vector);
	return w::CreateIndexEntry(b, k, v, f);
}

IndexEntry index_entry_of(const w::IndexEntry *e)
{
	return IndexEntry{bytes_of(e->key()), bytes_of(e->value()), floats_of(e->vector())};
}

} // namespace

Bytes encode_index_entry(const IndexEntry &entry)
{
	FlatBufferBuilder b(kInitialSize + entry.key.size() + entry.value.size() + 4 * entry.vector.size());
	b.Finish(index_entry(b, entry));
	return finish(b);
}

Result<IndexEntry> decode_index_entry(ByteView wire)
{
	const auto *m = TRY(root<w::IndexEntry>(wire, "IndexEntry"));
	return index_entry_of(m);
}

Bytes encode_index_entries(const std::vector<IndexEntry> &entries)
{
	FlatBufferBuilder b(kInitialSize);
	std::vector<Offset<w::IndexEntry>> out;
	out.reserve(entries.size());
	for (const auto &e : entries)
		out.push_back(index_entry(b, e));
	b.Finish(w::CreateIndexEntries(b, b.CreateVector(out)));
	return finish(b);
}

Result<std::vector<IndexEntry>> decode_index_entries(ByteView wire)
{
	const auto *m = TRY(root<w::IndexEntries>(wire, "IndexEntries"));
	std::vector<IndexEntry> out;
	if (m->entries()) {
		out.reserve(m->entries()->size());
		for (const auto *e : *m->entries())
			out.push_back(index_entry_of(e));
	}
	return out;
}

Bytes encode_nearest(const std::vector<float> &vector, std::uint32_t k)
{
	FlatBufferBuilder b(kInitialSize + 4 * vector.size());
	b.Finish(w::CreateNearestQuery(b, b.CreateVector(vector), k));
	return finish(b);
}

Result<NearestQuery> decode_nearest(ByteView wire)
{
	const auto *m = TRY(root<w::NearestQuery>(wire, "NearestQuery"));
	return NearestQuery{floats_of(m->vector()), m->k()};
}

Bytes encode_neighbors(const std::vector<Neighbor> &neighbors)
{
	FlatBufferBuilder b(kInitialSize);
	std::vector<Offset<w::Neighbor>> out;
	out.reserve(neighbors.size());
	for (const auto &n : neighbors) {
		auto k = vec(b, n.key);
		auto v = vec(b, n.value);
		out.push_back(w::CreateNeighbor(b, k, v, n.distance));
	}
	b.Finish(w::CreateNeighbors(b, b.CreateVector(out)));
	return finish(b);
}

Result<std::vector<Neighbor>> decode_neighbors(ByteView wire)
{
	const auto *m = TRY(root<w::Neighbors>(wire, "Neighbors"));
	std::vector<Neighbor> out;
	if (m->neighbors()) {
		out.reserve(m->neighbors()->size());
		for (const auto *n : *m->neighbors())
			out.push_back({bytes_of(n->key()), bytes_of(n->value()), n->distance()});
	}
	return out;
}

Bytes encode_metric(const Metric &metric)
{
	FlatBufferBuilder b(kInitialSize);
	auto n = b.CreateString(metric.name);
	auto h = b.CreateString(metric.help);
	auto l = labels(b, metric.labels);
	b.Finish(w::CreateMetric(b, static_cast<w::MetricKind>(metric.kind), n, h, l, metric.value));
	return finish(b);
}

Result<Metric> decode_metric(ByteView wire)
{
	const auto *m = TRY(root<w::Metric>(wire, "Metric"));
	const auto kind = static_cast<std::uint8_t>(m->kind());
	if (kind > static_cast<std::uint8_t>(MetricKind::Histogram))
		return make_error(ErrorCode::InvalidArgument,
				  "malformed Metric message: unknown kind " + std::to_string(kind));
	if (!m->name() || m->name()->size() == 0)
		return make_error(ErrorCode::InvalidArgument, "malformed Metric message: no name");
	return Metric{static_cast<MetricKind>(kind), string_of(m->name()), string_of(m->help()),
		      labels_of(m->labels()), m->value()};
}

Bytes encode_span(const Span &span)
{
	FlatBufferBuilder b(kInitialSize);
	auto n = b.CreateString(span.name);
	auto a = labels(b, span.attributes);
	b.Finish(w::CreateSpan(b, n, span.trace_id, span.span_id, span.parent_id, span.start_ns, span.end_ns,
			       span.ok, a));
	return finish(b);
}

Result<Span> decode_span(ByteView wire)
{
	const auto *m = TRY(root<w::Span>(wire, "Span"));
	return Span{string_of(m->name()), m->trace_id(), m->span_id(), m->parent_id(), m->start_ns(),
		    m->end_ns(),          m->ok(),       labels_of(m->attributes())};
}

Bytes encode_log(const LogRecord &record)
{
	FlatBufferBuilder b(kInitialSize + record.message.size());
	auto msg = b.CreateString(record.message);
	auto f = labels(b, record.fields);
	b.Finish(w::CreateLogRecord(b, record.level, msg, f));
	return finish(b);
}

Result<LogRecord> decode_log(ByteView wire)
{
	const auto *m = TRY(root<w::LogRecord>(wire, "LogRecord"));
	return LogRecord{m->level(), string_of(m->message()), labels_of(m->fields())};
}

Bytes encode_health(const Health &health)
{
	FlatBufferBuilder b(kInitialSize);
	auto d = b.CreateString(health.detail);
	b.Finish(w::CreateHealth(b, health.ok, d));
	return finish(b);
}

Result<Health> decode_health(ByteView wire)
{
	const auto *m = TRY(root<w::Health>(wire, "Health"));
	return Health{m->ok(), string_of(m->detail())};
}

Bytes encode_invocation(const Invocation &invocation)
{
	FlatBufferBuilder b(kInitialSize + invocation.input.size() + invocation.output.size());
	auto op = b.CreateString(invocation.operation);
	auto in = vec(b, invocation.input);
	auto out = vec(b, invocation.output);
	b.Finish(w::CreateInvocation(b, op, in, out));
	return finish(b);
}

Result<Invocation> decode_invocation(ByteView wire)
{
	const auto *m = TRY(root<w::Invocation>(wire, "Invocation"));
	return Invocation{string_of(m->operation()), bytes_of(m->input()), bytes_of(m->output())};
}

} // namespace bulkhead::ext::codec

// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/observability.hpp>

#include <fmt/format.h>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>

#include "answer.hpp"

namespace bulkhead::ext {

namespace c = codec;

Result<void> Observability::fan_out(std::string_view op, ByteView payload) const
{
	std::string failures;
	std::size_t failed = 0;
	ErrorCode first = ErrorCode::Internal;
	for (const auto &sink : sinks_) {
		auto r = sink.endpoint->call(op, payload, Deadline::after(deadline_));
		if (r.has_value())
			continue;
		if (failed++ == 0)
			first = r.error().code;
		failures += fmt::format("; {}: {} ({})", sink.name, r.error().message, to_string(r.error().code));
	}
	if (failed == 0)
		return {};
	return make_error(first, fmt::format("{} of {} observability plugins failed {}{}", failed, sinks_.size(), op,
					     failures));
}

namespace {

Metric metric(MetricKind kind, std::string_view name, double value, std::vector<Label> labels,
	      std::string_view help)
{
	return Metric{kind, std::string(name), std::string(help), std::move(labels), value};
}

} // namespace

Result<void> Observability::counter(std::string_view name, double add, std::vector<Label> labels,
				    std::string_view help) const
{
	return fan_out(op::kObsCounter, c::encode_metric(metric(MetricKind::Counter, name, add, std::move(labels), help)));
}

Result<void> Observability::gauge(std::string_view name, double value, std::vector<Label> labels,
				  std::string_view help) const
{
	return fan_out(op::kObsGauge, c::encode_metric(metric(MetricKind::Gauge, name, value, std::move(labels), help)));
}

Result<void> Observability::histogram(std::string_view name, double observed, std::vector<Label> labels,
				      std::string_view help) const
{
	return fan_out(op::kObsHistogram,
		       c::encode_metric(metric(MetricKind::Histogram, name, observed, std::move(labels), help)));
}

Result<void> Observability::span(const Span &span) const
{
	return fan_out(op::kObsSpan, c::encode_span(span));
}

Result<void> Observability::log(const LogRecord &record) const
{
	return fan_out(op::kObsLog, c::encode_log(record));
}

std::vector<Observability::SinkHealth> Observability::health() const
{
	std::vector<SinkHealth> out;
	for (const auto &sink : sinks_) {
		auto r = sink.endpoint->call(op::kObsHealth, {}, Deadline::after(deadline_));
		if (!r.has_value())
			out.push_back({sink.name, Unexpected(std::move(r).error())});
		else
			out.push_back({sink.name, detail::answer(c::decode_health(r.value()), sink.endpoint, op::kObsHealth)});
	}
	return out;
}

std::vector<std::pair<std::string, Result<std::string>>> Observability::export_text() const
{
	std::vector<std::pair<std::string, Result<std::string>>> out;
	for (const auto &sink : sinks_) {
		auto r = sink.endpoint->call(op::kObsExport, {}, Deadline::after(deadline_));
		if (!r.has_value())
			out.emplace_back(sink.name, Unexpected(std::move(r).error()));
		else
			out.emplace_back(sink.name, detail::answer(c::decode_text(r.value()), sink.endpoint, op::kObsExport));
	}
	return out;
}

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// The Prometheus observability plugin end to end through a real shim: what
// it exports is the text exposition format 0.0.4, line for line (families
// once, escaping, cumulative buckets, stable order); spans and logs become
// metrics; names that would not parse are refused.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

std::string_view op_of(ext::MetricKind kind)
{
	return kind == ext::MetricKind::Counter ? op::kObsCounter
	       : kind == ext::MetricKind::Gauge ? op::kObsGauge
						: op::kObsHistogram;
}

ext::Metric metric(ext::MetricKind kind, std::string name, double value,
		   std::vector<ext::Label> labels = {}, std::string help = "")
{
	return {kind, std::move(name), std::move(help), std::move(labels), value};
}

void record(const Plugin &p, const ext::Metric &m)
{
	CHECK(ok(p, op_of(m.kind), codec::encode_metric(m)).empty());
}

Error refuse(const Plugin &p, const ext::Metric &m)
{
	return refused(p, op_of(m.kind), codec::encode_metric(m));
}

std::string exported(const Plugin &p)
{
	return decoded(codec::decode_text(ok(p, op::kObsExport)));
}

void span(const Plugin &p, std::string name, std::int64_t start_ns, std::int64_t end_ns, bool good)
{
	ext::Span s;
	s.name = std::move(name);
	s.trace_id = 7;
	s.span_id = 8;
	s.start_ns = start_ns;
	s.end_ns = end_ns;
	s.ok = good;
	s.attributes = {{"table", "users"}};
	CHECK(ok(p, op::kObsSpan, codec::encode_span(s)).empty());
}

void log(const Plugin &p, int level)
{
	CHECK(ok(p, op::kObsLog, codec::encode_log({level, "a message", {{"k", "v"}}})).empty());
}

using K = ext::MetricKind;

} // namespace

TEST_CASE("prometheus_exports_counters_gauges_and_histograms_in_the_text_format")
{
	auto host = make_host();
	auto p = load(*host, "prometheus");
	CHECK(exported(p).empty());
	record(p, metric(K::Counter, "requests_total", 1, {{"method", "get"}, {"code", "200"}},
			 "Requests served."));
	// The same series, its labels in another order.
	record(p, metric(K::Counter, "requests_total", 2, {{"code", "200"}, {"method", "get"}},
			 "Other help."));
	record(p, metric(K::Counter, "requests_total", 0.5, {{"method", "put"}, {"code", "500"}}));
	record(p, metric(K::Gauge, "temperature_celsius", -3.5));
	record(p, metric(K::Gauge, "temperature_celsius", 21.25));
	record(p, metric(K::Gauge, "queue:depth", 7, {{"path", "a\\b\"c\nd é"}}));
	for (double v : {0.00390625, 0.25, 7.0, 42.0, 10.0})
		record(p, metric(K::Histogram, "latency_seconds", v, {{"op", "get"}},
				 "Call latency.\nIn seconds, with a \\ backslash."));

	CHECK(exported(p) ==
	      R"(# HELP latency_seconds Call latency.\nIn seconds, with a \\ backslash.
# TYPE latency_seconds histogram
latency_seconds_bucket{op="get",le="0.005"} 1
latency_seconds_bucket{op="get",le="0.01"} 1
latency_seconds_bucket{op="get",le="0.025"} 1
latency_seconds_bucket{op="get",le="0.05"} 1
latency_seconds_bucket{op="get",le="0.1"} 1
latency_seconds_bucket{op="get",le="0.25"} 2
latency_seconds_bucket{op="get",le="0.5"} 2
latency_seconds_bucket{op="get",le="1"} 2
latency_seconds_bucket{op="get",le="2.5"} 2
latency_seconds_bucket{op="get",le="5"} 2
latency_seconds_bucket{op="get",le="10"} 4
latency_seconds_bucket{op="get",le="+Inf"} 5
latency_seconds_sum{op="get"} 59.25390625
latency_seconds_count{op="get"} 5
# TYPE queue:depth gauge
queue:depth{path="a\\b\"c\nd é"} 7
# HELP requests_total Requests served.
# TYPE requests_total counter
requests_total{code="200",method="get"} 3
requests_total{code="500",method="put"} 0.5
# TYPE temperature_celsius gauge
temperature_celsius 21.25
)");
	auto health = decoded(codec::decode_health(ok(p, op::kObsHealth)));
	CHECK(health.ok);
	CHECK(health.detail == "4 metric families, 5 series");
}

TEST_CASE("prometheus_counts_spans_by_name_and_status_and_logs_by_level")
{
	auto host = make_host();
	auto p = load(*host, "prometheus");
	span(p, "query", 1'000, 1'000 + 2'000'000, true);   // 2 ms
	span(p, "query", 5'000, 5'000 + 30'000'000, false); // 30 ms
	span(p, "commit", 0, 1'500'000'000, true);	    // 1.5 s
	for (int level : {1, 3, 1, 0})
		log(p, level);
	CHECK(exported(p) == R"(# HELP bulkhead_log_records_total Log records reported, by level.
# TYPE bulkhead_log_records_total counter
bulkhead_log_records_total{level="debug"} 1
bulkhead_log_records_total{level="error"} 1
bulkhead_log_records_total{level="info"} 2
# HELP bulkhead_span_duration_seconds Duration of the spans reported, by name and status.
# TYPE bulkhead_span_duration_seconds histogram
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.005"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.01"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.025"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.05"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.1"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.25"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="0.5"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="1"} 0
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="2.5"} 1
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="5"} 1
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="10"} 1
bulkhead_span_duration_seconds_bucket{name="commit",status="ok",le="+Inf"} 1
bulkhead_span_duration_seconds_sum{name="commit",status="ok"} 1.5
bulkhead_span_duration_seconds_count{name="commit",status="ok"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.005"} 0
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.01"} 0
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.025"} 0
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.05"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.1"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.25"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="0.5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="1"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="2.5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="10"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="error",le="+Inf"} 1
bulkhead_span_duration_seconds_sum{name="query",status="error"} 0.03
bulkhead_span_duration_seconds_count{name="query",status="error"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.005"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.01"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.025"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.05"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.1"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.25"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="0.5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="1"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="2.5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="5"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="10"} 1
bulkhead_span_duration_seconds_bucket{name="query",status="ok",le="+Inf"} 1
bulkhead_span_duration_seconds_sum{name="query",status="ok"} 0.002
bulkhead_span_duration_seconds_count{name="query",status="ok"} 1
)");

	ext::Span backwards;
	backwards.name = "query";
	backwards.start_ns = 10;
	backwards.end_ns = 5;
	CHECK(refused(p, op::kObsSpan, codec::encode_span(backwards)).code ==
	      ErrorCode::InvalidArgument);
	const Error e = refused(p, op::kObsLog, codec::encode_log({7, "?", {}}));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "log level 7 is outside 0 (debug) .. 3 (error)"));
}

TEST_CASE("prometheus_refuses_names_and_values_the_text_format_cannot_carry")
{
	auto host = make_host();
	auto p = load(*host, "prometheus");
	record(p, metric(K::Histogram, "latency_seconds", 1));
	record(p, metric(K::Counter, "calls_total", 1));
	record(p, metric(K::Gauge, "queue_sum", 1));
	const std::string before = exported(p);

	Error e = refuse(p, metric(K::Counter, "9lives", 1));
	CHECK(e.code == ErrorCode::InvalidArgument);
	CHECK(mentions(e, "invalid metric name \"9lives\""));
	for (const char *bad : {"has-dash", "with space", "dot.ted", "ünï"}) {
		CAPTURE(bad);
		CHECK(refuse(p, metric(K::Gauge, bad, 1)).code == ErrorCode::InvalidArgument);
	}
	e = refuse(p, metric(K::Gauge, "g", 1, {{"bad-label", "x"}}));
	CHECK(mentions(e, "invalid label name \"bad-label\""));
	CHECK(refuse(p, metric(K::Gauge, "g", 1, {{"__reserved", "x"}})).code ==
	      ErrorCode::InvalidArgument);
	CHECK(refuse(p, metric(K::Gauge, "g", 1, {{"a", "1"}, {"a", "2"}})).code ==
	      ErrorCode::InvalidArgument);
	CHECK(refuse(p, metric(K::Gauge, "g", 1, {{"a", "\xff\xfe"}})).code ==
	      ErrorCode::InvalidArgument);
	e = refuse(p, metric(K::Histogram, "h", 1, {{"le", "1"}}));
	CHECK(mentions(e, "may not have a label named le"));
	e = refuse(p, metric(K::Counter, "calls_total", -1));
	CHECK(mentions(e, "a counter only goes up"));
	e = refuse(p, metric(K::Gauge, "calls_total", 1));
	CHECK(mentions(e, "metric calls_total is a counter, not a gauge"));
	e = refuse(p, metric(K::Counter, "latency_seconds_count", 1));
	CHECK(mentions(e, "would clash with the series of histogram latency_seconds"));
	e = refuse(p, metric(K::Histogram, "queue", 1));
	CHECK(mentions(e, "histogram queue would clash with metric queue_sum"));
	// A metric sent to another kind's operation.
	auto gauge = metric(K::Gauge, "g", 1);
	e = refused(p, op::kObsCounter, codec::encode_metric(gauge));
	CHECK(mentions(e, "with another kind"));

	CHECK(exported(p) == before);
}

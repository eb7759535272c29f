// SPDX-License-Identifier: Apache-2.0
// The observability category for plugin authors: derive from
// ObservabilityPlugin and list BULKHEAD_OBSERVABILITY_OPS. The host fans
// every record out to all registered observability plugins.
#pragma once

#include <string>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>
#include <bulkhead/ext/types.hpp>
#include <bulkhead/sdk/plugin.hpp>

namespace bulkhead::sdk {

class ObservabilityPlugin : public Plugin {
public:
	// metric.kind says which of counter, gauge, histogram it is.
	virtual Result<void> record(const ext::Metric &metric) = 0;
	virtual Result<void> span(const ext::Span &span) = 0;
	virtual Result<void> log_record(const ext::LogRecord &record) = 0;
	virtual Result<ext::Health> health() { return ext::Health{true, "ok"}; }
	// Everything recorded, in the plugin's export format.
	virtual Result<std::string> export_text() = 0;

	Result<Bytes> call(std::string_view op, ByteView input) final
	{
		namespace c = ext::codec;
		if (op == ext::op::kObsCounter || op == ext::op::kObsGauge || op == ext::op::kObsHistogram) {
			auto m = TRY(c::decode_metric(input));
			const auto want = op == ext::op::kObsCounter ? ext::MetricKind::Counter
					  : op == ext::op::kObsGauge ? ext::MetricKind::Gauge
								      : ext::MetricKind::Histogram;
			if (m.kind != want)
				return fail(ErrorCode::InvalidArgument,
					    "metric " + m.name + " sent to " + std::string(op) + " with another kind");
			TRY(record(m));
			return Bytes{};
		}
		if (op == ext::op::kObsSpan) {
			TRY(span(TRY(c::decode_span(input))));
			return Bytes{};
		}
		if (op == ext::op::kObsLog) {
			TRY(log_record(TRY(c::decode_log(input))));
			return Bytes{};
		}
		if (op == ext::op::kObsHealth)
			return c::encode_health(TRY(health()));
		if (op == ext::op::kObsExport)
			return c::encode_text(TRY(export_text()));
		return fail(ErrorCode::NotFound,
			    std::string("observability plugin has no operation ") + std::string(op));
	}
};

} // namespace bulkhead::sdk

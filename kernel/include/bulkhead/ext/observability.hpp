// SPDX-License-Identifier: Apache-2.0
// Observability: the fan-out proxy. Every record goes to every registered
// observability plugin, in registration order; one failing sink neither
// stops the others nor hides their failures: the error lists each.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/ext/types.hpp>

namespace bulkhead::ext {

class Observability {
public:
	struct Sink {
		std::string name; // as registered: what errors call it
		std::shared_ptr<Endpoint> endpoint;
	};
	explicit Observability(std::vector<Sink> sinks,
			       std::chrono::milliseconds deadline = std::chrono::milliseconds(5'000))
		: sinks_(std::move(sinks)), deadline_(deadline) {}

	std::size_t size() const { return sinks_.size(); }

	Result<void> counter(std::string_view name, double add, std::vector<Label> labels = {},
			     std::string_view help = {}) const;
	Result<void> gauge(std::string_view name, double value, std::vector<Label> labels = {},
			   std::string_view help = {}) const;
	Result<void> histogram(std::string_view name, double observed, std::vector<Label> labels = {},
			       std::string_view help = {}) const;
	Result<void> span(const Span &span) const;
	Result<void> log(const LogRecord &record) const;

	struct SinkHealth {
		std::string plugin;
		Result<Health> health;
	};
	// One answer per sink; a sink that fails to answer is unhealthy.
	std::vector<SinkHealth> health() const;
	// Each sink's export (Prometheus text for the example plugin).
	std::vector<std::pair<std::string, Result<std::string>>> export_text() const;

private:
	Result<void> fan_out(std::string_view op, ByteView payload) const;

	std::vector<Sink> sinks_;
	std::chrono::milliseconds deadline_;
};

} // namespace bulkhead::ext

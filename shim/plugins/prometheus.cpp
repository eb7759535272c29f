// SPDX-License-Identifier: Apache-2.0
// Example observability plugin: keeps counters, gauges and histograms and
// renders them in the Prometheus text exposition format 0.0.4
// (observability.export). Spans become the histogram
//   bulkhead_span_duration_seconds{name, status="ok"|"error"}
// and log records the counter bulkhead_log_records_total{level}.
//
// Output is stable: families by name, series by their label set, labels by
// name (a series is its label set, whatever order the labels came in).
// Histograms use Prometheus' default buckets. Names, labels and values are
// checked on the way in, so whatever is exported parses: an invalid metric
// or label name, invalid UTF-8, one name used for two kinds, or a name that
// a histogram's _bucket/_sum/_count series would shadow is InvalidArgument.
// At most kMaxSeries series are kept (ResourceExhausted past it).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <bulkhead/sdk/observability.hpp>

namespace {

using bulkhead::ErrorCode;
using bulkhead::Result;
using bulkhead::sdk::fail;
namespace ext = bulkhead::ext;

constexpr double kBuckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
constexpr std::size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);
constexpr std::size_t kMaxSeries = 10'000;
constexpr const char *kSpanFamily = "bulkhead_span_duration_seconds";
constexpr const char *kLogFamily = "bulkhead_log_records_total";
constexpr const char *kLevels[] = {"debug", "info", "warn", "error"};
constexpr const char *kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

// Sorted by label name.
using LabelSet = std::vector<std::pair<std::string, std::string>>;

struct Series {
	double value = 0;			   // counter, gauge
	std::uint64_t buckets[kBucketCount + 1]{}; // histogram: per bucket, the last +Inf
	double sum = 0;
	std::uint64_t count = 0;
};

struct Family {
	ext::MetricKind kind;
	std::string help;
	std::map<LabelSet, Series> series;
};

bool valid_name(std::string_view n, bool colons)
{
	auto first = [&](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		       (colons && c == ':');
	};
	if (n.empty() || !first(n[0]))
		return false;
	for (char c : n.substr(1))
		if (!first(c) && !(c >= '0' && c <= '9'))
			return false;
	return true;
}

// RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s)
{
	for (std::size_t i = 0; i < s.size();) {
		const auto c = static_cast<unsigned char>(s[i]);
		std::size_t n = c < 0x80	   ? 1
				: (c >> 5) == 0x6  ? 2
				: (c >> 4) == 0xe  ? 3
				: (c >> 3) == 0x1e ? 4
						   : 0;
		if (n == 0 || i + n > s.size())
			return false;
		std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
		for (std::size_t k = 1; k < n; ++k) {
			const auto d = static_cast<unsigned char>(s[i + k]);
			if ((d >> 6) != 0x2)
				return false;
			cp = (cp << 6) | (d & 0x3f);
		}
		static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

// Go's strconv 'g' -1 as Prometheus clients write it: the shortest text
// that reads back as the same double.
std::string number(double v)
{
	if (std::isnan(v))
		return "NaN";
	if (std::isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	char buf[32];
	auto r = std::to_chars(buf, buf + sizeof(buf), v);
	return std::string(buf, r.ptr);
}

std::string escape_label(std::string_view s)
{
	std::string out;
	out.reserve(s.size());
	for (char c : s) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '"')
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

// HELP text escapes only backslash and newline.
std::string escape_help(std::string_view s)
{
	std::string out;
	for (char c : s)
		out += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
	return out;
}

// `{a="1",b="2"}`, with `le` last when given; empty for no labels at all.
std::string labels_text(const LabelSet &labels, const std::string *le = nullptr)
{
	if (labels.empty() && !le)
		return {};
	std::string out = "{";
	for (const auto &[n, v] : labels)
		out += (out.size() > 1 ? "," : "") + n + "=\"" + escape_label(v) + "\"";
	if (le)
		out += std::string(out.size() > 1 ? "," : "") + "le=\"" + *le + "\"";
	return out + "}";
}

const char *kind_name(ext::MetricKind k)
{
	switch (k) {
	case ext::MetricKind::Counter:
		return "counter";
	case ext::MetricKind::Gauge:
		return "gauge";
	case ext::MetricKind::Histogram:
		return "histogram";
	}
	return "untyped";
}

class Prometheus final : public bulkhead::sdk::ObservabilityPlugin {
public:
	Result<void> record(const ext::Metric &m) override
	{
		if (!valid_name(m.name, true))
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: invalid metric name \"" + escape_label(m.name) +
					    "\" (it must match [a-zA-Z_:][a-zA-Z0-9_:]*)");
		if (!valid_utf8(m.help))
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: metric " + m.name + " has help that is not UTF-8");
		LabelSet labels;
		for (const auto &l : m.labels) {
			if (!valid_name(l.name, false) || l.name.starts_with("__"))
				return fail(ErrorCode::InvalidArgument,
					    "prometheus: metric " + m.name +
						    " has an invalid label name \"" +
						    escape_label(l.name) +
						    "\" (it must match [a-zA-Z_][a-zA-Z0-9_]* "
						    "and not start with __)");
			if (m.kind == ext::MetricKind::Histogram && l.name == "le")
				return fail(ErrorCode::InvalidArgument,
					    "prometheus: histogram " + m.name +
						    " may not have a label named le");
			if (!valid_utf8(l.value))
				return fail(ErrorCode::InvalidArgument,
					    "prometheus: metric " + m.name + " label " + l.name +
						    " is not UTF-8");
			labels.emplace_back(l.name, l.value);
		}
		std::sort(labels.begin(), labels.end());
		for (std::size_t i = 1; i < labels.size(); ++i)
			if (labels[i].first == labels[i - 1].first)
				return fail(ErrorCode::InvalidArgument,
					    "prometheus: metric " + m.name + " has the label " +
						    labels[i].first + " twice");
		if (m.kind == ext::MetricKind::Counter && !(std::isfinite(m.value) && m.value >= 0))
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: counter " + m.name + " cannot add " +
					    number(m.value) + " (a counter only goes up)");
		if (m.kind == ext::MetricKind::Histogram && std::isnan(m.value))
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: histogram " + m.name + " cannot observe NaN");
		Series &s = TRY(series(m.name, m.kind, m.help, std::move(labels)));
		apply(s, m.kind, m.value);
		return {};
	}

	Result<void> span(const ext::Span &span) override
	{
		if (span.name.empty() || !valid_utf8(span.name))
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: a span needs a UTF-8 name");
		if (span.end_ns < span.start_ns)
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: span " + span.name + " ends before it starts");
		LabelSet labels = {{"name", span.name}, {"status", span.ok ? "ok" : "error"}};
		Series &s = TRY(series(kSpanFamily, ext::MetricKind::Histogram,
				       "Duration of the spans reported, by name and status.",
				       std::move(labels)));
		apply(s, ext::MetricKind::Histogram, double(span.end_ns - span.start_ns) / 1e9);
		return {};
	}

	Result<void> log_record(const ext::LogRecord &record) override
	{
		if (record.level < 0 || record.level > 3)
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: log level " + std::to_string(record.level) +
					    " is outside 0 (debug) .. 3 (error)");
		Series &s = TRY(series(kLogFamily, ext::MetricKind::Counter,
				       "Log records reported, by level.",
				       {{"level", kLevels[record.level]}}));
		apply(s, ext::MetricKind::Counter, 1);
		return {};
	}

	Result<ext::Health> health() override
	{
		return ext::Health{true, std::to_string(families_.size()) + " metric families, " +
						 std::to_string(series_count_) + " series"};
	}

	Result<std::string> export_text() override
	{
		std::string out;
		for (const auto &[name, f] : families_) {
			if (!f.help.empty())
				out += "# HELP " + name + " " + escape_help(f.help) + "\n";
			out += "# TYPE " + name + " " + kind_name(f.kind) + "\n";
			for (const auto &[labels, s] : f.series) {
				if (f.kind != ext::MetricKind::Histogram) {
					out += name + labels_text(labels) + " " + number(s.value) +
					       "\n";
					continue;
				}
				std::uint64_t cumulative = 0;
				for (std::size_t i = 0; i <= kBucketCount; ++i) {
					cumulative += s.buckets[i];
					const std::string le =
						i < kBucketCount ? number(kBuckets[i]) : "+Inf";
					out += name + "_bucket" + labels_text(labels, &le) + " " +
					       std::to_string(cumulative) + "\n";
				}
				out += name + "_sum" + labels_text(labels) + " " + number(s.sum) +
				       "\n";
				out += name + "_count" + labels_text(labels) + " " +
				       std::to_string(s.count) + "\n";
			}
		}
		return out;
	}

private:
	// The series of `name` with `labels`, made (with its family) if new.
	Result<std::reference_wrapper<Series>> series(const std::string &name, ext::MetricKind kind,
						      const std::string &help, LabelSet labels)
	{
		auto f = families_.find(name);
		if (f == families_.end()) {
			TRY(check_shadowing(name, kind));
			if (series_count_ >= kMaxSeries)
				return too_many(name);
			f = families_.emplace(name, Family{kind, help, {}}).first;
		} else if (f->second.kind != kind) {
			return fail(ErrorCode::InvalidArgument,
				    "prometheus: metric " + name + " is a " +
					    kind_name(f->second.kind) + ", not a " +
					    kind_name(kind));
		}
		Family &family = f->second;
		if (family.help.empty())
			family.help = help;
		auto s = family.series.find(labels);
		if (s == family.series.end()) {
			if (series_count_ >= kMaxSeries)
				return too_many(name);
			s = family.series.emplace(std::move(labels), Series{}).first;
			++series_count_;
		}
		return std::ref(s->second);
	}

	// A histogram H writes H_bucket, H_sum and H_count: no other family
	// may have those names.
	Result<void> check_shadowing(const std::string &name, ext::MetricKind kind) const
	{
		for (const char *suffix : kHistogramSuffixes) {
			const std::string_view sfx = suffix;
			if (name.ends_with(sfx)) {
				auto base =
					families_.find(name.substr(0, name.size() - sfx.size()));
				if (base != families_.end() &&
				    base->second.kind == ext::MetricKind::Histogram)
					return fail(ErrorCode::InvalidArgument,
						    "prometheus: metric " + name +
							    " would clash with the series of "
							    "histogram " +
							    base->first);
			}
			if (kind == ext::MetricKind::Histogram && families_.contains(name + suffix))
				return fail(ErrorCode::InvalidArgument,
					    "prometheus: histogram " + name +
						    " would clash with metric " + name + suffix);
		}
		return {};
	}

	static bulkhead::Unexpected<bulkhead::Error> too_many(const std::string &name)
	{
		return fail(ErrorCode::ResourceExhausted,
			    "prometheus: already " + std::to_string(kMaxSeries) +
				    " series; a new one of " + name + " is refused");
	}

	static void apply(Series &s, ext::MetricKind kind, double v)
	{
		switch (kind) {
		case ext::MetricKind::Counter:
			s.value += v;
			return;
		case ext::MetricKind::Gauge:
			s.value = v;
			return;
		case ext::MetricKind::Histogram: {
			std::size_t i = 0;
			while (i < kBucketCount && !(v <= kBuckets[i]))
				++i;
			++s.buckets[i];
			s.sum += v;
			++s.count;
			return;
		}
		}
	}

	std::map<std::string, Family> families_;
	std::size_t series_count_ = 0;
};

} // namespace

BULKHEAD_PLUGIN(Prometheus, "prometheus", "1.0.0", BULKHEAD_OBSERVABILITY_OPS)

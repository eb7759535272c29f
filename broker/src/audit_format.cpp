// SPDX-License-Identifier: Apache-2.0
// Encoding and strict parsing of audit log lines.
#include "audit_format.hpp"

#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <sodium.h>

namespace bulkhead::broker {

namespace {

constexpr AuditEvent kEvents[] = {
	AuditEvent::Install, AuditEvent::Verify, AuditEvent::Load,
	AuditEvent::Unload, AuditEvent::Reload, AuditEvent::Rollback,
	AuditEvent::Crash, AuditEvent::Kill, AuditEvent::State, AuditEvent::Repair,
};

constexpr char kHexDigits[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 if none.
std::size_t utf8_sequence(std::string_view s)
{
	const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
	const unsigned c = byte(0);
	if (c < 0x80)
		return 1;
	std::size_t len = 0;
	unsigned lo = 0x80, hi = 0xbf; // the range of the second byte
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (s.size() < len || byte(1) < lo || byte(1) > hi)
		return 0;
	for (std::size_t i = 2; i < len; ++i)
		if (byte(i) < 0x80 || byte(i) > 0xbf)
			return 0;
	return len;
}

// A cursor over one line that accepts exactly the shapes encode_line writes.
// Values are decoded loosely; parse_audit_line then re-encodes and compares,
// which rejects every non-canonical spelling.
class Reader {
public:
	explicit Reader(std::string_view s) : s_(s) {}

	bool literal(std::string_view l)
	{
		if (s_.substr(pos_, l.size()) != l)
			return false;
		pos_ += l.size();
		return true;
	}

	bool number(std::uint64_t &out)
	{
		const char *begin = s_.data() + pos_;
		auto [end, ec] = std::from_chars(begin, s_.data() + s_.size(), out);
		if (ec != std::errc() || end == begin)
			return false;
		pos_ += static_cast<std::size_t>(end - begin);
		return true;
	}

	bool string(std::string &out)
	{
		if (!literal("\""))
			return false;
		while (pos_ < s_.size()) {
			char c = s_[pos_++];
			if (c == '"')
				return true;
			if (c != '\\') {
				out.push_back(c);
				continue;
			}
			if (pos_ >= s_.size())
				return false;
			c = s_[pos_++];
			if (c == '"' || c == '\\') {
				out.push_back(c);
			} else if (c == 'u' && literal("00") && pos_ + 2 <= s_.size()) {
				unsigned v = 0;
				auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 2, v, 16);
				if (ec != std::errc() || end != s_.data() + pos_ + 2 || v >= 0x80)
					return false;
				out.push_back(static_cast<char>(v));
				pos_ += 2;
			} else {
				return false;
			}
		}
		return false;
	}

	bool at_end() const { return pos_ == s_.size(); }

private:
	std::string_view s_;
	std::size_t pos_ = 0;
};

bool is_hash_hex(std::string_view s)
{
	if (s.size() != 2 * audit::kHashBytes)
		return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	return true;
}

// "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", digits where the pattern has letters.
bool is_time(std::string_view s)
{
	constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
	if (s.size() != kPattern.size())
		return false;
	for (std::size_t i = 0; i < s.size(); ++i)
		if (kPattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != kPattern[i])
			return false;
	return true;
}

} // namespace

const char *to_string(AuditEvent event)
{
	switch (event) {
	case AuditEvent::Install: return "install";
	case AuditEvent::Verify: return "verify";
	case AuditEvent::Load: return "load";
	case AuditEvent::Unload: return "unload";
	case AuditEvent::Reload: return "reload";
	case AuditEvent::Rollback: return "rollback";
	case AuditEvent::Crash: return "crash";
	case AuditEvent::Kill: return "kill";
	case AuditEvent::State: return "state";
	case AuditEvent::Repair: return "repair";
	}
	return "unknown";
}

std::optional<AuditEvent> audit_event_from_string(std::string_view name)
{
	for (AuditEvent e : kEvents)
		if (name == to_string(e))
			return e;
	return std::nullopt;
}

std::optional<AuditEntry> parse_audit_line(std::string_view line)
{
	AuditEntry e;
	AuditRecord &r = e.record;
	std::string event;
	Reader in(line);
	bool ok = in.literal("{\"seq\":") && in.number(e.seq) &&
		  in.literal(",\"prev\":") && in.string(e.prev) &&
		  in.literal(",\"time\":") && in.string(e.time) &&
		  in.literal(",\"event\":") && in.string(event) &&
		  in.literal(",\"plugin\":") && in.string(r.plugin) &&
		  in.literal(",\"version\":") && in.string(r.version) &&
		  in.literal(",\"key_id\":") && in.string(r.key_id) &&
		  in.literal(",\"payload_hash\":") && in.string(r.payload_hash) &&
		  in.literal(",\"instance\":") && in.number(r.instance) &&
		  in.literal(",\"outcome\":") && in.string(r.outcome) &&
		  in.literal(",\"detail\":") && in.string(r.detail) &&
		  in.literal("}") && in.at_end();
	if (!ok || e.seq == 0 || !is_hash_hex(e.prev) || !is_time(e.time))
		return std::nullopt;
	auto ev = audit_event_from_string(event);
	if (!ev)
		return std::nullopt;
	r.event = *ev;
	// The canonical check: the line must be exactly what the writer makes
	// of these values (no leading zeros, no other escapes, valid UTF-8).
	if (audit::encode_line(e.seq, e.prev, e.time, r) != line)
		return std::nullopt;
	return e;
}

namespace audit {

Hash hash_line(std::string_view line)
{
	Hash h;
	crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char *>(line.data()),
			   line.size(), nullptr, 0);
	return h;
}

std::string to_hex(const Hash &hash)
{
	std::string out;
	out.reserve(2 * hash.size());
	for (std::uint8_t b : hash) {
		out.push_back(kHexDigits[b >> 4]);
		out.push_back(kHexDigits[b & 0xf]);
	}
	return out;
}

void append_json_string(std::string &out, std::string_view s)
{
	out.push_back('"');
	std::size_t i = 0;
	while (i < s.size()) {
		const auto c = static_cast<unsigned char>(s[i]);
		if (c == '"' || c == '\\') {
			out.push_back('\\');
			out.push_back(static_cast<char>(c));
			++i;
		} else if (c < 0x20 || c == 0x7f) {
			out += "\\u00";
			out.push_back(kHexDigits[c >> 4]);
			out.push_back(kHexDigits[c & 0xf]);
			++i;
		} else if (std::size_t n = utf8_sequence(s.substr(i)); n > 0) {
			out.append(s.substr(i, n));
			i += n;
		} else {
			out += "\xef\xbf\xbd"; // U+FFFD for one byte that is not UTF-8
			++i;
		}
	}
	out.push_back('"');
}

std::string now_utc()
{
	timespec ts{};
	::clock_gettime(CLOCK_REALTIME, &ts);
	std::tm tm{};
	::gmtime_r(&ts.tv_sec, &tm);
	return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

std::string encode_line(std::uint64_t seq, std::string_view prev_hex, std::string_view time,
			const AuditRecord &r)
{
	std::string out = fmt::format("{{\"seq\":{},\"prev\":", seq);
	append_json_string(out, prev_hex);
	out += ",\"time\":";
	append_json_string(out, time);
	out += ",\"event\":";
	append_json_string(out, to_string(r.event));
	out += ",\"plugin\":";
	append_json_string(out, r.plugin);
	out += ",\"version\":";
	append_json_string(out, r.version);
	out += ",\"key_id\":";
	append_json_string(out, r.key_id);
	out += ",\"payload_hash\":";
	append_json_string(out, r.payload_hash);
	out += fmt::format(",\"instance\":{},\"outcome\":", r.instance);
	append_json_string(out, r.outcome);
	out += ",\"detail\":";
	append_json_string(out, r.detail);
	out += '}';
	return out;
}

} // namespace audit

} // namespace bulkhead::broker

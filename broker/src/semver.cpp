// SPDX-License-Identifier: Apache-2.0
// Parsing and comparing semantic versions and version ranges.
#include <bulkhead/broker/semver.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace bulkhead::broker {

namespace {

bool is_digits(std::string_view s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> number(std::string_view s)
{
	if (!is_digits(s) || (s.size() > 1 && s[0] == '0'))
		return std::nullopt;
	std::uint64_t v = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return v;
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
	std::vector<std::string_view> out;
	for (;;) {
		auto at = s.find(sep);
		out.push_back(s.substr(0, at));
		if (at == std::string_view::npos)
			return out;
		s.remove_prefix(at + 1);
	}
}

bool identifier_ok(std::string_view id, bool numeric_leading_zero_ok)
{
	if (id.empty())
		return false;
	for (char c : id)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
			return false;
	return numeric_leading_zero_ok || !is_digits(id) || id.size() == 1 || id[0] != '0';
}

Error bad(std::string_view text, std::string_view why)
{
	return Error{ErrorCode::InvalidArgument, fmt::format("'{}' is not a semantic version: {}", text, why)};
}

// A version in a range may leave out MINOR and PATCH, or write them x/X/*.
struct Partial {
	std::optional<std::uint64_t> major, minor, patch;
	std::vector<std::string> prerelease;

	Version floor() const
	{
		Version v;
		v.major = major.value_or(0);
		v.minor = minor.value_or(0);
		v.patch = patch.value_or(0);
		v.prerelease = prerelease;
		return v;
	}
};

bool wildcard(std::string_view s) { return s == "x" || s == "X" || s == "*"; }

Result<Partial> parse_partial(std::string_view text)
{
	std::string_view core = text;
	Partial p;
	if (auto plus = core.find('+'); plus != std::string_view::npos)
		core = core.substr(0, plus);
	if (auto dash = core.find('-'); dash != std::string_view::npos) {
		for (auto id : split(core.substr(dash + 1), '.')) {
			if (!identifier_ok(id, false))
				return Unexpected(bad(text, "bad pre-release identifier"));
			p.prerelease.emplace_back(id);
		}
		core = core.substr(0, dash);
	}
	auto parts = split(core, '.');
	if (parts.size() > 3)
		return Unexpected(bad(text, "more than three numbers"));
	std::optional<std::uint64_t> *slots[] = {&p.major, &p.minor, &p.patch};
	bool wild = false;
	for (std::size_t i = 0; i < parts.size(); ++i) {
		if (wildcard(parts[i])) {
			wild = true;
			continue;
		}
		if (wild)
			return Unexpected(bad(text, "a number after a wildcard"));
		auto n = number(parts[i]);
		if (!n)
			return Unexpected(bad(text, fmt::format("'{}' is not a number", parts[i])));
		*slots[i] = *n;
	}
	if (!p.prerelease.empty() && !p.patch)
		return Unexpected(bad(text, "a pre-release needs MAJOR.MINOR.PATCH"));
	return p;
}

// The smallest version above every version the partial names: 1.2 -> 1.3.0.
Version bump(const Partial &p)
{
	Version v;
	if (!p.minor)
		v.major = p.major.value_or(0) + 1;
	else if (!p.patch)
		v.major = *p.major, v.minor = *p.minor + 1;
	else
		v.major = *p.major, v.minor = *p.minor, v.patch = *p.patch + 1;
	return v;
}

bool same_tuple(const Version &a, const Version &b)
{
	return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
}

} // namespace

Result<Version> Version::parse(std::string_view text)
{
	Version v;
	std::string_view core = text;
	if (auto plus = core.find('+'); plus != std::string_view::npos) {
		for (auto id : split(core.substr(plus + 1), '.'))
			if (!identifier_ok(id, true))
				return Unexpected(bad(text, "bad build identifier"));
		v.build = std::string(core.substr(plus + 1));
		core = core.substr(0, plus);
	}
	if (auto dash = core.find('-'); dash != std::string_view::npos) {
		for (auto id : split(core.substr(dash + 1), '.')) {
			if (!identifier_ok(id, false))
				return Unexpected(bad(text, "bad pre-release identifier"));
			v.prerelease.emplace_back(id);
		}
		core = core.substr(0, dash);
	}
	auto parts = split(core, '.');
	if (parts.size() != 3)
		return Unexpected(bad(text, "it needs MAJOR.MINOR.PATCH"));
	std::uint64_t *slots[] = {&v.major, &v.minor, &v.patch};
	for (std::size_t i = 0; i < 3; ++i) {
		auto n = number(parts[i]);
		if (!n)
			return Unexpected(bad(text, fmt::format("'{}' is not a number without leading zeros", parts[i])));
		*slots[i] = *n;
	}
	return v;
}

std::string Version::to_string() const
{
	std::string s = fmt::format("{}.{}.{}", major, minor, patch);
	for (std::size_t i = 0; i < prerelease.size(); ++i)
		s += (i == 0 ? "-" : ".") + prerelease[i];
	if (!build.empty())
		s += "+" + build;
	return s;
}

int compare(const Version &a, const Version &b)
{
	if (a.major != b.major)
		return a.major < b.major ? -1 : 1;
	if (a.minor != b.minor)
		return a.minor < b.minor ? -1 : 1;
	if (a.patch != b.patch)
		return a.patch < b.patch ? -1 : 1;
	// A pre-release ranks below its release.
	if (a.prerelease.empty() != b.prerelease.empty())
		return a.prerelease.empty() ? 1 : -1;
	for (std::size_t i = 0; i < std::min(a.prerelease.size(), b.prerelease.size()); ++i) {
		const auto &x = a.prerelease[i], &y = b.prerelease[i];
		bool xn = is_digits(x), yn = is_digits(y);
		if (xn && yn) {
			if (x.size() != y.size())
				return x.size() < y.size() ? -1 : 1;
			if (x != y)
				return x < y ? -1 : 1;
		} else if (xn != yn) {
			return xn ? -1 : 1; // numeric identifiers rank lower
		} else if (x != y) {
			return x < y ? -1 : 1;
		}
	}
	if (a.prerelease.size() != b.prerelease.size())
		return a.prerelease.size() < b.prerelease.size() ? -1 : 1;
	return 0;
}

Result<VersionRange> VersionRange::parse(std::string_view text)
{
	VersionRange r;
	r.text_ = std::string(text);
	std::string_view rest = text;
	for (;;) {
		auto bar = rest.find("||");
		Set set;
		auto part = rest.substr(0, bar);
		auto status = parse_set(part, set);
		if (!status.has_value())
			return Unexpected(Error{ErrorCode::InvalidArgument,
						fmt::format("version range '{}': {}", text, status.error().message)});
		r.sets_.push_back(std::move(set));
		if (bar == std::string_view::npos)
			break;
		rest.remove_prefix(bar + 2);
	}
	return r;
}

Result<void> VersionRange::parse_set(std::string_view text, Set &out)
{
	std::vector<std::string> tokens;
	for (auto word : split(text, ' ')) {
		if (word.empty())
			continue;
		// ">= 1.2.3": an operator alone joins the next word.
		if (!tokens.empty() && word.find_first_not_of("<>=~^") == 0 &&
		    tokens.back().find_first_not_of("<>=~^") == std::string::npos)
			tokens.back() += word;
		else
			tokens.emplace_back(word);
	}
	if (tokens.size() == 3 && tokens[1] == "-") { // hyphen range: A - B
		auto lo = TRY(parse_partial(tokens[0]));
		auto hi = TRY(parse_partial(tokens[2]));
		out.push_back({Op::GreaterEqual, lo.floor()});
		if (hi.patch)
			out.push_back({Op::LessEqual, hi.floor()});
		else if (hi.major)
			out.push_back({Op::Less, bump(hi)});
		return {};
	}
	for (const auto &t : tokens)
		TRY(parse_comparator(t, out));
	return {};
}

Result<void> VersionRange::parse_comparator(std::string_view t, Set &out)
{
	std::string_view op = t.substr(0, t.find_first_not_of("<>=~^"));
	auto p = TRY(parse_partial(t.substr(op.size())));
	if (op.empty() || op == "=") {
		if (!p.major)
			return {}; // "*": any version
		if (p.patch)
			out.push_back({Op::Equal, p.floor()});
		else
			out.push_back({Op::GreaterEqual, p.floor()}), out.push_back({Op::Less, bump(p)});
	} else if (op == "^") {
		Version hi;
		if (!p.major)
			return {};
		if (*p.major > 0 || !p.minor)
			hi.major = *p.major + 1;
		else if (*p.minor > 0 || !p.patch)
			hi.minor = *p.minor + 1;
		else
			hi.patch = *p.patch + 1;
		out.push_back({Op::GreaterEqual, p.floor()});
		out.push_back({Op::Less, hi});
	} else if (op == "~") {
		if (!p.major)
			return {};
		Partial upto = p;
		if (p.minor)
			upto.patch.reset();
		out.push_back({Op::GreaterEqual, p.floor()});
		out.push_back({Op::Less, bump(upto)});
	} else if (op == ">") {
		if (!p.major)
			return Unexpected(Error{ErrorCode::InvalidArgument, "'>*' matches nothing"});
		out.push_back(p.patch ? Comparator{Op::Greater, p.floor()} : Comparator{Op::GreaterEqual, bump(p)});
	} else if (op == ">=") {
		if (p.major)
			out.push_back({Op::GreaterEqual, p.floor()});
	} else if (op == "<") {
		if (!p.major)
			return Unexpected(Error{ErrorCode::InvalidArgument, "'<*' matches nothing"});
		out.push_back({Op::Less, p.floor()});
	} else if (op == "<=") {
		if (p.major)
			out.push_back(p.patch ? Comparator{Op::LessEqual, p.floor()} : Comparator{Op::Less, bump(p)});
	} else {
		return Unexpected(Error{ErrorCode::InvalidArgument, fmt::format("unknown operator '{}'", op)});
	}
	return {};
}

bool VersionRange::contains(const Version &v) const
{
	for (const auto &set : sets_) {
		bool all = true, pre_allowed = v.prerelease.empty();
		for (const auto &c : set) {
			int k = compare(v, c.version);
			bool ok = false;
			switch (c.op) {
			case Op::Less: ok = k < 0; break;
			case Op::LessEqual: ok = k <= 0; break;
			case Op::Greater: ok = k > 0; break;
			case Op::GreaterEqual: ok = k >= 0; break;
			case Op::Equal: ok = k == 0; break;
			}
			all = all && ok;
			if (!c.version.prerelease.empty() && same_tuple(c.version, v))
				pre_allowed = true;
		}
		if (all && pre_allowed)
			return true;
	}
	return false;
}

} // namespace bulkhead::broker

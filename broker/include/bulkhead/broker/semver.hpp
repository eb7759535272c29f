// SPDX-License-Identifier: Apache-2.0
// Semantic versions (semver 2.0) and the version ranges dependencies name:
// "1.2.3", "^1.2", "~0.3.1", ">=1.0.0 <2.0.0", "1.x", "*", "a || b".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/result.hpp>

namespace bulkhead::broker {

struct Version {
	std::uint64_t major = 0, minor = 0, patch = 0;
	std::vector<std::string> prerelease; // "rc.1" -> {"rc", "1"}
	std::string build;                   // ignored by comparisons

	// Strict semver 2.0: MAJOR.MINOR.PATCH[-PRE][+BUILD], no leading zeros.
	static Result<Version> parse(std::string_view text);
	std::string to_string() const;
};

// Semver precedence; build metadata does not count.
int compare(const Version &a, const Version &b);
inline bool operator==(const Version &a, const Version &b) { return compare(a, b) == 0; }
inline bool operator<(const Version &a, const Version &b) { return compare(a, b) < 0; }

class VersionRange {
public:
	// Errors name the text and the part that did not parse.
	static Result<VersionRange> parse(std::string_view text);

	// A pre-release satisfies a range only if some comparator of the
	// matching set names a pre-release of the same MAJOR.MINOR.PATCH
	// (the npm rule: ^1.2.0 does not pull in 1.3.0-alpha).
	bool contains(const Version &v) const;
	const std::string &text() const { return text_; }

private:
	enum class Op : std::uint8_t { Less, LessEqual, Greater, GreaterEqual, Equal };
	struct Comparator {
		Op op;
		Version version;
	};
	using Set = std::vector<Comparator>; // all must hold
	static Result<void> parse_set(std::string_view text, Set &out);
	static Result<void> parse_comparator(std::string_view text, Set &out);

	std::vector<Set> sets_; // any may hold
	std::string text_;
};

} // namespace bulkhead::broker

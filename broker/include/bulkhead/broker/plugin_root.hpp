// SPDX-License-Identifier: Apache-2.0
// PluginRoot: the one directory bundles are read from. Every name resolves
// beneath it with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS); escapes, symlinks, NUL bytes, over-long names and
// anything but a regular file are refused with the reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::broker {

inline constexpr std::size_t kMaxNameBytes = 1024;     // a whole relative name
inline constexpr std::size_t kMaxComponentBytes = 255; // one path component
inline constexpr std::size_t kMaxBundleBytes = 1ull << 30;

class PluginRoot {
public:
	PluginRoot() = default;
	static Result<PluginRoot> open(const std::string &directory);

	// A read-only descriptor of the regular file `name` names.
	Result<UniqueFd> open_file(std::string_view name) const;
	// Reads it whole (at most kMaxBundleBytes), through one descriptor.
	Result<Bytes> read(std::string_view name) const;
	// Regular files ending in `suffix`, directly in the root, sorted.
	Result<std::vector<std::string>> list(std::string_view suffix) const;

	const std::string &path() const { return path_; }
	int fd() const { return dir_.get(); }

private:
	UniqueFd dir_;
	std::string path_;
};

// Reads a whole regular file through an open descriptor; names `label` in
// errors.
Result<Bytes> read_whole(int fd, const std::string &label, std::size_t limit = kMaxBundleBytes);
// Reads up to `size` bytes at `offset` (fewer at the end of the file).
Result<Bytes> read_range(int fd, std::size_t size, off_t offset, const std::string &label);

} // namespace bulkhead::broker

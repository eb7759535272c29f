// SPDX-License-Identifier: Apache-2.0
// Resolving bundle names beneath the plugin root.
#include <bulkhead/broker/plugin_root.hpp>

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

namespace bulkhead::broker {

namespace {

Error refuse(std::string_view name, std::string why)
{
	return Error{ErrorCode::PermissionDenied, fmt::format("plugin name '{}' refused: {}", name, why)};
}

Result<void> check_name(std::string_view name)
{
	if (name.empty())
		return Unexpected(refuse(name, "it is empty"));
	if (name.find('\0') != std::string_view::npos)
		return Unexpected(refuse(std::string(name.substr(0, name.find('\0'))) + "\\0...",
					 "it holds a NUL byte"));
	if (name.size() > kMaxNameBytes)
		return Unexpected(refuse(name.substr(0, 64), fmt::format("it is {} bytes long (at most {})",
									 name.size(), kMaxNameBytes)));
	if (name.front() == '/')
		return Unexpected(refuse(name, "it is an absolute path; names are relative to the plugin root"));
	std::string_view rest = name;
	while (!rest.empty()) {
		auto slash = rest.find('/');
		auto part = rest.substr(0, slash);
		if (part == "..")
			return Unexpected(refuse(name, "'..' would leave the plugin root"));
		if (part.size() > kMaxComponentBytes)
			return Unexpected(refuse(name.substr(0, 64), fmt::format("a component is {} bytes long (at most {})",
										 part.size(), kMaxComponentBytes)));
		if (slash == std::string_view::npos)
			break;
		rest.remove_prefix(slash + 1);
	}
	return {};
}

} // namespace

Result<PluginRoot> PluginRoot::open(const std::string &directory)
{
	if (directory.empty() || directory.find('\0') != std::string::npos)
		return make_error(ErrorCode::InvalidArgument, "the plugin root is empty or holds a NUL byte");
	PluginRoot root;
	root.dir_ = UniqueFd(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (!root.dir_.valid())
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("plugin root {}: {}", directory, strerrordesc_np(errno)));
	root.path_ = directory;
	return root;
}

Result<UniqueFd> PluginRoot::open_file(std::string_view name) const
{
	TRY(check_name(name));
	const std::string n(name);
	struct open_how how {};
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	UniqueFd fd;
	for (;;) {
		fd = UniqueFd(static_cast<int>(::syscall(SYS_openat2, dir_.get(), n.c_str(), &how, sizeof how)));
		if (fd.valid() || (errno != EAGAIN && errno != EINTR))
			break;
	}
	if (!fd.valid()) {
		switch (errno) {
		case ENOENT:
			return make_error(ErrorCode::NotFound, fmt::format("no plugin '{}' under {}", name, path_));
		case ELOOP:
			return Unexpected(refuse(name, "it is or passes through a symbolic link"));
		case EXDEV:
			return Unexpected(refuse(name, "it resolves outside the plugin root"));
		case ENAMETOOLONG:
			return Unexpected(refuse(name, "it is too long"));
		default:
			return Unexpected(errno_error(fmt::format("open '{}' under {}", name, path_), errno));
		}
	}
	struct stat st;
	if (::fstat(fd.get(), &st) != 0)
		return Unexpected(errno_error("fstat", errno));
	if (!S_ISREG(st.st_mode))
		return Unexpected(refuse(name, "it is not a regular file"));
	return fd;
}

Result<Bytes> PluginRoot::read(std::string_view name) const
{
	UniqueFd fd = TRY(open_file(name));
	return read_whole(fd.get(), fmt::format("{}/{}", path_, name));
}

Result<std::vector<std::string>> PluginRoot::list(std::string_view suffix) const
{
	UniqueFd dir(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!dir.valid())
		return Unexpected(errno_error("open plugin root " + path_, errno));
	DIR *d = ::fdopendir(dir.get());
	if (!d)
		return Unexpected(errno_error("fdopendir " + path_, errno));
	(void)dir.release(); // closedir owns it now
	std::vector<std::string> names;
	while (const dirent *e = ::readdir(d)) {
		std::string_view n = e->d_name;
		if (e->d_type == DT_REG && n.size() > suffix.size() && n.ends_with(suffix))
			names.emplace_back(n);
	}
	::closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

Result<Bytes> read_whole(int fd, const std::string &label, std::size_t limit)
{
	struct stat st;
	if (::fstat(fd, &st) != 0)
		return Unexpected(errno_error("fstat " + label, errno));
	if (!S_ISREG(st.st_mode))
		return make_error(ErrorCode::InvalidArgument, fmt::format("{} is not a regular file", label));
	if (static_cast<std::uint64_t>(st.st_size) > limit)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("{} is {} bytes, more than the {} a bundle may have", label, st.st_size, limit));
	return read_range(fd, static_cast<std::size_t>(st.st_size), 0, label);
}

Result<Bytes> read_range(int fd, std::size_t size, off_t offset, const std::string &label)
{
	Bytes bytes(size);
	std::size_t done = 0;
	while (done < size) {
		ssize_t n = ::pread(fd, bytes.data() + done, size - done, offset + static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return Unexpected(errno_error("read " + label, errno));
		if (n == 0)
			break;
		done += static_cast<std::size_t>(n);
	}
	bytes.resize(done);
	return bytes;
}

} // namespace bulkhead::broker

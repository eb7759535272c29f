// SPDX-License-Identifier: Apache-2.0
// File reading and durable writing for the command-line tools.
#include "file_io.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace bulkhead::tools {

namespace {

Error io_error(std::string_view what, const std::string &path, int err)
{
	return Error{err == ENOENT ? ErrorCode::NotFound : ErrorCode::Unavailable,
		     fmt::format("cannot {} {}: {}", what, path, strerrordesc_np(err))};
}

std::string directory_of(const std::string &path)
{
	auto slash = path.rfind('/');
	return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

Result<Bytes> read_file(const std::string &path)
{
	int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return Unexpected(io_error("read", path, errno));
	Bytes out;
	std::uint8_t buf[65536];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			if (fd != STDIN_FILENO)
				::close(fd);
			return Unexpected(io_error("read", path, err));
		}
		if (n == 0)
			break;
		out.insert(out.end(), buf, buf + n);
	}
	if (fd != STDIN_FILENO)
		::close(fd);
	return out;
}

Result<void> write_file(const std::string &path, ByteView bytes, mode_t mode, Replace replace)
{
	const std::string dir = directory_of(path);
	int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return Unexpected(io_error("create a file in", dir, errno));
	auto fail = [&](std::string_view what, const std::string &p) {
		int err = errno;
		::close(fd);
		return Unexpected(io_error(what, p, err));
	};
	if (::fchmod(fd, mode) != 0)
		return fail("chmod", path);
	for (std::size_t done = 0; done < bytes.size();) {
		ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("write", path);
		done += static_cast<std::size_t>(n);
	}
	if (::fsync(fd) != 0)
		return fail("fsync", path);
	const std::string self = fmt::format("/proc/self/fd/{}", fd);
	if (replace == Replace::Never) {
		if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
			if (errno == EEXIST) {
				::close(fd);
				return make_error(ErrorCode::InvalidArgument,
						  fmt::format("{} already exists (not overwritten)", path));
			}
			return fail("create", path);
		}
	} else {
		// Link under a temporary name, then rename over the target.
		const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
		::unlink(tmp.c_str());
		if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) != 0)
			return fail("create", tmp);
		if (::rename(tmp.c_str(), path.c_str()) != 0) {
			::unlink(tmp.c_str());
			return fail("replace", path);
		}
	}
	::close(fd);
	int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		::fsync(d);
		::close(d);
	}
	return {};
}

std::string json_quote(std::string_view text)
{
	std::string out = "\"";
	for (std::size_t i = 0; i < text.size(); ++i) {
		auto c = static_cast<unsigned char>(text[i]);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
		} else if (c == '\n') {
			out += "\\n";
		} else if (c == '\t') {
			out += "\\t";
		} else if (c < 0x20 || c >= 0x80) {
			// Multi-byte UTF-8 passes through when well formed.
			std::size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
			bool ok = c >= 0x80 && len > 0 && i + len <= text.size();
			for (std::size_t k = 1; ok && k < len; ++k)
				ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
			if (ok) {
				out.append(text.substr(i, len));
				i += len - 1;
			} else {
				out += fmt::format("\\u{:04x}", c);
			}
		} else {
			out += static_cast<char>(c);
		}
	}
	return out + "\"";
}

} // namespace bulkhead::tools

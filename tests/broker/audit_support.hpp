// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the audit log tests: a scratch directory, whole-file
// reads and writes, and logs of a given length.
#pragma once

#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>

namespace bulkhead::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its files.
class ScratchDir {
public:
	ScratchDir()
	{
		const char *tmp = std::getenv("TMPDIR");
		std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/bulkhead-audit-XXXXXX";
		REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
		path_ = tmpl;
	}
	ScratchDir(const ScratchDir &) = delete;
	ScratchDir &operator=(const ScratchDir &) = delete;
	~ScratchDir()
	{
		if (DIR *d = ::opendir(path_.c_str())) {
			while (dirent *e = ::readdir(d))
				if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
					::unlink((path_ + "/" + e->d_name).c_str());
			::closedir(d);
		}
		::rmdir(path_.c_str());
	}
	std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
	std::string path_;
};

inline std::string read_all(const std::string &path)
{
	std::string out;
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	char buf[4096];
	for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
		out.append(buf, static_cast<std::size_t>(n));
	::close(fd);
	return out;
}

inline void write_all(const std::string &path, std::string_view bytes)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
	::close(fd);
}

// The lines of `text`, without their newlines; a torn last line included.
inline std::vector<std::string> split_lines(std::string_view text)
{
	std::vector<std::string> out;
	while (!text.empty()) {
		auto nl = text.find('\n');
		out.emplace_back(text.substr(0, nl));
		text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
	}
	return out;
}

inline std::string join_lines(const std::vector<std::string> &lines)
{
	std::string out;
	for (const auto &l : lines)
		out += l + "\n";
	return out;
}

inline broker::AuditRecord sample_record(int i)
{
	broker::AuditRecord r;
	r.event = i % 2 ? broker::AuditEvent::Load : broker::AuditEvent::Unload;
	r.plugin = "echo";
	r.version = "1.2.3";
	r.key_id = "ed25519:4f2a";
	r.payload_hash = "b3f1c0de";
	r.instance = static_cast<std::uint64_t>(i);
	r.outcome = "ok";
	r.detail = fmt::format("record {}", i);
	return r;
}

// A new log at `path` holding `n` sample records.
inline void write_log(const std::string &path, int n)
{
	auto log = broker::AuditLog::open(path);
	REQUIRE(log.has_value());
	for (int i = 1; i <= n; ++i)
		REQUIRE(log.value()->append(sample_record(i)).has_value());
}

inline broker::AuditCheck verify(const std::string &path, std::string_view anchor = {})
{
	auto c = broker::verify_audit_log(path, anchor);
	REQUIRE(c.has_value());
	return c.value();
}

} // namespace bulkhead::test

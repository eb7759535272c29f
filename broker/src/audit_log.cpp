// SPDX-License-Identifier: Apache-2.0
// AuditLog: appending chained records durably, recovering a log after a
// crash, and verifying the chain.
#include <bulkhead/broker/audit_log.hpp>

#include <cerrno>
#include <fcntl.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sodium.h>

#include <bulkhead/log.hpp>

#include "audit_format.hpp"

namespace bulkhead::broker {

namespace {

using audit::Hash;

constexpr std::size_t kReadChunk = 64 * 1024;
// How much of a torn tail a Repair record quotes; the rest is only counted.
constexpr std::size_t kMaxQuotedTorn = 4096;

// errno_error with a code the caller can act on.
Error io_error(std::string_view what, int err)
{
	Error e = errno_error(what, err);
	if (err == ENOENT || err == ENOTDIR)
		e.code = ErrorCode::NotFound;
	else if (err == EACCES || err == EPERM || err == EROFS)
		e.code = ErrorCode::PermissionDenied;
	else if (err == ENOSPC || err == EDQUOT)
		e.code = ErrorCode::ResourceExhausted;
	return e;
}

Result<void> init_sodium()
{
	if (::sodium_init() < 0)
		return make_error(ErrorCode::Internal, "libsodium failed to initialise");
	return {};
}

// What walking a log found: the verdict, and what a writer needs to go on.
struct Walk {
	AuditCheck check;
	Hash last{};                     // hash of the last complete line
	std::uint64_t last_seq = 0;      // its seq (its position if it did not parse)
	std::uint64_t complete_bytes = 0;// bytes up to the last newline
	std::string torn;                // bytes after the last newline
	bool broken_before_tail = false; // a break other than the torn tail
	bool anchor_seen = false;
};

void mark_broken(Walk &w, std::uint64_t record, std::string reason)
{
	if (!w.check.intact)
		return;
	w.check.intact = false;
	w.check.first_broken = record;
	w.check.reason = std::move(reason);
}

void walk_line(Walk &w, std::string_view line, std::string_view anchor)
{
	const std::uint64_t k = ++w.check.records;
	auto entry = parse_audit_line(line);
	if (!entry)
		mark_broken(w, k, "not a JSON audit record");
	else if (entry->seq != w.last_seq + 1)
		mark_broken(w, k, k == 1 ? fmt::format("seq {} starts the log, not 1", entry->seq)
					 : fmt::format("seq {} follows {}", entry->seq, w.last_seq));
	else if (entry->prev != audit::to_hex(w.last))
		mark_broken(w, k, k == 1 ? std::string("prev hash is not zero: the log does not start here")
					 : fmt::format("prev hash does not match record {}", k - 1));
	w.last_seq = entry ? entry->seq : w.last_seq + 1;
	w.last = audit::hash_line(line);
	w.complete_bytes += line.size() + 1;
	if (!anchor.empty() && audit::to_hex(w.last) == anchor)
		w.anchor_seen = true;
}

// Reads `fd` from offset 0 to its end, line by line.
Result<Walk> walk_fd(int fd, const std::string &path, std::string_view anchor)
{
	Walk w;
	std::string pending;
	std::string buf(kReadChunk, '\0');
	off_t offset = 0;
	for (;;) {
		ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return Unexpected(io_error(fmt::format("read audit log {}", path), errno));
		if (n == 0)
			break;
		offset += n;
		std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
		for (std::size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;) {
			if (pending.empty()) {
				walk_line(w, chunk.substr(0, nl), anchor);
			} else {
				pending.append(chunk.substr(0, nl));
				walk_line(w, pending, anchor);
				pending.clear();
			}
			chunk.remove_prefix(nl + 1);
		}
		pending.append(chunk);
	}
	w.broken_before_tail = !w.check.intact;
	if (!pending.empty()) {
		++w.check.records;
		mark_broken(w, w.check.records,
			    fmt::format("torn: {} bytes with no newline at the end (the writer "
					"died mid-record)", pending.size()));
		w.torn = std::move(pending);
	}
	w.check.last_hash = audit::to_hex(w.last);
	return w;
}

// Makes a new file's directory entry durable too.
void sync_parent_dir(const std::string &path)
{
	std::string copy = path;
	UniqueFd dir(::open(::dirname(copy.data()), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (dir.valid())
		::fsync(dir.get());
}

Result<UniqueFd> open_file(const std::string &path, bool &created)
{
	constexpr int kFlags = O_RDWR | O_APPEND | O_CLOEXEC;
	created = true;
	UniqueFd fd(::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0600));
	if (!fd.valid() && errno == EEXIST) {
		created = false;
		fd = UniqueFd(::open(path.c_str(), kFlags));
	}
	if (!fd.valid())
		return Unexpected(io_error(fmt::format("open audit log {}", path), errno));
	if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return make_error(ErrorCode::Unavailable,
					  fmt::format("audit log {} is already open for writing, in "
						      "this process or another", path));
		return Unexpected(io_error(fmt::format("lock audit log {}", path), errno));
	}
	struct stat st {};
	if (::fstat(fd.get(), &st) != 0)
		return Unexpected(io_error(fmt::format("stat audit log {}", path), errno));
	if (!S_ISREG(st.st_mode))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("audit log {} is not a regular file", path));
	return fd;
}

// The text of the Repair record open() writes, or nullopt when none is due.
std::optional<AuditRecord> repair_record(const Walk &w, const std::string &path)
{
	if (w.torn.empty() && !w.broken_before_tail)
		return std::nullopt;
	AuditRecord r;
	r.event = AuditEvent::Repair;
	std::string detail;
	if (w.broken_before_tail) {
		r.outcome = "chain-broken";
		detail = fmt::format("chain broken at record {}: {}; logging continues after it",
				     w.check.first_broken, w.check.reason);
		log::warning("audit log {}: {}", path, detail);
	} else {
		r.outcome = "repaired";
	}
	if (!w.torn.empty()) {
		std::string_view quoted = std::string_view(w.torn).substr(0, kMaxQuotedTorn);
		detail += fmt::format("{}dropped {} torn bytes after record {}{}: {}",
				      detail.empty() ? "" : "; ", w.torn.size(), w.check.records - 1,
				      quoted.size() < w.torn.size() ? ", the first of them" : "",
				      quoted);
		log::warning("audit log {}: dropped {} torn bytes at its end", path, w.torn.size());
	}
	r.detail = std::move(detail);
	return r;
}

} // namespace

AuditLog::AuditLog(std::string path, UniqueFd fd, std::uint64_t seq, const Hash &last,
		   std::uint64_t size)
	: path_(std::move(path)), fd_(std::move(fd)), seq_(seq), last_(last), size_(size)
{
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string &path)
{
	TRY(init_sodium());
	if (path.empty() || path.find('\0') != std::string::npos)
		return make_error(ErrorCode::InvalidArgument, "audit log path is empty or holds a NUL");
	bool created = false;
	UniqueFd fd = TRY(open_file(path, created));
	if (created)
		sync_parent_dir(path);
	// We hold the lock, so nothing appends while we read.
	Walk w = TRY(walk_fd(fd.get(), path, {}));
	if (!w.torn.empty()) {
		if (::ftruncate(fd.get(), static_cast<off_t>(w.complete_bytes)) != 0 ||
		    ::fdatasync(fd.get()) != 0)
			return Unexpected(io_error(fmt::format("cut the torn end of audit log {}", path),
						   errno));
	}
	std::unique_ptr<AuditLog> log(
		new AuditLog(path, std::move(fd), w.last_seq, w.last, w.complete_bytes));
	if (auto repair = repair_record(w, path))
		TRY(log->append(*repair));
	return log;
}

Result<void> AuditLog::append(const AuditRecord &record)
{
	if (!audit_event_from_string(to_string(record.event)))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("audit log {}: unknown event {}", path_,
					      static_cast<int>(record.event)));
	std::lock_guard lock(mutex_);
	if (failed_)
		return make_error(ErrorCode::Unavailable,
				  fmt::format("audit log {}: an earlier write failed; reopen the "
					      "log to repair it", path_));
	std::string line = audit::encode_line(seq_ + 1, audit::to_hex(last_), audit::now_utc(), record);
	const Hash hash = audit::hash_line(line);
	line.push_back('\n');
	ssize_t n;
	do
		n = ::write(fd_.get(), line.data(), line.size());
	while (n < 0 && errno == EINTR);
	if (n != static_cast<ssize_t>(line.size())) {
		const int err = n < 0 ? errno : ENOSPC; // a short write to a file: out of space
		// Take a partial line back so the next record does not follow torn
		// bytes; if that fails too, refuse appends until a reopen repairs it.
		if (n > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
			failed_ = true;
		return Unexpected(io_error(fmt::format("append to audit log {}", path_), err));
	}
	seq_ += 1;
	last_ = hash;
	size_ += line.size();
	if (::fdatasync(fd_.get()) != 0) {
		// After a failed sync the page cache no longer says what is on disk.
		failed_ = true;
		return Unexpected(io_error(fmt::format("sync audit log {}", path_), errno));
	}
	return {};
}

std::string AuditLog::last_hash() const
{
	std::lock_guard lock(mutex_);
	return audit::to_hex(last_);
}

std::uint64_t AuditLog::last_seq() const
{
	std::lock_guard lock(mutex_);
	return seq_;
}

Result<AuditCheck> verify_audit_log(const std::string &path, std::string_view anchor)
{
	TRY(init_sodium());
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return Unexpected(io_error(fmt::format("open audit log {}", path), errno));
	struct stat st {};
	if (::fstat(fd.get(), &st) != 0)
		return Unexpected(io_error(fmt::format("stat audit log {}", path), errno));
	if (!S_ISREG(st.st_mode))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("audit log {} is not a regular file", path));
	Walk w = TRY(walk_fd(fd.get(), path, anchor));
	if (!anchor.empty() && !w.anchor_seen)
		mark_broken(w, w.check.records + 1,
			    fmt::format("no record hashes to the anchor {}: records were cut from "
					"the end, or the log was rewritten", anchor));
	return w.check;
}

} // namespace bulkhead::broker

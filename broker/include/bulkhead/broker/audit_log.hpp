// SPDX-License-Identifier: Apache-2.0
// AuditLog: the tamper-evident record of every install, load, crash and kill,
// one JSON line per event, each carrying the hash of the line before it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <bulkhead/result.hpp>
#include <bulkhead/unique_fd.hpp>

namespace bulkhead::broker {

enum class AuditEvent : std::uint8_t {
	Install, Verify, Load, Unload, Reload, Rollback, Crash, Kill,
	State, // a lifecycle transition (DESIGN.md §4): detail "ready -> draining"
	Repair, // written by AuditLog itself when it opens a torn or broken log
};

// The name a record carries: "install", ..., "repair".
const char *to_string(AuditEvent event);
std::optional<AuditEvent> audit_event_from_string(std::string_view name);

// What the caller says about one event. Strings may hold any bytes: the line
// escapes quotes, backslashes and control characters, and replaces bytes that
// are not valid UTF-8 with U+FFFD (docs/audit.md).
struct AuditRecord {
	AuditEvent event = AuditEvent::Load;
	std::string plugin, version, key_id, payload_hash; // empty when unknown
	std::uint64_t instance = 0;                         // 0 when none
	std::string outcome;                                // "ok", "refused", "failed", ...
	std::string detail;                                 // the reason, free text
};

// One line of the log as read back: the record and what the log added to it.
struct AuditEntry {
	std::uint64_t seq = 0;
	std::string prev; // 64 lowercase hex digits
	std::string time; // "2026-11-22T03:50:01.123456789Z", UTC
	AuditRecord record;
};

// Parses one line (without its newline). Strict: only the exact bytes
// AuditLog writes for some record are accepted; anything else is nullopt.
std::optional<AuditEntry> parse_audit_line(std::string_view line);

// Appends records to one log file. Thread-safe: append() may be called from
// any thread; records are chained in the order the calls take the lock.
// One AuditLog owns the file: open() takes an exclusive flock(2), so a second
// AuditLog on the same file, in this process or another, is refused.
class AuditLog {
public:
	// Creates the file (mode 0600) or continues an existing log. A torn last
	// line (the host died mid-write) is cut off and a Repair record says how
	// many bytes went, quoting them; a broken chain is kept as it is, logged
	// as a warning, and a Repair record names its first broken record.
	// Errors name the path.
	static Result<std::unique_ptr<AuditLog>> open(const std::string &path);

	AuditLog(const AuditLog &) = delete;
	AuditLog &operator=(const AuditLog &) = delete;

	// Writes one line with a single write(2), then fdatasync(2); returns once
	// the record is on stable storage. After a failed write or sync every
	// later append fails too: reopen the log to repair it.
	Result<void> append(const AuditRecord &record);

	const std::string &path() const { return path_; }
	// The hash of the last line written, 64 hex digits (all zeros for an
	// empty log), and its seq: the anchor a deployment ships elsewhere.
	std::string last_hash() const;
	std::uint64_t last_seq() const;

private:
	using Hash = std::array<std::uint8_t, 32>;
	AuditLog(std::string path, UniqueFd fd, std::uint64_t seq, const Hash &last,
		 std::uint64_t size);

	std::string path_;
	UniqueFd fd_;
	mutable std::mutex mutex_;
	std::uint64_t seq_ = 0;          // seq of the last line in the file
	Hash last_{};                    // BLAKE2b-256 of that line
	std::uint64_t size_ = 0;         // bytes in the file, all complete lines
	bool failed_ = false;            // a write or sync failed; appends refused
};

struct AuditCheck {
	bool intact = true;
	std::uint64_t records = 0;      // lines in the file, a torn last one included
	std::uint64_t first_broken = 0; // 1-based record number, 0 if intact
	std::string reason;             // why that record is broken; empty if intact
	std::string last_hash;          // hash of the last complete line (the anchor)
};

// Walks the whole chain. A record is broken when it is not the exact shape,
// its seq is not the previous one + 1, its prev is not the hash of the line
// before, or it is a last line with no newline. With `anchor` (a hash from
// last_hash() or an earlier verify), the log is also broken when no line has
// that hash: records were cut from its end or it was rewritten. Returns an
// error only for I/O problems, naming the path.
Result<AuditCheck> verify_audit_log(const std::string &path, std::string_view anchor = {});

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// Error: the value every fallible Bulkhead operation returns on failure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulkhead {

// Canonical error codes. Each tells the caller what it can do next; the wire
// carries exactly this set (see ipc/schema/channel.fbs, Status).
enum class ErrorCode : std::uint16_t {
	InvalidArgument = 1,    // fix the call: bad input named in the message
	NotFound = 2,           // fix configuration: no such plugin, file, operation
	DeadlineExceeded = 3,   // retry with a longer deadline
	ResourceExhausted = 4,  // retry later, or shrink the payload
	PluginFailed = 5,       // the plugin answered with an error of its own
	PluginCrashed = 6,      // the instance died: restart the plugin
	ProtocolViolation = 7,  // the instance broke the protocol and was killed
	Unavailable = 8,        // the instance is not running (stopped, closing)
	PermissionDenied = 9,   // not allowed by policy
	FailedPrecondition = 10,// configuration or version mismatch
	Internal = 11,          // a bug or an OS failure in the host
};

std::string_view to_string(ErrorCode code);

// What ended an instance, when an error comes from one that died.
enum class Termination : std::uint8_t {
	None = 0,      // the instance is alive, or the error is not about its end
	Signal,        // killed by a signal it raised or received
	Exit,          // exited by itself
	Deadline,      // killed by the host after a deadline passed
	Protocol,      // killed by the host for a protocol violation
	HostRequest,   // stopped on the host's request
	SandboxViolation, // killed by the broker: a forbidden system call (Error::syscall)
	MemoryLimit,   // killed for going over its memory limit, all its processes
};

std::string_view to_string(Termination termination);

// "signal 11 (SIGSEGV)": how a signal is named in every error and log line.
std::string describe_signal(int signal);

struct Error {
	ErrorCode code = ErrorCode::Internal;
	std::string message;
	std::string plugin;            // empty when no plugin is involved
	std::uint64_t instance = 0;    // 0 when no instance is involved
	Termination termination = Termination::None;
	int signal = 0;                // with Termination::Signal
	int exit_status = 0;           // with Termination::Exit
	std::string syscall;           // with Termination::SandboxViolation: "socket"

	Error() = default;
	Error(ErrorCode c, std::string msg) : code(c), message(std::move(msg)) {}

	// One line: "plugin-crashed: plugin echo#3: killed by signal 11 (SIGSEGV): ..."
	std::string to_string() const;
};

// Builds an Error from the current errno: "<what>: <strerror>".
Error errno_error(std::string_view what, int err);

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// Error formatting.
#include <bulkhead/error.hpp>

#include <cstring>
#include <string.h>

#include <fmt/format.h>

namespace bulkhead {

std::string_view to_string(ErrorCode code)
{
	switch (code) {
	case ErrorCode::InvalidArgument: return "invalid-argument";
	case ErrorCode::NotFound: return "not-found";
	case ErrorCode::DeadlineExceeded: return "deadline-exceeded";
	case ErrorCode::ResourceExhausted: return "resource-exhausted";
	case ErrorCode::PluginFailed: return "plugin-failed";
	case ErrorCode::PluginCrashed: return "plugin-crashed";
	case ErrorCode::ProtocolViolation: return "protocol-violation";
	case ErrorCode::Unavailable: return "unavailable";
	case ErrorCode::PermissionDenied: return "permission-denied";
	case ErrorCode::FailedPrecondition: return "failed-precondition";
	case ErrorCode::Internal: return "internal";
	}
	return "unknown";
}

std::string_view to_string(Termination termination)
{
	switch (termination) {
	case Termination::None: return "none";
	case Termination::Signal: return "signal";
	case Termination::Exit: return "exit";
	case Termination::Deadline: return "deadline";
	case Termination::Protocol: return "protocol";
	case Termination::HostRequest: return "host-request";
	case Termination::SandboxViolation: return "sandbox-violation";
	case Termination::MemoryLimit: return "memory-limit-exceeded";
	}
	return "unknown";
}

std::string describe_signal(int signal)
{
	const char *abbrev = sigabbrev_np(signal);
	return fmt::format("signal {} (SIG{})", signal, abbrev ? abbrev : "?");
}

std::string Error::to_string() const
{
	std::string out(bulkhead::to_string(code));
	if (!plugin.empty())
		out += fmt::format(": plugin {}#{}", plugin, instance);
	switch (termination) {
	case Termination::Signal:
		out += ": killed by " + describe_signal(signal);
		break;
	case Termination::Exit:
		out += fmt::format(": exited with status {}", exit_status);
		break;
	case Termination::Deadline:
		out += ": killed after its deadline passed";
		break;
	case Termination::Protocol:
		out += ": killed for a protocol violation";
		break;
	case Termination::HostRequest:
		out += ": stopped by the host";
		break;
	case Termination::SandboxViolation:
		out += fmt::format(": killed for a sandbox violation ({})",
				   syscall.empty() ? "unknown call" : syscall);
		break;
	case Termination::MemoryLimit:
		out += ": killed for exceeding its memory limit";
		break;
	case Termination::None:
		break;
	}
	if (!message.empty())
		out += ": " + message;
	return out;
}

Error errno_error(std::string_view what, int err)
{
	return Error(ErrorCode::Internal,
		     fmt::format("{}: {}", what, strerrordesc_np(err) ? strerrordesc_np(err) : "?"));
}

} // namespace bulkhead

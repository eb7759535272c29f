// SPDX-License-Identifier: Apache-2.0
// Host functions for guests, bounded against the guest's memory.
#include "host_calls.hpp"

#include <string>

#include <bulkhead/error.hpp>

#include "engine.hpp"

namespace bulkhead::wasm {

namespace {

bool inside(std::span<const std::uint8_t> memory, std::uint32_t ptr, std::uint32_t size)
{
	return static_cast<std::uint64_t>(ptr) + size <= memory.size();
}

// Codes a plugin may answer with; anything else becomes PluginFailed, so a
// guest cannot claim the host's own verdicts (crashed, protocol, ...).
std::uint16_t plugin_code(std::uint32_t code)
{
	switch (static_cast<ErrorCode>(code)) {
	case ErrorCode::InvalidArgument:
	case ErrorCode::NotFound:
	case ErrorCode::ResourceExhausted:
	case ErrorCode::PluginFailed:
	case ErrorCode::PermissionDenied:
	case ErrorCode::FailedPrecondition:
	case ErrorCode::Internal:
		return static_cast<std::uint16_t>(code);
	default:
		return static_cast<std::uint16_t>(ErrorCode::PluginFailed);
	}
}

} // namespace

HostContext &host_context()
{
	static HostContext context;
	return context;
}

bool host_reply_ok(std::span<const std::uint8_t> memory, std::uint32_t ptr, std::uint32_t size)
{
	if (!inside(memory, ptr, size))
		return false;
	HostContext &c = host_context();
	if (c.api && c.reply) {
		c.api->reply_ok(c.reply, memory.data() + ptr, size);
		c.answered = true;
	}
	return true;
}

bool host_reply_error(std::span<const std::uint8_t> memory, std::uint32_t code, std::uint32_t ptr,
		      std::uint32_t size)
{
	if (!inside(memory, ptr, size))
		return false;
	HostContext &c = host_context();
	if (c.api && c.reply) {
		c.api->reply_error(c.reply, plugin_code(code),
				   reinterpret_cast<const char *>(memory.data() + ptr), size);
		c.answered = true;
	}
	return true;
}

bool host_log(std::span<const std::uint8_t> memory, std::int32_t level, std::uint32_t ptr,
	      std::uint32_t size)
{
	if (!inside(memory, ptr, size))
		return false;
	HostContext &c = host_context();
	if (c.api && c.api->log)
		c.api->log(level, reinterpret_cast<const char *>(memory.data() + ptr), size);
	return true;
}

Error trap_error(TrapKind kind, std::string_view what)
{
	switch (kind) {
	case TrapKind::Deadline:
		return Error(ErrorCode::DeadlineExceeded,
			     "deadline_exceeded: the guest ran past its deadline and was stopped; "
			     "the instance is still usable");
	case TrapKind::Fuel:
		return Error(ErrorCode::ResourceExhausted,
			     "fuel_exhausted: the instance used its whole fuel budget");
	case TrapKind::OutOfBounds:
		return Error(ErrorCode::PluginFailed,
			     "wasm trap (out_of_bounds): " + std::string(what));
	case TrapKind::StackExhausted:
		return Error(ErrorCode::PluginFailed,
			     "wasm trap (stack_exhausted): " + std::string(what));
	case TrapKind::Other:
		break;
	}
	return Error(ErrorCode::PluginFailed, "wasm trap: " + std::string(what));
}

} // namespace bulkhead::wasm

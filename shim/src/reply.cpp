// SPDX-License-Identifier: Apache-2.0
// The host API functions a plugin answers through.
#include "reply.hpp"

namespace bulkhead::shim {

void ReplyBuffer::set_error(std::uint16_t code, std::string_view message)
{
	ok_ = false;
	data_.clear();
	message_.assign(message);
	// Plugins may only use the codes the ABI lists; anything else, and the
	// codes that describe the instance's own death, become PluginFailed.
	switch (code) {
	case BULKHEAD_INVALID_ARGUMENT:
	case BULKHEAD_NOT_FOUND:
	case BULKHEAD_DEADLINE_EXCEEDED:
	case BULKHEAD_RESOURCE_EXHAUSTED:
	case BULKHEAD_PLUGIN_FAILED:
	case BULKHEAD_PERMISSION_DENIED:
	case BULKHEAD_FAILED_PRECONDITION:
	case BULKHEAD_INTERNAL:
		code_ = static_cast<ErrorCode>(code);
		break;
	default:
		code_ = ErrorCode::PluginFailed;
	}
}

void reply_ok(bulkhead_reply *reply, const std::uint8_t *data, std::size_t size)
{
	if (reply)
		reinterpret_cast<ReplyBuffer *>(reply)->set_ok(data, size);
}

void reply_error(bulkhead_reply *reply, std::uint16_t code, const char *message, std::size_t size)
{
	if (reply)
		reinterpret_cast<ReplyBuffer *>(reply)->set_error(code, std::string_view(message ? message : "", message ? size : 0));
}

} // namespace bulkhead::shim

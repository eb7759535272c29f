// SPDX-License-Identifier: Apache-2.0
// The host API functions a plugin answers through.
#include "reply.hpp"

#include <bulkhead/sdk/status.hpp>

namespace bulkhead::shim {

void ReplyBuffer::set_error(std::uint16_t code, std::string_view message)
{
	ok_ = false;
	data_.clear();
	message_.assign(message);
	code_ = sdk::code_of_status(code);
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

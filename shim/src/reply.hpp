// SPDX-License-Identifier: Apache-2.0
// ReplyBuffer: where a plugin's answer to one call is collected, behind the
// C ABI's opaque bulkhead_reply.
#pragma once

#include <string>
#include <string_view>

#include <bulkhead/bytes.hpp>
#include <bulkhead/ipc/channel.hpp>
#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::shim {

class ReplyBuffer {
public:
	void reset()
	{
		ok_ = true;
		data_.clear();
		message_.clear();
		code_ = ErrorCode::PluginFailed;
	}
	void set_ok(const std::uint8_t *data, std::size_t size)
	{
		ok_ = true;
		data_.assign(data, data + size);
	}
	void set_error(std::uint16_t code, std::string_view message);

	bool ok() const { return ok_; }
	const Bytes &data() const { return data_; }
	std::string_view message() const { return message_; }
	bulkhead_reply *handle() { return reinterpret_cast<bulkhead_reply *>(this); }
	ipc::Reply as_reply() const
	{
		return ok_ ? ipc::Reply::success(data_) : ipc::Reply::failure(code_, message_);
	}

private:
	bool ok_ = true;
	Bytes data_;
	std::string message_;
	ErrorCode code_ = ErrorCode::PluginFailed;
};

void reply_ok(bulkhead_reply *reply, const std::uint8_t *data, std::size_t size);
void reply_error(bulkhead_reply *reply, std::uint16_t code, const char *message, std::size_t size);

} // namespace bulkhead::shim

// SPDX-License-Identifier: Apache-2.0
// A plugin's answer that does not decode is the plugin's fault: PluginFailed
// naming the plugin, the operation and the codec's reason.
#pragma once

#include <string_view>

#include <fmt/format.h>

#include <bulkhead/ext/endpoint.hpp>

namespace bulkhead::ext::detail {

template<typename T>
Result<T> answer(Result<T> decoded, const std::shared_ptr<Endpoint> &endpoint, std::string_view op)
{
	if (decoded.has_value())
		return decoded;
	return make_error(ErrorCode::PluginFailed,
			  fmt::format("plugin {} answered {} with bytes that do not decode: {}",
				      endpoint ? endpoint->name() : std::string("?"), op, decoded.error().message));
}

} // namespace bulkhead::ext::detail

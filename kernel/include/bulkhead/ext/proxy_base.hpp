// SPDX-License-Identifier: Apache-2.0
// ProxyBase: what every typed proxy shares: the endpoint, the per-call
// deadline, and the one place a call's bytes go out and come back.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include <bulkhead/ext/endpoint.hpp>

namespace bulkhead::ext {

class ProxyBase {
public:
	// A proxy without an endpoint fails every call with FailedPrecondition.
	ProxyBase() = default;
	explicit ProxyBase(std::shared_ptr<Endpoint> endpoint,
			   std::chrono::milliseconds deadline = std::chrono::milliseconds(5'000))
		: endpoint_(std::move(endpoint)), deadline_(deadline) {}

	const std::shared_ptr<Endpoint> &endpoint() const { return endpoint_; }
	// Each call's deadline, from when it is made.
	void set_deadline(std::chrono::milliseconds deadline) { deadline_ = deadline; }

protected:
	// Calls `op`; an error names the category and the plugin.
	Result<Bytes> invoke(std::string_view category, std::string_view op, ByteView payload) const;

private:
	std::shared_ptr<Endpoint> endpoint_;
	std::chrono::milliseconds deadline_{5'000};
};

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// The isolated endpoint, and the call every typed proxy makes through one.
#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/ext/proxy_base.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace bulkhead::ext {

const char *to_string(Placement placement)
{
	switch (placement) {
	case Placement::Isolated: return "isolated";
	case Placement::InProcess: return "in-process";
	}
	return "unknown";
}

bool Endpoint::has_operation(std::string_view op) const
{
	const auto ops = operations();
	return std::find(ops.begin(), ops.end(), op) != ops.end();
}

namespace {

class IsolatedEndpoint final : public Endpoint {
public:
	explicit IsolatedEndpoint(Plugin plugin) : plugin_(std::move(plugin)) {}

	const std::string &name() const override { return plugin_.name(); }
	Placement placement() const override { return Placement::Isolated; }
	std::vector<std::string> operations() const override { return plugin_.info().operations; }
	Result<Bytes> call(std::string_view op, ByteView payload, Deadline deadline) const override
	{
		return plugin_.call(op, payload, deadline);
	}
	const Plugin *plugin() const override { return &plugin_; }
	std::size_t max_payload() const override { return plugin_.info().max_payload; }

private:
	Plugin plugin_;
};

} // namespace

std::shared_ptr<Endpoint> isolated(Plugin plugin)
{
	return std::make_shared<IsolatedEndpoint>(std::move(plugin));
}

Result<Bytes> ProxyBase::invoke(std::string_view category, std::string_view op, ByteView payload) const
{
	if (!endpoint_)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("no {} plugin behind this proxy (calling {})", category, op));
	return endpoint_->call(op, payload, Deadline::after(deadline_));
}

} // namespace bulkhead::ext

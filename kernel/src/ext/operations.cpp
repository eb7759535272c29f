// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/operations.hpp>

#include <optional>

#include <fmt/format.h>

#include <bulkhead/ext/codec.hpp>

#include "answer.hpp"

namespace bulkhead::ext {

const char *to_string(Anchor anchor)
{
	switch (anchor) {
	case Anchor::Before: return "before";
	case Anchor::Define: return "define";
	case Anchor::After: return "after";
	}
	return "unknown";
}

struct Operations::Chain {
	struct Hook {
		std::shared_ptr<Endpoint> endpoint;
		std::string plugin_operation;
	};
	std::string name;
	Implementation fallback;
	std::vector<Hook> before;
	std::optional<Hook> define;
	std::vector<Hook> after;
};

Operations::Operations(std::chrono::milliseconds deadline) : deadline_(deadline) {}
Operations::~Operations() = default;

Result<void> Operations::declare(std::string name, Implementation default_implementation)
{
	if (name.empty())
		return make_error(ErrorCode::InvalidArgument, "an operation needs a name");
	if (!default_implementation)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("operation {} needs a default implementation", name));
	std::lock_guard lock(mutex_);
	if (chains_.count(name))
		return make_error(ErrorCode::InvalidArgument, fmt::format("operation {} is declared already", name));
	auto chain = std::make_shared<Chain>();
	chain->name = name;
	chain->fallback = std::move(default_implementation);
	chains_.emplace(std::move(name), std::move(chain));
	return {};
}

Result<void> Operations::attach(std::string_view operation, Anchor anchor, std::shared_ptr<Endpoint> endpoint,
				std::string plugin_operation)
{
	if (!endpoint)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("attaching to operation {}: no plugin given", operation));
	if (!endpoint->has_operation(plugin_operation))
		return make_error(ErrorCode::NotFound,
				  fmt::format("plugin {} has no operation {} to attach {} {}", endpoint->name(),
					      plugin_operation, to_string(anchor), operation));
	std::lock_guard lock(mutex_);
	auto it = chains_.find(operation);
	if (it == chains_.end())
		return make_error(ErrorCode::NotFound, fmt::format("no operation {} is declared", operation));
	// Copy on write: runs in progress keep the chain they started with.
	auto chain = std::make_shared<Chain>(*it->second);
	Chain::Hook hook{std::move(endpoint), std::move(plugin_operation)};
	switch (anchor) {
	case Anchor::Before: chain->before.push_back(std::move(hook)); break;
	case Anchor::After: chain->after.push_back(std::move(hook)); break;
	case Anchor::Define:
		if (chain->define)
			return make_error(ErrorCode::FailedPrecondition,
					  fmt::format("operation {} is defined by plugin {} already ({}); {} refused",
						      operation, chain->define->endpoint->name(),
						      chain->define->plugin_operation, hook.endpoint->name()));
		chain->define = std::move(hook);
		break;
	}
	it->second = std::move(chain);
	return {};
}

std::size_t Operations::detach(std::string_view plugin)
{
	std::size_t removed = 0;
	std::lock_guard lock(mutex_);
	for (auto &[name, current] : chains_) {
		auto chain = std::make_shared<Chain>(*current);
		auto drop = [&](std::vector<Chain::Hook> &hooks) {
			const auto before = hooks.size();
			std::erase_if(hooks, [&](const Chain::Hook &h) { return h.endpoint->name() == plugin; });
			removed += before - hooks.size();
		};
		drop(chain->before);
		drop(chain->after);
		if (chain->define && chain->define->endpoint->name() == plugin) {
			chain->define.reset();
			++removed;
		}
		current = std::move(chain);
	}
	return removed;
}

namespace {

Result<Bytes> run_hook(const std::string &operation, Anchor anchor, const std::shared_ptr<Endpoint> &endpoint,
		       const std::string &plugin_operation, const Invocation &invocation, std::chrono::milliseconds deadline)
{
	auto r = endpoint->call(plugin_operation, codec::encode_invocation(invocation), Deadline::after(deadline));
	if (!r.has_value())
		return make_error(r.error().code, fmt::format("operation {}: {} hook {} of plugin {} failed: {}", operation,
							      to_string(anchor), plugin_operation, endpoint->name(),
							      r.error().message));
	return detail::answer(codec::decode_blob(r.value()), endpoint, plugin_operation);
}

} // namespace

Result<Bytes> Operations::run(std::string_view operation, ByteView input) const
{
	std::shared_ptr<const Chain> chain;
	{
		std::lock_guard lock(mutex_);
		auto it = chains_.find(operation);
		if (it == chains_.end())
			return make_error(ErrorCode::NotFound, fmt::format("no operation {} is declared", operation));
		chain = it->second;
	}
	Invocation inv{chain->name, Bytes(input.begin(), input.end()), {}};
	for (const auto &h : chain->before)
		inv.input = TRY(run_hook(chain->name, Anchor::Before, h.endpoint, h.plugin_operation, inv, deadline_));
	if (chain->define) {
		inv.output = TRY(run_hook(chain->name, Anchor::Define, chain->define->endpoint,
					  chain->define->plugin_operation, inv, deadline_));
	} else {
		auto r = chain->fallback(inv.input);
		if (!r.has_value())
			return make_error(r.error().code, fmt::format("operation {}: the default implementation failed: {}",
								      chain->name, r.error().message));
		inv.output = std::move(r).value();
	}
	for (const auto &h : chain->after)
		inv.output = TRY(run_hook(chain->name, Anchor::After, h.endpoint, h.plugin_operation, inv, deadline_));
	return std::move(inv.output);
}

std::vector<OperationInfo> Operations::list() const
{
	std::vector<OperationInfo> out;
	std::lock_guard lock(mutex_);
	for (const auto &[name, chain] : chains_) {
		OperationInfo info{name, {}};
		for (const auto &h : chain->before)
			info.anchors.push_back({Anchor::Before, h.endpoint->name(), h.plugin_operation});
		if (chain->define)
			info.anchors.push_back({Anchor::Define, chain->define->endpoint->name(), chain->define->plugin_operation});
		for (const auto &h : chain->after)
			info.anchors.push_back({Anchor::After, h.endpoint->name(), h.plugin_operation});
		out.push_back(std::move(info));
	}
	return out;
}

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// Session: one connection's Host and its named plugins.
#include "session.hpp"

#include <fmt/format.h>

#include <bulkhead/ext/endpoint.hpp>

namespace bulkhead::sqlite {

Result<std::unique_ptr<Session>> Session::create(HostOptions options)
{
	auto host = TRY(Host::create(std::move(options)));
	return std::unique_ptr<Session>(new Session(std::move(host)));
}

namespace {

Unexpected<Error> name_taken(std::string_view name)
{
	return make_error(ErrorCode::FailedPrecondition,
			  fmt::format("a plugin named '{}' is loaded already in this connection "
				      "(unload it, or give another name as the second argument)",
				      name));
}

Unexpected<Error> not_loaded(std::string_view name)
{
	return make_error(ErrorCode::NotFound,
			  fmt::format("no plugin named '{}' is loaded in this connection "
				      "(load it with bulkhead_load(path))",
				      name));
}

} // namespace

Result<std::string> Session::load(const std::string &path, std::optional<std::string> alias)
{
	if (alias) {
		if (alias->empty())
			return make_error(ErrorCode::InvalidArgument,
					  "a plugin's name cannot be empty");
		// Refused before a shim is spawned; checked again below, for
		// a concurrent load under the same name.
		std::lock_guard lock(mutex_);
		if (plugins_.contains(*alias))
			return name_taken(*alias);
	}
	Plugin plugin = TRY(host_->load(path));
	auto loaded = std::make_shared<Loaded>(
		Loaded{alias ? *alias : plugin.name(), plugin,
		       ext::Compression(ext::isolated(plugin), options().default_call_deadline)});
	{
		std::lock_guard lock(mutex_);
		if (plugins_.try_emplace(loaded->name, loaded).second)
			return loaded->name;
	}
	host_->unload(plugin);
	return name_taken(loaded->name);
}

Result<void> Session::unload(std::string_view name)
{
	std::shared_ptr<const Loaded> loaded;
	{
		std::lock_guard lock(mutex_);
		auto it = plugins_.find(name);
		if (it == plugins_.end())
			return not_loaded(name);
		loaded = it->second;
		plugins_.erase(it);
	}
	host_->unload(loaded->plugin);
	return {};
}

Result<std::shared_ptr<const Loaded>> Session::find(std::string_view name) const
{
	std::lock_guard lock(mutex_);
	if (auto it = plugins_.find(name); it != plugins_.end())
		return it->second;
	return not_loaded(name);
}

std::vector<std::shared_ptr<const Loaded>> Session::loaded() const
{
	std::lock_guard lock(mutex_);
	std::vector<std::shared_ptr<const Loaded>> out;
	out.reserve(plugins_.size());
	for (const auto &[name, loaded] : plugins_)
		out.push_back(loaded);
	return out;
}

} // namespace bulkhead::sqlite

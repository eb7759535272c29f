// SPDX-License-Identifier: Apache-2.0
// Extensions: what a database programs against. Loads plugins in
// dependency order into the registry, by category, and hands out the typed
// proxies; unloads refuse to strand dependents unless asked to cascade;
// shutdown stops everything in reverse dependency order and reports every
// error, not only the first.
//
// A plugin's categories and dependencies come from its signed manifest; a
// bare shared object (development mode) has neither, so its categories are
// read from the operations it lists ("storage.get" ...) and it depends on
// nothing.
//
// Threads: every member is thread-safe. The Host must outlive this.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/ext/compression.hpp>
#include <bulkhead/ext/dependency_graph.hpp>
#include <bulkhead/ext/index.hpp>
#include <bulkhead/ext/observability.hpp>
#include <bulkhead/ext/operations.hpp>
#include <bulkhead/ext/registry.hpp>
#include <bulkhead/ext/storage.hpp>
#include <bulkhead/host.hpp>

namespace bulkhead::ext {

namespace detail {
class InProcessEndpoint;
}

struct ExtensionOptions {
	LoadOptions load; // for every plugin of the call
	// Opt-in: a native bundle signed by a key in
	// HostOptions::first_party_keys runs in the host process. Everything
	// else stays isolated whatever this says.
	bool allow_in_process = false;
};

class Extensions {
public:
	explicit Extensions(Host &host);
	~Extensions(); // shutdown(), errors logged
	Extensions(const Extensions &) = delete;
	Extensions &operator=(const Extensions &) = delete;

	// Loads `plugins` (names as Host::load takes them) in dependency order;
	// their dependencies may be among them or loaded already. Nothing is
	// loaded when the graph is wrong (cycle, missing or incompatible
	// dependency, a name loaded already: each named); if one fails to
	// start, those this call started are stopped again. Returns the
	// plugin names, in the order they were loaded.
	Result<std::vector<std::string>> load(const std::vector<std::string> &plugins, ExtensionOptions options = {});

	// FailedPrecondition naming the dependents when others depend on it,
	// unless `cascade`: then they are stopped first, dependents first.
	// Errors of each stop are all reported.
	Result<void> unload(std::string_view name, bool cascade = false);
	// Everything, in reverse dependency order; every error reported.
	Result<void> shutdown();

	Registry &registry() { return registry_; }
	const Registry &registry() const { return registry_; }
	Operations &operations() { return operations_; }

	// The typed proxy of a registered plugin of that category: NotFound
	// for a name not registered, FailedPrecondition for another category.
	Result<Storage> storage(std::string_view name) const;
	Result<Index> index(std::string_view name) const;
	Result<Compression> compression(std::string_view name) const;
	// Every registered observability plugin, fanned out to. Proxies use
	// HostOptions::default_call_deadline.
	Observability observability() const;
	// The isolated plugin's handle (reload, kill, metrics): NotFound, or
	// FailedPrecondition for one running in process.
	Result<Plugin> plugin(std::string_view name) const;

private:
	struct Loaded {
		GraphNode node;
		std::shared_ptr<Endpoint> endpoint;
		std::optional<Plugin> plugin;                          // isolated ones
		std::shared_ptr<detail::InProcessEndpoint> in_process; // the others
		std::string key_id, payload_hash;                      // for their audit records
	};
	Result<std::shared_ptr<Endpoint>> entry_of(std::string_view name, std::string_view category) const;
	Result<Loaded> start(const std::string &source, const VerifiedPlugin &verified, const ExtensionOptions &options,
			     ExtensionInfo &info);
	// Stops one (under change_): registry, anchors, then the plugin.
	Result<void> stop(const std::string &name);
	std::vector<GraphNode> nodes() const; // under change_

	Host &host_;
	Registry registry_;
	Operations operations_;
	mutable std::mutex change_; // load, unload, shutdown: one at a time
	std::map<std::string, Loaded, std::less<>> loaded_;
};

} // namespace bulkhead::ext

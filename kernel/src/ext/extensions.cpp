// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/extensions.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>
#include <bulkhead/log.hpp>

#include "in_process.hpp"

namespace bulkhead::ext {

namespace {

constexpr std::string_view kCategories[] = {"storage", "index", "compression", "observability"};

// A bare file's categories: the prefixes of the category operations it
// lists; "operations" (custom) when it lists none.
std::vector<std::string> categories_of(const std::vector<std::string> &operations)
{
	std::vector<std::string> out;
	for (auto c : kCategories)
		for (const auto &op : operations)
			if (op.size() > c.size() && op.starts_with(c) && op[c.size()] == '.') {
				out.emplace_back(c);
				break;
			}
	if (out.empty())
		out.emplace_back("operations");
	return out;
}

// One error listing every failure; the first's code.
Result<void> all_of(std::string_view what, std::vector<Error> errors, std::size_t out_of)
{
	if (errors.empty())
		return {};
	std::string detail;
	for (const auto &e : errors)
		detail += fmt::format("{}{}", detail.empty() ? "" : "; ", e.message);
	return make_error(errors.front().code,
			  fmt::format("{}: {} of {} reported errors: {}", what, errors.size(), out_of, detail));
}

} // namespace

Extensions::Extensions(Host &host) : host_(host) {}

Extensions::~Extensions()
{
	if (auto r = shutdown(); !r.has_value())
		log::error("{}", r.error().message);
}

std::vector<GraphNode> Extensions::nodes() const
{
	std::vector<GraphNode> out;
	for (const auto &[name, l] : loaded_)
		out.push_back(l.node);
	return out;
}

Result<Extensions::Loaded> Extensions::start(const std::string &source, const VerifiedPlugin &verified,
					     const ExtensionOptions &options, ExtensionInfo &info)
{
	Loaded l;
	const auto &first_party = host_.options().first_party_keys;
	const bool trusted = !verified.key_id.empty() &&
			     std::find(first_party.begin(), first_party.end(), verified.key_id) != first_party.end();
	if (options.allow_in_process && trusted && verified.manifest && !verified.wasm) {
		auto ep = detail::InProcessEndpoint::load(verified, options.load.config);
		const std::string name = verified.manifest->name, version = verified.manifest->version.to_string();
		TRY(host_.audit({broker::AuditEvent::Load, name, version, verified.key_id, verified.payload_hash, 0,
				 ep.has_value() ? "ok" : "failed",
				 ep.has_value() ? fmt::format("in process, from {} (first-party key)", source)
						: ep.error().message}));
		if (!ep.has_value())
			return Unexpected(std::move(ep).error());
		l.in_process = ep.value();
		l.endpoint = ep.value();
		l.key_id = verified.key_id;
		l.payload_hash = verified.payload_hash;
		info.placement = Placement::InProcess;
		l.node.name = ep.value()->name();
		l.node.version = TRY(broker::Version::parse(ep.value()->version()));
	} else {
		if (options.allow_in_process && verified.manifest && !trusted)
			log::info("plugin {}: not signed by a first-party key; it runs isolated", source);
		auto plugin = TRY(host_.load(source, options.load));
		const auto pi = plugin.info();
		// Read again by load(): it must still be what the graph was
		// built from.
		if (verified.manifest && (pi.name != verified.manifest->name ||
					  pi.version != verified.manifest->version.to_string())) {
			(void)host_.stop(plugin);
			return make_error(ErrorCode::PermissionDenied,
					  fmt::format("plugin {} changed while loading: {} {} verified, {} {} started", source,
						      verified.manifest->name, verified.manifest->version.to_string(), pi.name,
						      pi.version));
		}
		l.node.name = pi.name;
		auto version = broker::Version::parse(pi.version);
		if (!version.has_value()) {
			(void)host_.stop(plugin);
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("plugin {} has version '{}', not semver: {}", pi.name, pi.version,
						      version.error().message));
		}
		l.node.version = version.value();
		l.endpoint = isolated(plugin);
		l.plugin = std::move(plugin);
		info.placement = Placement::Isolated;
	}
	if (verified.manifest)
		l.node.dependencies = verified.manifest->dependencies;
	info.name = l.node.name;
	info.version = l.node.version.to_string();
	if (info.categories.empty())
		info.categories = categories_of(l.endpoint->operations());
	return l;
}

Result<std::vector<std::string>> Extensions::load(const std::vector<std::string> &plugins, ExtensionOptions options)
{
	std::lock_guard lock(change_);
	// Verify all first: the graph is built from signed manifests.
	struct Pending {
		std::string source;
		VerifiedPlugin verified;
	};
	std::vector<Pending> pending;
	for (const auto &source : plugins)
		pending.push_back({source, TRY(host_.verify(source))});

	std::vector<GraphNode> graph = nodes();
	const std::size_t already = graph.size();
	std::vector<std::size_t> bare; // indices into pending, in the order given
	std::vector<std::size_t> graph_pending; // graph index - already -> pending index
	for (std::size_t i = 0; i < pending.size(); ++i) {
		const auto &m = pending[i].verified.manifest;
		if (!m) {
			bare.push_back(i);
			continue;
		}
		if (auto it = loaded_.find(m->name); it != loaded_.end())
			return make_error(ErrorCode::FailedPrecondition,
					  fmt::format("plugin {} is loaded already ({} {}); {} {} refused (reload to upgrade)",
						      m->name, it->second.node.name, it->second.node.version.to_string(),
						      m->name, m->version.to_string()));
		graph.push_back({m->name, m->version, m->dependencies});
		graph_pending.push_back(i);
	}
	auto order = TRY(load_order(graph));

	// Bare files first (they depend on nothing), then the graph's order.
	std::vector<std::size_t> sequence = bare;
	for (auto g : order)
		if (g >= already)
			sequence.push_back(graph_pending[g - already]);

	std::vector<std::string> started;
	for (auto i : sequence) {
		const auto &p = pending[i];
		ExtensionInfo info;
		if (const auto &m = p.verified.manifest) {
			info.description = m->description;
			info.author = m->author;
			info.categories = m->categories;
			info.capabilities = m->capabilities;
		}
		auto loaded = start(p.source, p.verified, options, info);
		Result<const Registry::Entry *> registered =
			loaded.has_value() ? registry_.add(info, loaded->endpoint)
					   : Result<const Registry::Entry *>(Unexpected(loaded.error()));
		if (loaded.has_value() && !registered.has_value()) {
			if (loaded->plugin)
				(void)host_.stop(*loaded->plugin);
			if (loaded->in_process)
				loaded->in_process->close();
		}
		if (!registered.has_value()) {
			// Undo this call: what it started, dependents first.
			std::vector<Error> undo;
			for (auto it = started.rbegin(); it != started.rend(); ++it)
				if (auto r = stop(*it); !r.has_value())
					undo.push_back(r.error());
			Error e = registered.error();
			e.message = fmt::format("loading {}: {}", p.source, e.message);
			if (!undo.empty())
				e.message += fmt::format(" (and stopping the {} loaded before it: {})", started.size(),
							 all_of("undo", undo, started.size()).error().message);
			return Unexpected(std::move(e));
		}
		started.push_back(loaded->node.name);
		loaded_.emplace(loaded->node.name, std::move(loaded).value());
	}
	return started;
}

Result<void> Extensions::stop(const std::string &name)
{
	auto it = loaded_.find(name);
	if (it == loaded_.end())
		return make_error(ErrorCode::NotFound, fmt::format("no plugin {} is loaded", name));
	(void)registry_.remove(name);
	operations_.detach(name);
	Loaded l = std::move(it->second);
	loaded_.erase(it);
	if (l.in_process) {
		l.in_process->close();
		return host_.audit({broker::AuditEvent::Unload, l.node.name, l.node.version.to_string(), l.key_id,
				    l.payload_hash, 0, "ok", "in process"});
	}
	return host_.stop(*l.plugin);
}

Result<void> Extensions::unload(std::string_view name, bool cascade)
{
	std::lock_guard lock(change_);
	if (!loaded_.count(name))
		return make_error(ErrorCode::NotFound, fmt::format("no plugin {} is loaded", name));
	const auto dependents = dependents_of(nodes(), name);
	if (!dependents.empty() && !cascade) {
		std::string list;
		for (const auto &d : dependents) {
			const auto &n = loaded_.find(d)->second.node;
			list += fmt::format("{}{} {}", list.empty() ? "" : ", ", n.name, n.version.to_string());
		}
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("cannot unload {}: {} depend{} on it (unload with cascade to stop {} first)",
					      name, list, dependents.size() == 1 ? "s" : "",
					      dependents.size() == 1 ? "it" : "them"));
	}
	std::vector<Error> errors;
	for (const auto &d : dependents)
		if (auto r = stop(d); !r.has_value())
			errors.push_back(r.error());
	if (auto r = stop(std::string(name)); !r.has_value())
		errors.push_back(r.error());
	return all_of(fmt::format("unloading {}", name), std::move(errors), dependents.size() + 1);
}

Result<void> Extensions::shutdown()
{
	std::lock_guard lock(change_);
	const auto graph = nodes();
	std::vector<std::string> sequence;
	if (auto order = load_order(graph); order.has_value())
		for (auto it = order->rbegin(); it != order->rend(); ++it)
			sequence.push_back(graph[*it].name);
	else
		for (const auto &n : graph)
			sequence.push_back(n.name);
	std::vector<Error> errors;
	for (const auto &name : sequence)
		if (auto r = stop(name); !r.has_value())
			errors.push_back(r.error());
	return all_of("shutdown", std::move(errors), sequence.size());
}

Result<std::shared_ptr<Endpoint>> Extensions::entry_of(std::string_view name, std::string_view category) const
{
	const auto *e = registry_.find(name);
	if (!e)
		return make_error(ErrorCode::NotFound, fmt::format("no extension named {} is registered", name));
	if (!e->in_category(category))
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("extension {} is not a {} plugin (its categories: {})", name, category,
					      fmt::join(e->info.categories, ", ")));
	return e->endpoint;
}

Result<Storage> Extensions::storage(std::string_view name) const
{
	return Storage(TRY(entry_of(name, "storage")), host_.options().default_call_deadline);
}

Result<Index> Extensions::index(std::string_view name) const
{
	return Index(TRY(entry_of(name, "index")), host_.options().default_call_deadline);
}

Result<Compression> Extensions::compression(std::string_view name) const
{
	return Compression(TRY(entry_of(name, "compression")), host_.options().default_call_deadline);
}

Observability Extensions::observability() const
{
	std::vector<Observability::Sink> sinks;
	for (const auto *e : registry_.in_category("observability"))
		sinks.push_back({e->info.name, e->endpoint});
	return Observability(std::move(sinks), host_.options().default_call_deadline);
}

Result<Plugin> Extensions::plugin(std::string_view name) const
{
	std::lock_guard lock(change_);
	auto it = loaded_.find(name);
	if (it == loaded_.end())
		return make_error(ErrorCode::NotFound, fmt::format("no plugin {} is loaded", name));
	if (!it->second.plugin)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} runs in process: it has no shim to handle", name));
	return *it->second.plugin;
}

} // namespace bulkhead::ext

// SPDX-License-Identifier: Apache-2.0
// Host: creating it, loading and unloading plugins.
#include <bulkhead/host.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/broker/instance.hpp>
#include <bulkhead/broker/supervisor.hpp>
#include <bulkhead/sandbox/cgroup.hpp>
#include <bulkhead/log.hpp>
#include <bulkhead/wasm/module_info.hpp>

#include "host_audit.hpp"
#include "retirer.hpp"
#include "route.hpp"

#ifndef BULKHEAD_DEFAULT_SHIM
#define BULKHEAD_DEFAULT_SHIM "/usr/local/libexec/bulkhead-shim"
#endif
#ifndef BULKHEAD_DEFAULT_WASM_SHIM
#define BULKHEAD_DEFAULT_WASM_SHIM "/usr/local/libexec/bulkhead-wasm-shim"
#endif

namespace bulkhead {

Result<std::unique_ptr<Host>> Host::create(HostOptions options)
{
	if (options.shim_path.empty()) {
		const char *env = std::getenv("BULKHEAD_SHIM");
		options.shim_path = env && *env ? env : BULKHEAD_DEFAULT_SHIM;
	}
	if (options.wasm_shim_path.empty()) {
		const char *env = std::getenv("BULKHEAD_WASM_SHIM");
		options.wasm_shim_path = env && *env ? env : BULKHEAD_DEFAULT_WASM_SHIM;
	}
	if (!ipc::valid(options.geometry))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("ring geometry {} cells x {} bytes: cells must be a "
					      "power of two in [2, 4096], cell bytes a multiple of "
					      "64 in [128, 1048576]",
					      options.geometry.cells, options.geometry.cell_bytes));
	std::optional<broker::PluginRoot> root;
	if (!options.plugin_root.empty())
		root = TRY(broker::PluginRoot::open(options.plugin_root));
	if (options.development_mode)
		log::warning("DEVELOPMENT MODE is on: unsigned plugins will load; never in production");
	std::shared_ptr<broker::AuditLog> audit;
	if (!options.audit_log.empty())
		audit = TRY(broker::AuditLog::open(options.audit_log));
	TRY(sandbox::validate(options.sandbox));
	// Cgroups of hosts that died without cleaning up (crash, SIGKILL).
	if (options.sandbox.mode == sandbox::SandboxMode::Enforced && options.sandbox.cgroups)
		sandbox::remove_stale_cgroups(options.sandbox.cgroup_parent);
	auto host = std::unique_ptr<Host>(new Host(std::move(options)));
	host->root_ = std::move(root);
	host->audit_ = std::move(audit);
	return host;
}

Host::Host(HostOptions options)
	: options_(std::move(options)), supervisor_(std::make_shared<broker::Supervisor>()),
	  retirer_(std::make_unique<detail::Retirer>())
{
	restarter_ = std::make_shared<detail::Restarter>(
		[this](std::shared_ptr<detail::Route> route) { schedule_restart(std::move(route)); });
}

Host::~Host()
{
	restarter_->close(); // no restart is scheduled from here on
	std::vector<std::shared_ptr<detail::Route>> all;
	{
		std::lock_guard lock(mutex_);
		all.swap(routes_);
	}
	for (auto &r : all) {
		// Under the route's lock, so a restart running on the retirer
		// thread either finishes first or sees the route unloaded.
		std::lock_guard change(r->change);
		r->unloaded.store(true);
		for (auto *slot : {&r->current, &r->standby})
			if (auto live = slot->exchange(nullptr))
				live->instance->shutdown();
	}
	retirer_.reset(); // runs the retirements still pending
	// Handlers may hold the last reference to an instance; once the
	// thread is joined, everything the instances own is released here,
	// before the destructor returns.
	supervisor_->stop();
	all.clear();
}

Result<Bytes> Host::read_plugin(const std::string &name) const
{
	if (root_)
		return root_->read(name);
	if (name.empty() || name.find('\0') != std::string::npos)
		return make_error(ErrorCode::InvalidArgument, "the plugin path is empty or holds a NUL byte");
	UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
	if (!fd.valid() && errno == ELOOP)
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("plugin {} refused: it is a symbolic link", name));
	if (!fd.valid())
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("plugin {}: {}", name, strerrordesc_np(errno)));
	return broker::read_whole(fd.get(), name);
}

namespace {

// The manifest's sandbox requests: capabilities ("network", "read_path:/p")
// join the load's, and its limits may only lower the host's.
Result<void> apply_manifest_sandbox(const broker::Manifest &m, broker::InstanceOptions &o)
{
	for (const auto &c : m.capabilities) {
		if (c == "network")
			o.capabilities.push_back({sandbox::Capability::Network, ""});
		else if (c.starts_with("read_path:"))
			o.capabilities.push_back({sandbox::Capability::ReadPath, c.substr(10)});
		else
			return make_error(ErrorCode::PermissionDenied,
					  fmt::format("plugin {} requests unknown capability '{}'", m.name, c));
	}
	if (m.limits.memory_bytes > 0)
		o.sandbox.memory_limit = std::min(o.sandbox.memory_limit, m.limits.memory_bytes);
	if (m.limits.pids > 0)
		o.sandbox.max_tasks = std::min(o.sandbox.max_tasks, std::max<std::uint32_t>(m.limits.pids, 4));
	if (m.limits.cpu_percent > 0 && (o.sandbox.cpu_percent == 0 || m.limits.cpu_percent < o.sandbox.cpu_percent))
		o.sandbox.cpu_percent = m.limits.cpu_percent;
	// A WebAssembly plugin's fuel budget: the manifest may set one, or
	// lower the host's, never raise it (docs/wasm.md §4).
	if (m.limits.fuel > 0)
		o.wasm.run.fuel = o.wasm.run.fuel ? std::min(*o.wasm.run.fuel, m.limits.fuel) : m.limits.fuel;
	return {};
}

} // namespace

Result<void> Host::audit(const broker::AuditRecord &record) const
{
	return detail::audit(audit_, record);
}

Result<VerifiedPlugin> Host::verify(const std::string &name) const
{
	VerifiedPlugin v;
	v.source = name;
	v.file = TRY(read_plugin(name));
	if (broker::looks_like_bundle(v.file)) {
		broker::VerifyPolicy policy{&options_.trust, options_.development_mode, broker::kHostPlatform};
		auto verified = TRY(broker::verify_bundle(v.file, policy, broker::VerifyDepth::SelectedPayload));
		if (!verified.is_signed())
			log::warning("DEVELOPMENT MODE: loading {}, an UNSIGNED bundle", name);
		v.key_id = verified.key_id;
		v.payload_hash = verified.payload_hash;
		v.payload_offset = static_cast<std::size_t>(verified.payload.data() - v.file.data());
		v.payload_size = verified.payload.size();
		v.wasm = verified.manifest.payloads[verified.payload_index].is_wasm();
		v.manifest = std::move(verified.manifest);
		return v;
	}
	if (!options_.development_mode)
		return make_error(ErrorCode::PermissionDenied,
				  "it is not a signed bundle (bare plugin files load only in development mode)");
	log::warning("DEVELOPMENT MODE: loading {}, a bare plugin file with no signature", name);
	v.payload_hash = broker::hex(broker::blake2b_256(v.file));
	v.payload_size = v.file.size();
	v.wasm = wasm::is_wasm(v.file);
	return v;
}

Result<std::shared_ptr<broker::Instance>> Host::start_instance(const std::string &name, LoadOptions load,
								const std::shared_ptr<detail::Route> &route,
								Bytes handed_state)
{
	broker::InstanceOptions o;
	o.shim_path = options_.shim_path;
	o.geometry = options_.geometry;
	o.host_wait.spin = options_.host_spin;
	o.shim_spin = options_.shim_spin;
	o.spare_shim = options_.spare_shim;
	o.start_deadline = options_.start_deadline;
	o.init_deadline = load.init_deadline.count() ? load.init_deadline : options_.init_deadline;
	o.shutdown_deadline = load.shutdown_deadline.count() ? load.shutdown_deadline : options_.shutdown_deadline;
	o.config = std::move(load.config);
	o.handed_state = std::move(handed_state);
	o.sandbox = options_.sandbox;
	o.output = options_.plugin_output;
	o.capabilities = std::move(load.capabilities);
	o.provenance.source = name;
	o.wasm.shim_path = options_.wasm_shim_path;
	o.wasm.cache_dir = options_.wasm_cache_dir;
	o.wasm.wasm2c = options_.wasm2c_path;
	o.wasm.cc = options_.wasm_cc_path;
	o.wasm.run = load.wasm ? *load.wasm : options_.wasm;
	o.wasm.progress = std::move(load.progress);

	// Read once; everything after works on these bytes.
	broker::SealedPayload payload;
	std::optional<broker::Manifest> manifest;
	broker::AuditRecord verify_record{broker::AuditEvent::Verify, name, "", "", "", 0, "ok", ""};
	auto prepared = [&]() -> Result<void> {
		auto v = TRY(verify(name));
		if (v.key_id.empty()) {
			verify_record.outcome = "unsigned";
			verify_record.detail = v.manifest ? "accepted in development mode"
							  : "a bare plugin file, accepted in development mode";
		}
		o.provenance.key_id = v.key_id;
		o.provenance.payload_hash = v.payload_hash;
		payload = TRY(broker::SealedPayload::seal(v.payload(), v.manifest ? v.manifest->name : name));
		if (v.manifest) {
			verify_record.plugin = v.manifest->name;
			verify_record.version = v.manifest->version.to_string();
			manifest = std::move(v.manifest);
		}
		return {};
	}();
	if (!prepared.has_value()) {
		Error e = std::move(prepared).error();
		if (e.message.find(name) == std::string::npos)
			e.message = fmt::format("plugin {}: {}", name, e.message);
		verify_record.outcome = "refused";
		verify_record.detail = e.message;
		detail::audit_or_log(audit_, verify_record);
		return Unexpected(std::move(e));
	}
	verify_record.key_id = o.provenance.key_id;
	verify_record.payload_hash = o.provenance.payload_hash;
	TRY(detail::audit(audit_, verify_record));
	// A first load walks the whole lifecycle (DESIGN.md §4); a restart or
	// a reload starts from the state its route is in.
	if (route->state.load() == PluginState::Installed) {
		route->name = verify_record.plugin;
		detail::set_state(*route, PluginState::Verified);
	}
	if (manifest)
		TRY(apply_manifest_sandbox(*manifest, o));

	std::uint64_t id;
	{
		std::lock_guard lock(mutex_);
		id = next_instance_++;
	}
	// Crashes and the host's kills reach the audit log from here, and a
	// new version that dies within its grace period is rolled back.
	o.on_exit = [audit = audit_, name = verify_record.plugin, version = verify_record.version,
		     key = o.provenance.key_id, hash = o.provenance.payload_hash, id,
		     weak = std::weak_ptr<detail::Route>(route),
		     restarter = std::weak_ptr<detail::Restarter>(restarter_)](const Error &e) {
		if (e.termination == Termination::HostRequest)
			return; // an unload or retirement, recorded there
		const bool killed = e.termination == Termination::Deadline || e.termination == Termination::Protocol ||
				    e.termination == Termination::SandboxViolation ||
				    e.termination == Termination::MemoryLimit;
		detail::audit_or_log(audit, {killed ? broker::AuditEvent::Kill : broker::AuditEvent::Crash,
					     e.plugin.empty() ? name : e.plugin, version, key, hash, id,
					     killed ? "killed" : "crashed", e.to_string()});
		auto r = weak.lock();
		if (r && detail::on_current_exit(*r, id, audit))
			if (auto rs = restarter.lock())
				rs->request(std::move(r));
	};
	o.on_death = [id, weak = std::weak_ptr<detail::Route>(route)](Termination why) {
		if (why == Termination::HostRequest)
			return;
		if (auto r = weak.lock())
			detail::on_current_death(*r, id);
	};
	if (route->state.load() == PluginState::Verified)
		detail::set_state(*route, PluginState::Starting);
	auto instance = broker::Instance::start(supervisor_, payload, o, id);
	if (!instance.has_value()) {
		detail::audit_or_log(audit_, {broker::AuditEvent::Load, verify_record.plugin, verify_record.version,
					      o.provenance.key_id, o.provenance.payload_hash, id, "failed",
					      instance.error().to_string()});
		return Unexpected(std::move(instance).error());
	}
	std::shared_ptr<broker::Instance> started = std::move(instance).value();
	// The signed manifest and the code must agree on what they are.
	std::optional<Error> refused;
	if (manifest && (started->name() != manifest->name ||
			 started->version() != manifest->version.to_string()))
		refused = Error{ErrorCode::PermissionDenied,
				fmt::format("bundle {} refused: its manifest names {} {}, its payload says it is {} {}",
					    name, manifest->name, manifest->version.to_string(), started->name(),
					    started->version())};
	if (!refused)
		if (auto pinged = started->ping(Deadline::after(o.init_deadline)); !pinged.has_value())
			refused = Error{ErrorCode::PluginFailed, fmt::format("plugin {} failed its first health ping: {}",
									  name, pinged.error().to_string())};
	auto recorded = detail::audit(audit_, detail::audit_record(broker::AuditEvent::Load, *started,
								   refused ? "refused" : "ok",
								   refused ? refused->message
									   : fmt::format("from {}, pid {}", name, started->pid())));
	if (!refused && !recorded.has_value())
		refused = recorded.error();
	if (refused) {
		started->kill(Termination::HostRequest, refused->message);
		started->wait_exit(options_.shutdown_deadline);
		return Unexpected(std::move(*refused));
	}
	return started;
}

Result<Plugin> Host::load(const std::string &name, LoadOptions load)
{
	auto route = std::make_shared<detail::Route>();
	route->audit = audit_;
	detail::Origin origin{name, load};
	auto started = start_instance(name, std::move(load), route);
	if (!started.has_value()) {
		// Past verification, the failed start is recorded as an end.
		if (route->state.load() != PluginState::Installed)
			detail::set_state(*route, PluginState::Stopped);
		return Unexpected(std::move(started).error());
	}
	auto instance = std::move(started).value();
	route->name = instance->name();
	route->current.store(std::make_shared<detail::Live>(std::move(instance), std::move(origin)));
	detail::set_state(*route, PluginState::Ready);
	{
		std::lock_guard lock(mutex_);
		routes_.push_back(route);
	}
	schedule_health(route);
	return Plugin(std::move(route), options_.default_call_deadline, audit_);
}

void Host::unload(const Plugin &plugin)
{
	(void)stop(plugin);
}

Result<void> Host::stop(const Plugin &plugin)
{
	const auto &route = plugin.route_;
	std::vector<std::string> problems;
	std::size_t erased;
	{
		std::lock_guard lock(mutex_);
		erased = std::erase(routes_, route);
	}
	std::lock_guard change(route->change);
	route->unloaded.store(true);
	detail::set_state(*route, PluginState::Draining);
	for (auto *slot : {&route->current, &route->standby}) {
		auto live = slot->load();
		if (!live)
			continue;
		const auto deadline = live->shutdown_deadline(options_);
		if (!live->drain(deadline)) {
			log::warning("plugin {}: calls still out after {} ms; stopping it anyway", route->name,
				     deadline.count());
			problems.push_back(fmt::format("instance {}: calls still out after {} ms of draining",
						       live->instance->id(), deadline.count()));
		}
		const bool was_alive = live->instance->alive();
		live->instance->shutdown();
		auto e = live->instance->exit_error();
		if (!was_alive && e && e->termination != Termination::HostRequest)
			problems.push_back(fmt::format("instance {} had ended already: {}", live->instance->id(),
						       e->to_string()));
		else if (was_alive && e && e->signal == SIGKILL)
			problems.push_back(fmt::format("instance {}: the shutdown hook did not finish within {} ms; killed",
						       live->instance->id(), deadline.count()));
		if (erased)
			detail::audit_or_log(audit_, detail::stop_record(*live->instance, was_alive, deadline,
									 e ? e->message : "stopped"));
	}
	detail::set_state(*route, PluginState::Stopped);
	if (problems.empty())
		return {};
	std::string all;
	for (const auto &p : problems)
		all += (all.empty() ? "" : "; ") + p;
	return make_error(ErrorCode::DeadlineExceeded, fmt::format("plugin {} stopped: {}", route->name, all));
}

std::vector<PluginInfo> Host::plugins() const
{
	std::vector<std::shared_ptr<detail::Route>> all;
	{
		std::lock_guard lock(mutex_);
		all = routes_;
	}
	std::vector<PluginInfo> out;
	for (auto &r : all)
		out.push_back(Plugin(r, options_.default_call_deadline, audit_).info());
	return out;
}

} // namespace bulkhead

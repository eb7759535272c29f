// SPDX-License-Identifier: Apache-2.0
// Host and Plugin: the embedding API over the broker.
#include <bulkhead/host.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/broker/instance.hpp>
#include <bulkhead/broker/supervisor.hpp>
#include <bulkhead/log.hpp>

#include "host_audit.hpp"

#ifndef BULKHEAD_DEFAULT_SHIM
#define BULKHEAD_DEFAULT_SHIM "/usr/local/libexec/bulkhead-shim"
#endif

namespace bulkhead {

Result<std::unique_ptr<Host>> Host::create(HostOptions options)
{
	if (options.shim_path.empty()) {
		const char *env = std::getenv("BULKHEAD_SHIM");
		options.shim_path = env && *env ? env : BULKHEAD_DEFAULT_SHIM;
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
	auto host = std::unique_ptr<Host>(new Host(std::move(options)));
	host->root_ = std::move(root);
	host->audit_ = std::move(audit);
	return host;
}

Host::Host(HostOptions options)
	: options_(std::move(options)), supervisor_(std::make_shared<broker::Supervisor>())
{
}

Host::~Host()
{
	std::vector<std::shared_ptr<broker::Instance>> all;
	{
		std::lock_guard lock(mutex_);
		all.swap(instances_);
	}
	for (auto &i : all)
		i->shutdown();
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

Result<Plugin> Host::load(const std::string &name, LoadOptions load)
{
	broker::InstanceOptions o;
	o.shim_path = options_.shim_path;
	o.geometry = options_.geometry;
	o.host_wait.spin = options_.host_spin;
	o.shim_spin = options_.shim_spin;
	o.start_deadline = options_.start_deadline;
	o.init_deadline = options_.init_deadline;
	o.shutdown_deadline = options_.shutdown_deadline;
	o.config = std::move(load.config);
	o.provenance.source = name;

	// Read once; everything after works on these bytes.
	broker::SealedPayload payload;
	std::optional<broker::Manifest> manifest;
	broker::AuditRecord verify_record{broker::AuditEvent::Verify, name, "", "", "", 0, "ok", ""};
	auto prepared = [&]() -> Result<void> {
		const Bytes file = TRY(read_plugin(name));
		if (broker::looks_like_bundle(file)) {
			broker::VerifyPolicy policy{&options_.trust, options_.development_mode, broker::kHostPlatform};
			auto verified = broker::verify_bundle(file, policy, broker::VerifyDepth::SelectedPayload);
			if (!verified.has_value())
				return Unexpected(std::move(verified).error());
			if (!verified->is_signed()) {
				log::warning("DEVELOPMENT MODE: loading {}, an UNSIGNED bundle", name);
				verify_record.outcome = "unsigned";
				verify_record.detail = "accepted in development mode";
			}
			o.provenance.key_id = verified->key_id;
			o.provenance.payload_hash = verified->payload_hash;
			payload = TRY(broker::SealedPayload::seal(verified->payload, verified->manifest.name));
			manifest = std::move(verified->manifest);
			verify_record.plugin = manifest->name;
			verify_record.version = manifest->version.to_string();
		} else if (options_.development_mode) {
			log::warning("DEVELOPMENT MODE: loading {}, a bare plugin file with no signature", name);
			o.provenance.payload_hash = broker::hex(broker::blake2b_256(file));
			payload = TRY(broker::SealedPayload::seal(file, name));
			verify_record.outcome = "unsigned";
			verify_record.detail = "a bare plugin file, accepted in development mode";
		} else {
			return make_error(ErrorCode::PermissionDenied,
					  "it is not a signed bundle (bare plugin files load only in development mode)");
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

	std::uint64_t id;
	{
		std::lock_guard lock(mutex_);
		id = next_instance_++;
	}
	// Crashes and the host's kills reach the audit log from here.
	o.on_exit = [audit = audit_, name = verify_record.plugin, version = verify_record.version,
		     key = o.provenance.key_id, hash = o.provenance.payload_hash, id](const Error &e) {
		if (e.termination == Termination::HostRequest)
			return; // an unload, recorded by unload()
		const bool killed = e.termination == Termination::Deadline || e.termination == Termination::Protocol;
		detail::audit_or_log(audit, {killed ? broker::AuditEvent::Kill : broker::AuditEvent::Crash,
					     e.plugin.empty() ? name : e.plugin, version, key, hash, id,
					     killed ? "killed" : "crashed", e.to_string()});
	};
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
	{
		std::lock_guard lock(mutex_);
		instances_.push_back(started);
	}
	return Plugin(std::move(started), options_.default_call_deadline, audit_);
}

void Host::unload(const Plugin &plugin)
{
	std::size_t erased;
	{
		std::lock_guard lock(mutex_);
		erased = std::erase(instances_, plugin.instance_);
	}
	plugin.instance_->shutdown();
	if (erased) {
		auto e = plugin.instance_->exit_error();
		detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Unload, *plugin.instance_, "ok",
								  e ? e->message : "stopped"));
	}
}

std::vector<PluginInfo> Host::plugins() const
{
	std::vector<std::shared_ptr<broker::Instance>> all;
	{
		std::lock_guard lock(mutex_);
		all = instances_;
	}
	std::vector<PluginInfo> out;
	for (auto &i : all)
		out.push_back(Plugin(i, options_.default_call_deadline, audit_).info());
	return out;
}

PluginInfo Plugin::info() const
{
	PluginInfo p;
	p.name = instance_->name();
	p.version = instance_->version();
	p.instance = instance_->id();
	p.pid = instance_->pid();
	p.operations = instance_->operations();
	p.max_payload = instance_->max_payload();
	p.alive = instance_->alive();
	p.ring_occupancy = instance_->ring_occupancy();
	p.source = instance_->provenance().source;
	p.key_id = instance_->provenance().key_id;
	p.payload_hash = instance_->provenance().payload_hash;
	return p;
}

const std::string &Plugin::name() const { return instance_->name(); }

Result<Bytes> Plugin::call(std::string_view op, ByteView payload, Deadline deadline) const
{
	const std::uint32_t index = TRY(instance_->operation(op));
	return instance_->call(index, payload, deadline);
}

Result<Bytes> Plugin::call(std::string_view op, ByteView payload) const
{
	return call(op, payload, Deadline::after(default_deadline_));
}

Result<PendingCall> Plugin::submit(std::string_view op, ByteView payload, Deadline deadline) const
{
	const std::uint32_t index = TRY(instance_->operation(op));
	ipc::Ticket ticket = TRY(instance_->submit(index, payload, deadline));
	return PendingCall(instance_, ticket, deadline);
}

PendingCall::PendingCall(PendingCall &&other) noexcept
	: instance_(std::move(other.instance_)), ticket_(other.ticket_), deadline_(other.deadline_)
{
}

PendingCall &PendingCall::operator=(PendingCall &&other) noexcept
{
	if (this != &other) {
		if (instance_)
			instance_->abandon(ticket_);
		instance_ = std::move(other.instance_);
		ticket_ = other.ticket_;
		deadline_ = other.deadline_;
	}
	return *this;
}

PendingCall::~PendingCall()
{
	if (instance_)
		instance_->abandon(ticket_);
}

Result<Bytes> PendingCall::wait()
{
	if (!instance_)
		return make_error(ErrorCode::InvalidArgument, "this call was already waited for");
	auto instance = std::move(instance_);
	return instance->wait(ticket_, deadline_);
}

void Plugin::submit_async(std::string_view op, ByteView payload, Deadline deadline,
			  std::function<void(Result<Bytes>)> done) const
{
	auto index = instance_->operation(op);
	if (!index.has_value()) {
		done(Unexpected(std::move(index).error()));
		return;
	}
	instance_->call_async(index.value(), payload, deadline, std::move(done));
}

bool Plugin::alive() const { return instance_->alive(); }
std::optional<Error> Plugin::exit_error() const { return instance_->exit_error(); }
void Plugin::kill() const
{
	if (instance_->alive())
		detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Kill, *instance_, "requested",
								  "Plugin::kill: SIGKILL on request"));
	instance_->kill(Termination::None);
}
bool Plugin::wait_exit(std::chrono::milliseconds timeout) const
{
	return instance_->wait_exit(timeout);
}

} // namespace bulkhead

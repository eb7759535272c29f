// SPDX-License-Identifier: Apache-2.0
// Host and Plugin: the embedding API over the broker.
#include <bulkhead/host.hpp>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include <bulkhead/broker/instance.hpp>
#include <bulkhead/broker/supervisor.hpp>

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
	return std::unique_ptr<Host>(new Host(std::move(options)));
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

Result<Plugin> Host::load(const std::string &path, LoadOptions load)
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
	o.wasm.shim_path = options_.wasm_shim_path;
	o.wasm.cache_dir = options_.wasm_cache_dir;
	o.wasm.wasm2c = options_.wasm2c_path;
	o.wasm.cc = options_.wasm_cc_path;
	o.wasm.run = load.wasm ? *load.wasm : options_.wasm;
	o.wasm.progress = std::move(load.progress);
	std::uint64_t id;
	{
		std::lock_guard lock(mutex_);
		id = next_instance_++;
	}
	auto payload = TRY(broker::SealedPayload::read_file(path));
	auto instance = TRY(broker::Instance::start(supervisor_, payload, o, id));
	{
		std::lock_guard lock(mutex_);
		instances_.push_back(instance);
	}
	return Plugin(std::move(instance), options_.default_call_deadline);
}

void Host::unload(const Plugin &plugin)
{
	{
		std::lock_guard lock(mutex_);
		std::erase(instances_, plugin.instance_);
	}
	plugin.instance_->shutdown();
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
		out.push_back(Plugin(i, options_.default_call_deadline).info());
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
	p.runtime = instance_->runtime();
	p.max_payload = instance_->max_payload();
	p.alive = instance_->alive();
	p.ring_occupancy = instance_->ring_occupancy();
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

Result<std::uint64_t> Plugin::fuel_remaining(Deadline deadline) const
{
	if (instance_->runtime() == "native")
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} is native: it has no fuel", instance_->name()));
	const Bytes b = TRY(call(wasm::kFuelOperation, {}, deadline));
	if (b.size() != 8)
		return make_error(ErrorCode::ProtocolViolation, "the fuel answer is not 8 bytes");
	std::uint64_t v = 0;
	for (int i = 7; i >= 0; --i)
		v = v << 8 | b[static_cast<std::size_t>(i)];
	return v;
}

bool Plugin::alive() const { return instance_->alive(); }
std::optional<Error> Plugin::exit_error() const { return instance_->exit_error(); }
void Plugin::kill() const { instance_->kill(Termination::None); }
bool Plugin::wait_exit(std::chrono::milliseconds timeout) const
{
	return instance_->wait_exit(timeout);
}

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// Plugin and PendingCall: calls through the router, each holding a lease on
// the instance it went to.
#include <bulkhead/host.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>

#include "host_audit.hpp"
#include "route.hpp"

namespace bulkhead {

const char *to_string(PluginState state)
{
	switch (state) {
	case PluginState::Installed: return "installed";
	case PluginState::Verified: return "verified";
	case PluginState::Starting: return "starting";
	case PluginState::Ready: return "ready";
	case PluginState::Draining: return "draining";
	case PluginState::Stopped: return "stopped";
	case PluginState::Crashed: return "crashed";
	case PluginState::Quarantined: return "quarantined";
	case PluginState::RolledBack: return "rolled-back";
	}
	return "unknown";
}

std::shared_ptr<broker::Instance> Plugin::serving() const
{
	auto live = route_->current.load();
	if (!live)
		live = route_->standby.load();
	return live ? live->instance : nullptr;
}

PluginInfo Plugin::info() const
{
	PluginInfo p;
	p.state = route_->state.load();
	p.restarts = route_->restarts.load();
	if (auto sb = route_->standby.load())
		p.standby_version = sb->instance->version();
	auto instance = serving();
	if (!instance) {
		p.name = route_->name;
		return p;
	}
	p.name = instance->name();
	p.version = instance->version();
	p.instance = instance->id();
	p.pid = instance->pid();
	p.operations = instance->operations();
	p.runtime = instance->runtime();
	p.max_payload = instance->max_payload();
	p.alive = instance->alive();
	p.ring_occupancy = instance->ring_occupancy();
	p.source = instance->provenance().source;
	p.key_id = instance->provenance().key_id;
	p.payload_hash = instance->provenance().payload_hash;
	return p;
}

const std::string &Plugin::name() const { return route_->name; }

namespace {

template <typename T>
void count(detail::Route &route, const Result<T> &r, Clock::time_point started)
{
	route.counters.record(r.has_value() ? nullptr : &r.error(), Clock::now() - started);
}

// utime, stime and rss of a process, from /proc/<pid>/stat.
void read_proc(int pid, PluginMetrics &m)
{
	std::ifstream in(fmt::format("/proc/{}/stat", pid));
	std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	const auto paren = stat.rfind(')');
	if (paren == std::string::npos)
		return;
	std::istringstream fields(stat.substr(paren + 2)); // from field 3
	std::string f;
	static const double tick_ns = 1e9 / static_cast<double>(::sysconf(_SC_CLK_TCK));
	static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
	for (int i = 3; i <= 24 && fields >> f; ++i) {
		if (i == 14)
			m.cpu_user = std::chrono::nanoseconds(static_cast<std::int64_t>(std::stod(f) * tick_ns));
		else if (i == 15)
			m.cpu_system = std::chrono::nanoseconds(static_cast<std::int64_t>(std::stod(f) * tick_ns));
		else if (i == 24)
			m.rss_bytes = std::stoull(f) * page;
	}
}

// CPU time of the plugin process, all its threads, from its cgroup v2
// group's cpu.stat (the mirror and pid 1, outside it, do next to nothing
// and are not counted): the scheduler's exact run time, which even a
// controller-less cgroup2 mount keeps. /proc's utime and stime are tick
// samples of one process, and a shim that serves in short bursts can show
// none. False when no group has one.
bool read_cgroup_cpu(const std::vector<std::string> &cgroups, PluginMetrics &m)
{
	for (const auto &c : cgroups) {
		std::ifstream in(c + "/cpu.stat");
		std::string key;
		std::uint64_t usec = 0;
		int found = 0;
		while (in >> key >> usec) {
			if (key == "user_usec") {
				m.cpu_user = std::chrono::microseconds(usec);
				++found;
			} else if (key == "system_usec") {
				m.cpu_system = std::chrono::microseconds(usec);
				++found;
			}
		}
		if (found == 2)
			return true;
	}
	return false;
}

} // namespace

PluginMetrics Plugin::metrics() const
{
	PluginMetrics m;
	route_->counters.fill(m);
	m.restarts = route_->restarts.load();
	if (auto i = serving(); i && i->alive()) {
		m.pid = i->pid();
		m.ring_occupancy = i->ring_occupancy();
		read_proc(m.pid, m);
		read_cgroup_cpu(i->sandbox().cgroups, m);
	}
	return m;
}

Result<Bytes> Plugin::call(std::string_view op, ByteView payload, Deadline deadline) const
{
	const auto started = Clock::now();
	auto live = detail::lease(*route_);
	if (!live.has_value()) {
		count(*route_, live, started);
		return Unexpected(std::move(live).error());
	}
	auto &instance = *live.value()->instance;
	auto index = instance.operation(op);
	auto r = index.has_value() ? instance.call(index.value(), payload, deadline)
				   : Result<Bytes>(Unexpected(std::move(index).error()));
	live.value()->release();
	count(*route_, r, started);
	return r;
}

Result<Bytes> Plugin::call(std::string_view op, ByteView payload) const
{
	return call(op, payload, Deadline::after(default_deadline_));
}

Result<PendingCall> Plugin::submit(std::string_view op, ByteView payload, Deadline deadline) const
{
	// A call refused before it is sent counts as a failed call, as in call().
	const auto started = Clock::now();
	auto leased = detail::lease(*route_);
	if (!leased.has_value()) {
		count(*route_, leased, started);
		return Unexpected(std::move(leased).error());
	}
	auto live = std::move(leased).value();
	auto index = live->instance->operation(op);
	auto ticket = index.has_value() ? live->instance->submit(index.value(), payload, deadline)
					: Result<ipc::Ticket>(Unexpected(std::move(index).error()));
	if (!ticket.has_value()) {
		live->release();
		count(*route_, ticket, started);
		return Unexpected(std::move(ticket).error());
	}
	return PendingCall(std::move(live), ticket.value(), deadline, route_);
}

void Plugin::submit_async(std::string_view op, ByteView payload, Deadline deadline,
			  std::function<void(Result<Bytes>)> done) const
{
	const auto started = Clock::now();
	auto live = detail::lease(*route_);
	if (!live.has_value()) {
		count(*route_, live, started);
		done(Unexpected(std::move(live).error()));
		return;
	}
	auto index = live.value()->instance->operation(op);
	if (!index.has_value()) {
		live.value()->release();
		count(*route_, index, started);
		done(Unexpected(std::move(index).error()));
		return;
	}
	auto held = live.value();
	held->instance->call_async(index.value(), payload, deadline,
				   [held, route = route_, started, done = std::move(done)](Result<Bytes> r) {
					   held->release();
					   count(*route, r, started);
					   done(std::move(r));
				   });
}

sandbox::SandboxReport Plugin::sandbox() const
{
	auto i = serving();
	return i ? i->sandbox() : sandbox::SandboxReport{};
}

Result<std::uint64_t> Plugin::fuel_remaining(Deadline deadline) const
{
	auto i = serving();
	if (i && i->runtime() == "native")
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} is native: it has no fuel", i->name()));
	const Bytes b = TRY(call(wasm::kFuelOperation, {}, deadline));
	if (b.size() != 8)
		return make_error(ErrorCode::ProtocolViolation, "the fuel answer is not 8 bytes");
	std::uint64_t v = 0;
	for (int k = 7; k >= 0; --k)
		v = v << 8 | b[static_cast<std::size_t>(k)];
	return v;
}

bool Plugin::alive() const
{
	auto i = serving();
	return i && i->alive();
}

std::optional<Error> Plugin::exit_error() const
{
	auto i = serving();
	return i ? i->exit_error() : std::nullopt;
}

void Plugin::kill() const
{
	auto i = serving();
	if (!i)
		return;
	if (i->alive())
		detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Kill, *i, "requested",
								  "Plugin::kill: SIGKILL on request"));
	i->kill(Termination::None);
}

bool Plugin::wait_exit(std::chrono::milliseconds timeout) const
{
	auto i = serving();
	return !i || i->wait_exit(timeout);
}

void PendingCall::finish()
{
	if (live_) {
		live_->release();
		live_.reset();
	}
}

PendingCall::PendingCall(PendingCall &&other) noexcept
	: live_(std::move(other.live_)), ticket_(other.ticket_), deadline_(other.deadline_),
	  route_(std::move(other.route_)), started_(other.started_)
{
}

PendingCall &PendingCall::operator=(PendingCall &&other) noexcept
{
	if (this != &other) {
		if (live_)
			live_->instance->abandon(ticket_);
		finish();
		live_ = std::move(other.live_);
		ticket_ = other.ticket_;
		deadline_ = other.deadline_;
		route_ = std::move(other.route_);
		started_ = other.started_;
	}
	return *this;
}

PendingCall::~PendingCall()
{
	if (live_)
		live_->instance->abandon(ticket_);
	finish();
}

Result<Bytes> PendingCall::wait()
{
	if (!live_)
		return make_error(ErrorCode::InvalidArgument, "this call was already waited for");
	auto r = live_->instance->wait(ticket_, deadline_);
	finish();
	if (route_)
		count(*route_, r, started_);
	return r;
}

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// Hot reload, rollback and retirement: swapping the instance a plugin's
// calls go to, and stopping the ones no longer serving once drained.
#include <bulkhead/host.hpp>

#include <csignal>

#include <fmt/format.h>

#include <bulkhead/broker/supervisor.hpp>
#include <bulkhead/log.hpp>

#include "host_audit.hpp"
#include "retirer.hpp"
#include "route.hpp"

namespace bulkhead {

namespace detail {

void set_state(Route &route, PluginState state)
{
	PluginState was = route.state.exchange(state);
	if (was == state)
		return;
	log::info("plugin {}: {} -> {}", route.name, to_string(was), to_string(state));
	const std::string transition = fmt::format("{} -> {}", to_string(was), to_string(state));
	if (auto current = route.current.load())
		audit_or_log(route.audit, audit_record(broker::AuditEvent::State, *current->instance, "ok",
						       transition));
	else
		audit_or_log(route.audit, {broker::AuditEvent::State, route.name, "", "", "", 0, "ok", transition});
}

broker::AuditRecord stop_record(const broker::Instance &instance, bool was_alive,
				std::chrono::milliseconds deadline, std::string detail)
{
	// A shim that ran its hook exits with status 0; SIGKILL after a
	// shutdown request is the host's at the deadline.
	const auto e = instance.exit_error();
	if (was_alive && e && e->signal == SIGKILL) {
		log::error("plugin {} instance {}: the shutdown hook did not finish within {} ms; killed",
			   instance.name(), instance.id(), deadline.count());
		return audit_record(broker::AuditEvent::Unload, instance, "killed",
				    fmt::format("the shutdown hook did not finish within {} ms; the shim was "
						"killed ({})",
						deadline.count(), detail));
	}
	return audit_record(broker::AuditEvent::Unload, instance, "ok", std::move(detail));
}

namespace {

// Makes the live standby serve instead of `current`; null when there is
// none to swap to, or `current` no longer serves.
std::shared_ptr<Live> swap_in_standby(Route &route, std::shared_ptr<Live> current)
{
	auto standby = route.standby.load();
	if (!standby || !standby->instance->alive() || standby->draining() ||
	    !route.standby.compare_exchange_strong(standby, nullptr))
		return nullptr;
	// SYNC POINT: the swap back; every call that leases after it goes
	// to the standby.
	if (route.current.compare_exchange_strong(current, standby))
		return standby;
	std::shared_ptr<Live> none;
	route.standby.compare_exchange_strong(none, standby); // lost a race: keep it warm
	return nullptr;
}

// `serving`: `to` still serves (no reload came since the swap), so the
// plugin's state is RolledBack; the swap is recorded either way.
void record_rollback(Route &route, const Live &from, const Live &to, bool serving,
		     const std::shared_ptr<broker::AuditLog> &audit)
{
	if (serving)
		set_state(route, PluginState::RolledBack);
	log::warning("plugin {}: version {} died within its grace period; rolled back to {}", route.name,
		     from.instance->version(), to.instance->version());
	audit_or_log(audit, audit_record(broker::AuditEvent::Rollback, *to.instance, "ok",
					 fmt::format("automatic: version {} (instance {}) died within its "
						     "grace period",
						     from.instance->version(), from.instance->id())));
}

} // namespace

void on_current_death(Route &route, std::uint64_t id)
{
	auto current = route.current.load();
	if (!current || current->instance->id() != id || route.unloaded.load())
		return;
	if (auto standby = swap_in_standby(route, current))
		route.rolled_back.store(std::make_shared<const Route::RolledBack>(Route::RolledBack{current, standby}));
}

bool on_current_exit(Route &route, std::uint64_t id, const std::shared_ptr<broker::AuditLog> &audit)
{
	// Swapped back the moment it died (on_current_death): record it now.
	auto swapped = route.rolled_back.load();
	if (swapped && swapped->from->instance->id() == id &&
	    route.rolled_back.compare_exchange_strong(swapped, nullptr)) {
		if (!route.unloaded.load())
			record_rollback(route, *swapped->from, *swapped->to, route.current.load() == swapped->to,
					audit);
		return false;
	}
	if (route.unloaded.load())
		return false;
	auto current = route.current.load();
	if (!current || current->instance->id() != id)
		return false;
	if (auto standby = swap_in_standby(route, current)) {
		record_rollback(route, *current, *standby, true, audit);
		return false;
	}
	set_state(route, PluginState::Crashed);
	return true;
}

} // namespace detail

void Host::retire(std::shared_ptr<detail::Route> route, std::shared_ptr<detail::Live> live,
		  std::chrono::steady_clock::time_point when, std::string why)
{
	retirer_->at(when, [this, route = std::move(route), live = std::move(live), why = std::move(why)] {
		// Rolled back to meanwhile: it serves again, leave it.
		if (route->current.load() == live)
			return;
		auto expected = live;
		route->standby.compare_exchange_strong(expected, nullptr);
		const auto deadline = live->shutdown_deadline(options_);
		if (!live->drain(deadline))
			log::warning("plugin {} instance {}: calls still out after {} ms; stopping it anyway",
				     route->name, live->instance->id(), deadline.count());
		const bool was_alive = live->instance->alive();
		live->instance->shutdown();
		if (was_alive)
			detail::audit_or_log(audit_, detail::stop_record(*live->instance, was_alive, deadline, why));
	});
}

Result<void> Host::reload(const Plugin &plugin, const std::string &name, LoadOptions load)
{
	const auto &route = plugin.route_;
	std::lock_guard change(route->change);
	if (route->unloaded.load())
		return make_error(ErrorCode::FailedPrecondition, fmt::format("plugin {} is unloaded", route->name));
	auto old = route->current.load();
	const std::string from = old ? old->instance->version() : "none";

	detail::Origin origin{name, load};
	// The reload hook: the serving version hands its state to the new
	// one's init. A dead one has none to give.
	Bytes state;
	if (old && old->instance->alive()) {
		const auto hook = load.reload_deadline.count() ? load.reload_deadline : options_.reload_deadline;
		auto exported = old->instance->export_state(Deadline::after(hook), options_.max_handed_state);
		if (!exported.has_value()) {
			Error e = std::move(exported).error();
			if (e.code == ErrorCode::DeadlineExceeded || e.termination == Termination::Deadline)
				e.message = fmt::format("the reload hook (export_state) of version {} did not finish "
							"within {} ms; that instance was killed: {}",
							from, hook.count(), e.message);
			else
				e.message = fmt::format("version {} could not export its state: {}", from, e.message);
			detail::audit_or_log(audit_, {broker::AuditEvent::Reload, route->name, "", "", "", 0, "failed",
						      fmt::format("{}: nothing swapped: {}", name, e.to_string())});
			return Unexpected(std::move(e));
		}
		state = std::move(exported).value();
	}
	auto started = start_instance(name, std::move(load), route, std::move(state));
	if (!started.has_value()) {
		Error e = std::move(started).error();
		detail::audit_or_log(audit_, {broker::AuditEvent::Reload, route->name, "", "", "", 0, "failed",
					      fmt::format("{}: nothing swapped: {}", name, e.to_string())});
		return Unexpected(std::move(e));
	}
	auto fresh = std::make_shared<detail::Live>(std::move(started).value(), std::move(origin));
	if (old && fresh->instance->name() != old->instance->name()) {
		Error e{ErrorCode::InvalidArgument,
			fmt::format("{} is plugin {}, not {}: nothing swapped", name, fresh->instance->name(),
				    old->instance->name())};
		fresh->instance->shutdown();
		return Unexpected(std::move(e));
	}

	// SYNC POINT: the swap. A call that leased `old` before it finishes
	// there; every later one goes to `fresh`.
	route->current.store(fresh);
	route->counters.add_reload();
	{
		// A new version starts with a clean record: the circuit breaker
		// counts its crashes, not the ones of the version it replaced.
		std::lock_guard lock(route->crash_mutex);
		route->crashes.clear();
	}
	auto previous_standby = route->standby.exchange(old && old->instance->alive() ? old : nullptr);
	detail::set_state(*route, PluginState::Ready);
	detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Reload, *fresh->instance, "ok",
							  fmt::format("{} -> {} from {}", from,
								      fresh->instance->version(), name)));
	log::info("plugin {}: reloaded {} -> {} (instance {})", route->name, from, fresh->instance->version(),
		  fresh->instance->id());
	const auto now = std::chrono::steady_clock::now();
	if (previous_standby)
		retire(route, previous_standby, now, "replaced as standby by a newer reload");
	if (old)
		retire(route, old, now + options_.reload_grace, "retired after the reload grace period");
	// Died between its start and the swap: roll back now.
	if (!fresh->instance->alive() && detail::on_current_exit(*route, fresh->instance->id(), audit_))
		schedule_restart(route);
	return {};
}

Result<void> Host::rollback(const Plugin &plugin)
{
	const auto &route = plugin.route_;
	std::lock_guard change(route->change);
	auto standby = route->standby.load();
	if (!standby || !standby->instance->alive() || standby->draining())
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {} has no warm standby to roll back to", route->name));
	route->standby.store(nullptr);
	auto replaced = route->current.exchange(standby);
	detail::set_state(*route, PluginState::RolledBack);
	detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Rollback, *standby->instance, "ok",
							  fmt::format("requested: {} -> {}",
								      replaced ? replaced->instance->version() : "none",
								      standby->instance->version())));
	if (replaced)
		retire(route, replaced, std::chrono::steady_clock::now(), "replaced by a rollback");
	return {};
}

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// Hot reload, rollback and retirement: swapping the instance a plugin's
// calls go to, and stopping the ones no longer serving once drained.
#include <bulkhead/host.hpp>

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

bool on_current_exit(Route &route, std::uint64_t id, const std::shared_ptr<broker::AuditLog> &audit)
{
	auto current = route.current.load();
	if (!current || current->instance->id() != id || route.unloaded.load())
		return false;
	auto standby = route.standby.load();
	if (standby && standby->instance->alive() && !standby->draining() &&
	    route.standby.compare_exchange_strong(standby, nullptr) &&
	    route.current.compare_exchange_strong(current, standby)) {
		set_state(route, PluginState::RolledBack);
		log::warning("plugin {}: version {} died within its grace period; rolled back to {}", route.name,
			     current->instance->version(), standby->instance->version());
		audit_or_log(audit, audit_record(broker::AuditEvent::Rollback, *standby->instance, "ok",
						 fmt::format("automatic: version {} (instance {}) died within its "
							     "grace period",
							     current->instance->version(), id)));
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
		if (!live->drain(options_.shutdown_deadline))
			log::warning("plugin {} instance {}: calls still out after {} ms; stopping it anyway",
				     route->name, live->instance->id(), options_.shutdown_deadline.count());
		const bool was_alive = live->instance->alive();
		live->instance->shutdown();
		if (was_alive)
			detail::audit_or_log(audit_, detail::audit_record(broker::AuditEvent::Unload, *live->instance,
									  "ok", why));
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

	const LoadOptions again = load;
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
	auto fresh = std::make_shared<detail::Live>(std::move(started).value());
	route->source = name;
	route->load = again;
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

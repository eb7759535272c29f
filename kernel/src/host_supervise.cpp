// SPDX-License-Identifier: Apache-2.0
// Supervision: restarting a plugin whose instance died, with exponential
// back-off and jitter, and the circuit breaker that quarantines it.
#include <bulkhead/host.hpp>

#include <cmath>
#include <random>

#include <fmt/format.h>

#include <bulkhead/log.hpp>

#include "host_audit.hpp"
#include "retirer.hpp"
#include "route.hpp"

namespace bulkhead {

namespace {

double jitter_factor(double jitter)
{
	thread_local std::mt19937_64 rng{std::random_device{}()};
	std::uniform_real_distribution<double> d(1.0 - jitter, 1.0 + jitter);
	return d(rng);
}

} // namespace

void Host::schedule_restart(std::shared_ptr<detail::Route> route)
{
	const RestartPolicy &policy = options_.restart;
	if (!policy.enabled || route->unloaded.load())
		return;
	const auto now = std::chrono::steady_clock::now();
	std::size_t deaths;
	{
		std::lock_guard lock(route->crash_mutex);
		route->crashes.push_back(now);
		while (!route->crashes.empty() && now - route->crashes.front() > policy.crash_window)
			route->crashes.pop_front();
		deaths = route->crashes.size();
	}
	if (deaths >= policy.max_crashes) {
		detail::set_state(*route, PluginState::Quarantined);
		const std::string why = fmt::format("{} deaths within {} ms: circuit open, no more restarts until "
						    "a reload", deaths, policy.crash_window.count());
		log::error("plugin {} quarantined: {}", route->name, why);
		detail::audit_or_log(audit_, {broker::AuditEvent::Crash, route->name, "", "", "", 0, "quarantined", why});
		return;
	}
	// initial, 2x, 4x ... capped; then scaled by the jitter so restarts of
	// many plugins that died together spread out.
	const double base = static_cast<double>(policy.initial_backoff.count()) *
			    std::pow(2.0, static_cast<double>(deaths - 1));
	const double capped = std::min(base, static_cast<double>(policy.max_backoff.count()));
	const auto delay = std::chrono::milliseconds(
		static_cast<std::int64_t>(capped * jitter_factor(std::clamp(policy.jitter, 0.0, 1.0))));
	log::info("plugin {}: restart {} in {} ms", route->name, deaths, delay.count());
	retirer_->at(now + delay, [this, route] { restart(route); });
}

void Host::restart(const std::shared_ptr<detail::Route> &route)
{
	std::lock_guard change(route->change);
	// Unloaded, reloaded or rolled back meanwhile: nothing to do.
	if (route->unloaded.load() || route->state.load() != PluginState::Crashed)
		return;
	// What died is started again: after a rollback that is the version
	// rolled back to, never the one it rejected.
	const auto dead = route->current.load();
	if (!dead)
		return;
	const detail::Origin origin = dead->origin;
	detail::set_state(*route, PluginState::Starting);
	auto started = start_instance(origin.source, origin.load, route);
	if (!started.has_value()) {
		log::warning("plugin {}: restart failed: {}", route->name, started.error().to_string());
		detail::set_state(*route, PluginState::Crashed);
		schedule_restart(route);
		return;
	}
	// The instance just started is checked, not whatever the slot holds
	// by the time of the check.
	auto live = std::make_shared<detail::Live>(std::move(started).value(), origin);
	route->current.store(live);
	route->restarts.fetch_add(1);
	detail::set_state(*route, PluginState::Ready);
	// Died between its start and the swap.
	if (!live->instance->alive() && detail::on_current_exit(*route, live->instance->id(), audit_))
		schedule_restart(route);
}

void Host::schedule_health(std::weak_ptr<detail::Route> weak)
{
	if (options_.health_interval.count() <= 0)
		return;
	retirer_->at(std::chrono::steady_clock::now() + options_.health_interval, [this, weak] {
		auto route = weak.lock();
		if (!route || route->unloaded.load())
			return; // unloaded, or the host is going: no more pings
		auto live = route->current.load();
		if (live && live->instance->alive() && live->idle() && !live->draining()) {
			auto instance = live->instance;
			instance->ping_async(Deadline::after(options_.health_timeout),
					     [instance](Result<void> r) {
						     if (!r.has_value())
							     log::warning("plugin {} instance {} failed its health ping: {}",
									  instance->name(), instance->id(),
									  r.error().to_string());
					     });
		}
		schedule_health(weak);
	});
}

} // namespace bulkhead

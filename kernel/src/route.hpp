// SPDX-License-Identifier: Apache-2.0
// The router's view of a plugin: which instance serves it now (swapped
// atomically on reload and rollback), the warm standby a reload keeps, and
// the leases calls hold so an instance can be drained before it stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include <bulkhead/broker/audit_log.hpp>
#include <bulkhead/broker/instance.hpp>
#include <bulkhead/host_options.hpp>
#include <bulkhead/metrics.hpp>

namespace bulkhead::detail {

// What an instance was started from: a restart after it dies starts the
// same again, so a rollback also rolls back what the supervisor restarts.
struct Origin {
	std::string source;
	LoadOptions load;
};

// One instance as the router sees it. A call takes a lease before it
// submits and gives it back once answered; drain() refuses new leases and
// waits for the ones out.
class Live {
public:
	Live(std::shared_ptr<broker::Instance> i, Origin o) : instance(std::move(i)), origin(std::move(o)) {}

	const std::shared_ptr<broker::Instance> instance;
	const Origin origin;
	// Its shutdown hook's deadline: the load's own, else the host's.
	std::chrono::milliseconds shutdown_deadline(const HostOptions &host) const
	{
		return origin.load.shutdown_deadline.count() ? origin.load.shutdown_deadline : host.shutdown_deadline;
	}

	// SYNC POINT: Dekker with drain(): a lease taken after draining is
	// seen is given back; one taken before is waited for.
	bool acquire()
	{
		users_.fetch_add(1, std::memory_order_seq_cst);
		if (draining_.load(std::memory_order_seq_cst)) {
			release();
			return false;
		}
		return true;
	}
	void release()
	{
		if (users_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
		    draining_.load(std::memory_order_seq_cst)) {
			std::lock_guard lock(mutex_);
			drained_.notify_all();
		}
	}
	bool draining() const { return draining_.load(std::memory_order_acquire); }
	bool idle() const { return users_.load(std::memory_order_relaxed) == 0; }
	// True when every lease came back within `timeout`.
	bool drain(std::chrono::milliseconds timeout)
	{
		draining_.store(true, std::memory_order_seq_cst);
		std::unique_lock lock(mutex_);
		return drained_.wait_for(lock, timeout, [this] { return users_.load() == 0; });
	}

private:
	std::atomic<int> users_{0};
	std::atomic<bool> draining_{false};
	std::mutex mutex_;
	std::condition_variable drained_;
};

struct Route {
	// The plugin's own name, set once before the route is shared.
	std::string name;
	std::atomic<std::shared_ptr<Live>> current;
	// The version a reload replaced, kept warm for the grace period.
	std::atomic<std::shared_ptr<Live>> standby;
	// The swap on_current_death made, until on_current_exit records it
	// (both on the supervisor thread, for one instance in that order).
	struct RolledBack {
		std::shared_ptr<Live> from, to;
	};
	std::atomic<std::shared_ptr<const RolledBack>> rolled_back;
	std::atomic<PluginState> state{PluginState::Installed};
	std::atomic<bool> unloaded{false};
	// One reload, rollback, restart or unload at a time. Never taken on
	// the supervisor thread (instance starts wait for that thread).
	std::mutex change;

	std::atomic<std::uint64_t> restarts{0};
	CallCounters counters;
	// Where set_state records each transition; null without an audit log.
	std::shared_ptr<broker::AuditLog> audit;
	// Deaths within the restart policy's window, for back-off and the
	// circuit breaker; under crash_mutex, which the supervisor thread may take.
	std::mutex crash_mutex;
	std::deque<std::chrono::steady_clock::time_point> crashes;
};

// Lets exit watchers ask the Host for a restart without outliving it: the
// Host closes it before it goes.
class Restarter {
public:
	explicit Restarter(std::function<void(std::shared_ptr<Route>)> schedule) : schedule_(std::move(schedule)) {}
	void request(std::shared_ptr<Route> route)
	{
		std::lock_guard lock(mutex_);
		if (schedule_)
			schedule_(std::move(route));
	}
	void close()
	{
		std::lock_guard lock(mutex_);
		schedule_ = nullptr;
	}

private:
	std::mutex mutex_;
	std::function<void(std::shared_ptr<Route>)> schedule_;
};

// A lease on whatever instance serves `route` now; retries when a swap
// races the lease. Unavailable once the plugin is unloaded.
inline Result<std::shared_ptr<Live>> lease(Route &route)
{
	for (;;) {
		std::shared_ptr<Live> live = route.current.load();
		if (live && live->acquire())
			return live;
		if (route.unloaded.load() || !live || live == route.current.load()) {
			Error e{ErrorCode::Unavailable, fmt::format("plugin {} is unloaded", route.name)};
			e.plugin = route.name;
			e.termination = Termination::HostRequest;
			return Unexpected(std::move(e));
		}
	}
}

// The audit record of a stop that shutdown() has finished: "ok", or
// "killed" when the instance was alive and its shutdown hook overran
// `deadline`, so the shim had to be killed (the hook's failure).
broker::AuditRecord stop_record(const broker::Instance &instance, bool was_alive,
				std::chrono::milliseconds deadline, std::string detail);

// Logs a state change (every transition is visible, DESIGN.md §4).
void set_state(Route &route, PluginState state);

// On the supervisor thread, the moment instance `id` of `route` is reaped
// after ending unasked, before the broker's clean-up: if it was serving and
// a warm standby is alive, the router swaps back to it now (atomics only;
// on_current_exit records it). Keeps rollback off the cgroup removal.
void on_current_death(Route &route, std::uint64_t id);

// Called when instance `id` of `route` has ended unasked: if it was serving
// and a warm standby is alive, the router swaps back to it (automatic
// rollback, recorded); otherwise the plugin is Crashed and the result is
// true: restart it.
bool on_current_exit(Route &route, std::uint64_t id, const std::shared_ptr<broker::AuditLog> &audit);

} // namespace bulkhead::detail

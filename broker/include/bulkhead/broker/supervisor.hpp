// SPDX-License-Identifier: Apache-2.0
// Supervisor: the broker's one long-lived thread, running a Boost.Asio
// io_context that watches every shim (pidfd, control socket, async-completion
// eventfd) and fires async-call deadlines. Shims are spawned from this thread
// because PR_SET_PDEATHSIG follows the spawning thread.
#pragma once

#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <bulkhead/broker/death_watch.hpp>
#include <bulkhead/broker/spare_shim.hpp>

namespace bulkhead::broker {

class Supervisor {
public:
	Supervisor();
	~Supervisor();
	Supervisor(const Supervisor &) = delete;
	Supervisor &operator=(const Supervisor &) = delete;

	boost::asio::io_context &io() { return io_; }
	// Every instance's early death notice, on a thread of its own.
	DeathWatch &death_watch() { return death_watch_; }
	// Stops the thread and waits for it; no handler runs afterwards.
	// Idempotent. The owner calls it so that teardown is synchronous.
	void stop();
	bool on_supervisor_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

	// Runs `f` on the supervisor thread and returns its result.
	template<typename F>
	auto run_sync(F &&f) -> std::invoke_result_t<F>
	{
		if (on_supervisor_thread())
			return f();
		std::packaged_task<std::invoke_result_t<F>()> task(std::forward<F>(f));
		auto result = task.get_future();
		boost::asio::post(io_, [&task] { task(); });
		return result.get();
	}

	// The spare shim of `executable`, if one is ready and still alive; a
	// start that takes it should call refill_spare() once it has its own
	// process. Any thread.
	std::optional<SpareShim> take_spare(const std::string &executable);
	// Spawns a spare of `executable` in the background, unless one is
	// there already: on a thread of its own, which lives as long as this
	// one (PR_SET_PDEATHSIG), so that a spawn (a millisecond or two here)
	// never delays the death watch this thread keeps. A spawn that fails
	// is logged (debug) and leaves no spare: the next start spawns as if
	// spares were off.
	void refill_spare(const std::string &executable);

private:
	boost::asio::io_context io_;
	boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
	std::thread thread_;
	DeathWatch death_watch_;

	std::mutex spare_mutex_;
	std::optional<SpareShim> spare_; // killed and reaped when destroyed
	bool refilling_ = false;
	boost::asio::io_context spare_io_;
	boost::asio::executor_work_guard<boost::asio::io_context::executor_type> spare_work_;
	std::thread spare_thread_;
};

} // namespace bulkhead::broker

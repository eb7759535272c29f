// SPDX-License-Identifier: Apache-2.0
// Retirer: one thread that runs timed clean-up — draining and stopping the
// instances a reload or rollback replaced — off the caller's thread and
// off the supervisor thread (a shutdown waits for the supervisor).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace bulkhead::detail {

class Retirer {
public:
	using Clock = std::chrono::steady_clock;

	Retirer() : thread_([this] { run(); }) {}
	// Runs whatever is still pending, now, then joins.
	~Retirer()
	{
		{
			std::lock_guard lock(mutex_);
			stop_ = true;
		}
		wake_.notify_all();
		thread_.join();
	}
	Retirer(const Retirer &) = delete;
	Retirer &operator=(const Retirer &) = delete;

	void at(Clock::time_point when, std::function<void()> task)
	{
		{
			std::lock_guard lock(mutex_);
			tasks_.emplace(when, std::move(task));
		}
		wake_.notify_all();
	}

private:
	void run()
	{
		std::unique_lock lock(mutex_);
		for (;;) {
			if (tasks_.empty() && stop_)
				return;
			if (tasks_.empty()) {
				wake_.wait(lock);
				continue;
			}
			auto next = tasks_.begin();
			if (!stop_ && next->first > Clock::now()) {
				wake_.wait_until(lock, next->first);
				continue;
			}
			auto task = std::move(next->second);
			tasks_.erase(next);
			lock.unlock();
			task();
			lock.lock();
		}
	}

	std::mutex mutex_;
	std::condition_variable wake_;
	std::multimap<Clock::time_point, std::function<void()>> tasks_;
	bool stop_ = false;
	std::thread thread_; // last: starts once the rest exists
};

} // namespace bulkhead::detail

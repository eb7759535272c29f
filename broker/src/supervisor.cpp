// SPDX-License-Identifier: Apache-2.0
// The supervisor thread.
#include <bulkhead/broker/supervisor.hpp>

#include <bulkhead/log.hpp>

namespace bulkhead::broker {

Supervisor::Supervisor()
	: work_(boost::asio::make_work_guard(io_)), thread_([this] {
		  for (;;) {
			  try {
				  io_.run();
				  return;
			  } catch (const std::exception &e) {
				  log::error("supervisor: handler threw: {}", e.what());
			  }
		  }
	  }),
	  spare_work_(boost::asio::make_work_guard(spare_io_)), spare_thread_([this] {
		  try {
			  spare_io_.run();
		  } catch (const std::exception &e) {
			  log::error("supervisor: spare spawner threw: {}", e.what());
		  }
	  })
{
}

Supervisor::~Supervisor() { stop(); }

void Supervisor::stop()
{
	if (!thread_.joinable())
		return;
	death_watch_.stop();
	spare_work_.reset();
	spare_io_.stop();
	spare_thread_.join();
	work_.reset();
	io_.stop();
	// The last owner may be a handler on our own thread (an instance
	// released there); joining ourselves would throw.
	if (on_supervisor_thread())
		thread_.detach();
	else
		thread_.join();
	// No refill runs any more (one under way has finished): the spare,
	// if any, goes now, so that a stopped host leaves no process behind.
	std::optional<SpareShim> spare;
	{
		std::lock_guard lock(spare_mutex_);
		spare.swap(spare_);
	}
}

std::optional<SpareShim> Supervisor::take_spare(const std::string &executable)
{
	std::optional<SpareShim> taken;
	{
		std::lock_guard lock(spare_mutex_);
		if (!spare_ || spare_->executable() != executable)
			return std::nullopt;
		taken.swap(spare_);
	}
	if (!taken->alive()) {
		log::debug("supervisor: the spare shim had exited; starting afresh");
		return std::nullopt;
	}
	return taken;
}

void Supervisor::refill_spare(const std::string &executable)
{
	{
		std::lock_guard lock(spare_mutex_);
		if (refilling_ || (spare_ && spare_->executable() == executable))
			return;
		refilling_ = true;
	}
	boost::asio::post(spare_io_, [this, executable] {
		auto spawned = SpareShim::spawn(executable);
		if (!spawned.has_value())
			log::debug("supervisor: no spare shim: {}", spawned.error().to_string());
		std::optional<SpareShim> replaced; // destroyed outside the lock
		std::lock_guard lock(spare_mutex_);
		refilling_ = false;
		if (spawned.has_value()) {
			replaced.swap(spare_);
			spare_.emplace(std::move(spawned).value());
		}
	});
}

} // namespace bulkhead::broker

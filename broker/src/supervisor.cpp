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
	  })
{
}

Supervisor::~Supervisor() { stop(); }

void Supervisor::stop()
{
	if (!thread_.joinable())
		return;
	work_.reset();
	io_.stop();
	// The last owner may be a handler on our own thread (an instance
	// released there); joining ourselves would throw.
	if (on_supervisor_thread())
		thread_.detach();
	else
		thread_.join();
}

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// Supervising a running instance on the supervisor thread: its pidfd, its
// control socket and its async-completion eventfd, and the one verdict its
// death becomes.
#include <bulkhead/broker/instance.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <bulkhead/ipc/death_notice.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/log.hpp>

#include "instance_watchers.hpp"

namespace bulkhead::broker {

namespace asio = boost::asio;
namespace sp = ipc::shim_protocol;

void Instance::watch()
{
	auto w = watchers_;
	w->pidfd.assign(dup_cloexec(process_.pidfd()).release());
	w->control.assign(dup_cloexec(control_.get()).release());
	w->notify.assign(dup_cloexec(channel_->notify_fd()).release());
	std::weak_ptr<Instance> weak = weak_from_this();

	// Armed by the plugin process before it sent Hello, unless its kernel
	// refused; anything else was written by the plugin. Before the pidfd
	// is watched: on_exit, on the supervisor thread, reads death_watch_.
	const std::uint32_t *word = channel_->death_word();
	const std::uint32_t armed = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	switch (ipc::death_notice::read(armed)) {
	case ipc::death_notice::State::Armed:
		death_watch_ = supervisor_->death_watch().watch(word, armed, [weak](bool died) {
			if (auto self = weak.lock())
				self->on_death_notice(died);
		});
		break;
	case ipc::death_notice::State::Unarmed:
		break;
	case ipc::death_notice::State::Died:
		on_death_notice(true);
		break;
	case ipc::death_notice::State::Tampered:
		on_death_notice(false);
		break;
	}

	asio::post(supervisor_->io(), [w, weak] {
		w->pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
				    [weak](boost::system::error_code ec) {
					    if (ec)
						    return;
					    if (auto self = weak.lock())
						    self->on_exit();
				    });

		struct ControlLoop {
			std::shared_ptr<Watchers> w;
			std::weak_ptr<Instance> weak;
			void operator()(boost::system::error_code ec) const
			{
				if (ec)
					return;
				std::uint8_t buf[256];
				for (;;) {
					ssize_t n = ::recv(w->control.native_handle(), buf, sizeof buf,
							   MSG_DONTWAIT);
					if (n > 0)
						continue; // late control messages: nothing to do
					if (n < 0 && errno == EAGAIN) {
						w->control.async_wait(
							asio::posix::stream_descriptor::wait_read, *this);
						return;
					}
					if (n < 0 && errno == EINTR)
						continue;
					if (auto self = weak.lock())
						self->on_control_hangup();
					return;
				}
			}
		};
		w->control.async_wait(asio::posix::stream_descriptor::wait_read, ControlLoop{w, weak});

		struct NotifyLoop {
			std::shared_ptr<Watchers> w;
			std::weak_ptr<Instance> weak;
			void operator()(boost::system::error_code ec) const
			{
				if (ec)
					return;
				auto self = weak.lock();
				if (!self)
					return;
				self->channel_->end_async_sleep();
				std::uint64_t count;
				[[maybe_unused]] ssize_t n =
					::read(w->notify.native_handle(), &count, sizeof count);
				arm(*self);
			}
			// Reaps, then sleeps on the eventfd once nothing is left.
			void arm(Instance &self) const
			{
				do
					self.channel_->poll();
				while (!self.channel_->prepare_async_sleep());
				w->notify.async_wait(asio::posix::stream_descriptor::wait_read, *this);
			}
		};
		if (auto self = weak.lock())
			NotifyLoop{w, weak}.arm(*self);
	});
}

void Instance::on_death_notice(bool died)
{
	if (!died) {
		kill_for(Termination::Protocol,
			 "the plugin overwrote its death notice, a word of its shared region");
		return;
	}
	// Its main thread has ended: the process is going (or, if that thread
	// alone ended, must go). Its memory and its pidfd follow.
	process_.kill();
	announce_death(kill_reason_.load());
}

void Instance::announce_death(Termination why)
{
	if (!death_announced_.exchange(true) && options_.on_death)
		options_.on_death(why);
}

void Instance::on_control_hangup()
{
	if (!alive() || kill_reason_.load() != Termination::None)
		return;
	std::weak_ptr<Instance> weak = weak_from_this();
	watchers_->grace.expires_after(kHangupGrace);
	watchers_->grace.async_wait([weak](boost::system::error_code ec) {
		if (ec)
			return;
		if (auto self = weak.lock(); self && self->alive())
			self->kill(Termination::Protocol, "the shim closed its control channel");
	});
}

void Instance::on_exit()
{
	auto status = process_.try_reap();
	if (!status) {
		// Readable without an exit: not expected, but never reap twice.
		std::weak_ptr<Instance> weak = weak_from_this();
		watchers_->pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
					    [weak](boost::system::error_code ec) {
						    if (!ec)
							    if (auto self = weak.lock())
								    self->on_exit();
					    });
		return;
	}
	const Termination reason = kill_reason_.load();
	Error e = verdict(*status);
	e = annotate(std::move(e));
	// Dead before the calls fail: a caller that sees the error sees !alive().
	{
		std::lock_guard lock(exit_mutex_);
		exit_error_ = e;
		exited_.store(true, std::memory_order_release);
	}
	// Routing first: a caller whose call fails below finds the standby
	// already serving.
	supervisor_->death_watch().unwatch(death_watch_);
	announce_death(e.termination);
	channel_->close(e);
	// Every process of the plugin goes with its groups (the verdict has
	// read their counters) before anyone is told the instance ended.
	{
		std::lock_guard lock(sandbox_mutex_);
		cgroups_.remove();
	}
	end_output();
	// Calls have failed; now record the end, then release wait_exit().
	if (options_.on_exit)
		options_.on_exit(e);
	{
		std::lock_guard lock(exit_mutex_);
		finished_ = true;
	}
	exit_cv_.notify_all();
	if (reason == Termination::HostRequest)
		log::info("plugin {} instance {} stopped ({})", name_, id_, describe(*status));
	else
		log::warning("{}", e.to_string());
	watchers_->close();
}

} // namespace bulkhead::broker

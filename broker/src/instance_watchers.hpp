// SPDX-License-Identifier: Apache-2.0
// Internal to the broker: what an Instance's start-up and its supervision
// share - the Asio watchers and a few helpers.
#pragma once

#include <chrono>
#include <fcntl.h>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <bulkhead/broker/instance.hpp>

namespace bulkhead::broker {

// A shim whose control socket hangs up while its process lives on is
// killed after this grace; a dying shim closes the socket a moment before
// its pidfd reports the exit, and that verdict must win.
inline constexpr auto kHangupGrace = std::chrono::milliseconds(100);

inline std::string describe(const ExitStatus &s)
{
	if (s.signaled)
		return "killed by " + describe_signal(s.signal);
	return fmt::format("exited with status {}", s.status);
}

inline UniqueFd dup_cloexec(int fd)
{
	return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

struct Instance::Watchers {
	explicit Watchers(boost::asio::io_context &io)
		: pidfd(io), control(io), notify(io), seccomp(io), oom(io), grace(io), rss(io) {}
	boost::asio::posix::stream_descriptor pidfd, control, notify;
	boost::asio::posix::stream_descriptor seccomp, oom; // the sandbox's verdicts
	boost::asio::steady_timer grace;
	boost::asio::steady_timer rss; // memory poll, when no cgroup caps memory

	void close()
	{
		boost::system::error_code ignored;
		grace.cancel();
		rss.cancel();
		pidfd.close(ignored);
		control.close(ignored);
		notify.close(ignored);
		seccomp.close(ignored);
		oom.close(ignored);
	}
};

} // namespace bulkhead::broker

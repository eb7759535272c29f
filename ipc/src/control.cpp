// SPDX-License-Identifier: Apache-2.0
// Control-channel framing over SOCK_SEQPACKET.
#include <bulkhead/ipc/control.hpp>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "schema_hash.h"

namespace bulkhead::ipc::control {

namespace {

// Waits for `events` on fd until the deadline; polls in slices so a
// never-deadline stays interruptible by the peer hanging up.
Result<short> wait_for(int fd, short events, Deadline deadline)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		auto remaining = deadline.remaining();
		int ms = remaining > std::chrono::milliseconds(1000)
				 ? 1000
				 : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(
							    remaining)
							    .count());
		int r = ::poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return Unexpected(errno_error("poll", errno));
		if (r > 0)
			return p.revents;
		if (deadline.passed())
			return make_error(ErrorCode::DeadlineExceeded,
					  "no control message before the deadline");
	}
}

} // namespace

std::uint32_t protocol_version() { return BULKHEAD_PROTOCOL_VERSION; }
std::string_view schema_hash() { return BULKHEAD_SCHEMA_HASH; }

Result<void> send(int fd, ByteView message, Deadline deadline, int pass)
{
	if (pass < 0)
		return send(fd, message, deadline, std::span<const int>());
	return send(fd, message, deadline, std::span<const int>(&pass, 1));
}

Result<void> send(int fd, ByteView message, Deadline deadline, std::span<const int> pass)
{
	if (pass.size() > kMaxPassed)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("{} descriptors for one control message; at most {} pass",
					      pass.size(), kMaxPassed));
	for (;;) {
		struct iovec iov = {const_cast<std::uint8_t *>(message.data()), message.size()};
		alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassed)] = {};
		struct msghdr msg = {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (!pass.empty()) {
			msg.msg_control = control;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * pass.size());
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * pass.size());
			std::memcpy(CMSG_DATA(c), pass.data(), sizeof(int) * pass.size());
		}
		ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == static_cast<ssize_t>(message.size()))
			return {};
		if (n >= 0)
			return make_error(ErrorCode::Internal, "control message truncated");
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return make_error(ErrorCode::Unavailable, "the control peer hung up");
		if (errno != EAGAIN)
			return Unexpected(errno_error("send control message", errno));
		short revents = TRY(wait_for(fd, POLLOUT, deadline));
		if (revents & (POLLHUP | POLLERR))
			return make_error(ErrorCode::Unavailable, "the control peer hung up");
	}
}

Result<Bytes> receive(int fd, Deadline deadline, UniqueFd *passed)
{
	std::vector<UniqueFd> all;
	auto r = receive(fd, deadline, all);
	if (passed && !all.empty())
		*passed = std::move(all.front());
	return r;
}

Result<Bytes> receive(int fd, Deadline deadline, std::vector<UniqueFd> &passed)
{
	Bytes buffer(kMaxMessage);
	for (;;) {
		struct iovec iov = {buffer.data(), buffer.size()};
		alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassed)];
		struct msghdr msg = {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof control;
		ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		// Every descriptor that came along has one owner from here.
		if (n >= 0)
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
					continue;
				const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (std::size_t i = 0; i < count; ++i) {
					int received;
					std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int),
						    sizeof received);
					passed.emplace_back(received);
				}
			}
		if (n > 0) {
			if (static_cast<std::size_t>(n) > buffer.size())
				return make_error(ErrorCode::ProtocolViolation,
						  fmt::format("control message of {} bytes exceeds "
							      "the limit of {}",
							      n, kMaxMessage));
			buffer.resize(static_cast<std::size_t>(n));
			flatbuffers::Verifier verifier(buffer.data(), buffer.size(), 16, 256);
			if (!bulkhead::control::VerifyMessageBuffer(verifier))
				return make_error(ErrorCode::ProtocolViolation,
						  "control message is not a valid Message");
			return buffer;
		}
		if (n == 0)
			return make_error(ErrorCode::Unavailable, "the control peer hung up");
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return make_error(ErrorCode::Unavailable, "the control peer hung up");
		if (errno != EAGAIN)
			return Unexpected(errno_error("recv control message", errno));
		short revents = TRY(wait_for(fd, POLLIN, deadline));
		if ((revents & (POLLHUP | POLLERR)) && !(revents & POLLIN))
			return make_error(ErrorCode::Unavailable, "the control peer hung up");
	}
}

} // namespace bulkhead::ipc::control

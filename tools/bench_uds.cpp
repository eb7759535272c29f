// SPDX-License-Identifier: Apache-2.0
// The socket baseline: flatbuffers request/response over a Unix socket pair.
#include <algorithm>
#include <cerrno>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/deadline.hpp>
#include <bulkhead/unique_fd.hpp>

#include "bench_interrupt.hpp"
#include "bench_measure.hpp"
#include "bench_peer.hpp"
#include "channel_generated.h"

namespace bulkhead::tools {

namespace {

// Largest message either side accepts; payloads stay well below it.
constexpr std::size_t kMaxMessage = 64 * 1024;
constexpr std::size_t kMaxPayload = kMaxMessage - 1024;
constexpr auto kCallDeadline = std::chrono::seconds(5);

// recv() of one whole SEQPACKET message; 0 bytes means the peer hung up.
Result<std::size_t> receive(int fd, std::vector<std::uint8_t> &buffer)
{
	for (;;) {
		ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_TRUNC);
		if (n < 0 && errno == EINTR) {
			TRY(check_interrupt());
			continue;
		}
		if (n < 0)
			return Unexpected(errno_error("recv", errno));
		if (static_cast<std::size_t>(n) > buffer.size())
			return make_error(ErrorCode::ProtocolViolation,
					  fmt::format("a message of {} bytes exceeds {}", n,
						      buffer.size()));
		return static_cast<std::size_t>(n);
	}
}

Result<void> send_message(int fd, const flatbuffers::FlatBufferBuilder &fbb)
{
	ssize_t n;
	do
		n = ::send(fd, fbb.GetBufferPointer(), fbb.GetSize(), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return Unexpected(errno_error("send", errno));
	return {};
}

// One call as the host would make it: build, send, receive, verify, copy
// the answer out.
Result<Bytes> call(int fd, ByteView payload, std::uint64_t call_id,
		   flatbuffers::FlatBufferBuilder &fbb, std::vector<std::uint8_t> &rx)
{
	fbb.Clear();
	auto data = fbb.CreateVector(payload.data(), payload.size());
	fbb.Finish(wire::CreateRequest(fbb, call_id, 0, 1, 0,
				       Deadline::after(kCallDeadline).ns(), data));
	TRY(send_message(fd, fbb));
	const std::size_t n = TRY(receive(fd, rx));
	if (n == 0)
		return make_error(ErrorCode::PluginCrashed, "the socket benchmark peer hung up");
	flatbuffers::Verifier verifier(rx.data(), n, 8, 16);
	if (!verifier.VerifyBuffer<wire::Completion>(nullptr))
		return make_error(ErrorCode::ProtocolViolation, "the peer's answer is not a Completion");
	const auto *c = flatbuffers::GetRoot<wire::Completion>(rx.data());
	if (c->call_id() != call_id || c->status() != wire::Status::Ok)
		return make_error(ErrorCode::ProtocolViolation, "the peer answered another call");
	if (!c->payload())
		return Bytes{};
	return Bytes(c->payload()->begin(), c->payload()->end());
}

} // namespace

Result<Summary> measure_uds(ByteView payload, std::size_t samples, int peer_cpu)
{
	if (payload.size() > kMaxPayload)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("the socket baseline carries at most {} bytes",
					      kMaxPayload));
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return Unexpected(errno_error("socketpair", errno));
	UniqueFd mine(sv[0]);
	UniqueFd theirs(sv[1]);
	// A hung peer fails the run instead of hanging it.
	const struct timeval limit = {5, 0};
	::setsockopt(mine.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	PeerProcess peer = TRY(PeerProcess::spawn("uds", theirs.get(), peer_cpu));
	theirs.reset();

	flatbuffers::FlatBufferBuilder fbb(256);
	std::vector<std::uint8_t> rx(kMaxMessage);
	std::uint64_t call_id = 0;
	const std::size_t warmup = std::clamp<std::size_t>(samples / 10, 100, 10'000);
	for (std::size_t i = 0; i < warmup; ++i)
		TRY(call(mine.get(), payload, ++call_id, fbb, rx));

	std::vector<double> ns;
	ns.reserve(samples);
	for (std::size_t i = 0; i < samples; ++i) {
		TRY(check_interrupt());
		const auto t0 = Clock::now();
		Bytes answer = TRY(call(mine.get(), payload, ++call_id, fbb, rx));
		const auto t1 = Clock::now();
		if (!std::equal(answer.begin(), answer.end(), payload.begin(), payload.end()))
			return make_error(ErrorCode::Internal, "the socket peer changed the payload");
		ns.push_back(elapsed_ns(t0, t1));
	}
	mine.reset(); // the peer sees the hang-up and exits
	TRY(peer.finish(std::chrono::seconds(2)));
	return summarize(std::move(ns));
}

int run_uds_peer(int fd)
{
	std::vector<std::uint8_t> rx(kMaxMessage);
	flatbuffers::FlatBufferBuilder fbb(256);
	for (;;) {
		auto received = receive(fd, rx);
		if (!received.has_value()) {
			fmt::print(stderr, "bulkhead uds peer: {}\n", received.error().to_string());
			return 1;
		}
		const std::size_t n = received.value();
		if (n == 0)
			return 0; // the benchmark is done
		flatbuffers::Verifier verifier(rx.data(), n, 8, 16);
		if (!verifier.VerifyBuffer<wire::Request>(nullptr)) {
			fmt::print(stderr, "bulkhead uds peer: a message is not a Request\n");
			return 1;
		}
		const auto *r = flatbuffers::GetRoot<wire::Request>(rx.data());
		// What the echo plugin does: return a copy of its input.
		Bytes out;
		if (r->payload())
			out.assign(r->payload()->begin(), r->payload()->end());
		fbb.Clear();
		auto data = fbb.CreateVector(out.data(), out.size());
		fbb.Finish(wire::CreateCompletion(fbb, r->call_id(), r->slot(), r->generation(),
						  wire::Status::Ok, data));
		auto sent = send_message(fd, fbb);
		if (!sent.has_value()) {
			fmt::print(stderr, "bulkhead uds peer: {}\n", sent.error().to_string());
			return 1;
		}
	}
}

} // namespace bulkhead::tools

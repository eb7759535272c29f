// SPDX-License-Identifier: Apache-2.0
// One conformance suite for every CallChannel/PeerChannel implementation:
// the shared-memory channel is held to what the in-process one does.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <bulkhead/ipc/channel.hpp>
#include <bulkhead/ipc/inproc_channel.hpp>
#include <bulkhead/ipc/shm_channel.hpp>
#include <bulkhead/unique_fd.hpp>

using namespace bulkhead;
using namespace bulkhead::ipc;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kCells = 16;
constexpr std::uint32_t kCellBytes = 4096;

// What the serving thread does with a request, by its op.
enum Op : std::uint32_t {
	kEcho = 0,      // answer with the payload
	kFail = 1,      // answer with PluginFailed "boom"
	kSlowEcho = 2,  // sleep 300 ms, then echo
	kOversized = 3, // answer with a payload bigger than max_reply()
	kHold = 4,      // echo once the test calls release_held()
};

// Long enough never to pass on a loaded machine: only the tests about
// deadlines use short ones.
Deadline generous() { return Deadline::after(60s); }

template<typename T>
std::string describe(const Result<T> &r)
{
	return r.has_value() ? std::string("a value") : r.error().to_string();
}

Bytes pattern(std::size_t size, std::uint8_t seed)
{
	Bytes b(size);
	for (std::size_t i = 0; i < size; ++i)
		b[i] = static_cast<std::uint8_t>(seed + i * 13);
	return b;
}

// Owns a connected pair of ends and the thread serving the peer end.
class ChannelFixture {
public:
	ChannelFixture(const ChannelFixture &) = delete;
	ChannelFixture &operator=(const ChannelFixture &) = delete;
	~ChannelFixture() { stop_server(); }

	CallChannel &channel() { return *call_; }
	// Lets the server answer the request it holds (op kHold).
	void release_held() { release_.store(true, std::memory_order_release); }
	// Waits a little for completions to arrive, then reaps them: what a
	// host event loop does.
	void reap()
	{
		if (notify_fd_ >= 0) {
			pollfd p{notify_fd_, POLLIN, 0};
			if (::poll(&p, 1, 10) == 1) {
				std::uint64_t count;
				[[maybe_unused]] ssize_t n = ::read(notify_fd_, &count, sizeof(count));
			}
		} else {
			std::this_thread::sleep_for(1ms);
		}
		call_->poll();
	}
	void stop_server()
	{
		if (!server_.joinable())
			return;
		stop_.store(true, std::memory_order_release);
		release_.store(true, std::memory_order_release);
		if (wake_)
			wake_();
		server_.join();
	}

protected:
	ChannelFixture() = default;

	void start(std::unique_ptr<CallChannel> call, std::unique_ptr<PeerChannel> peer,
		   std::function<void()> wake, int notify_fd)
	{
		call_ = std::move(call);
		peer_ = std::move(peer);
		wake_ = std::move(wake);
		notify_fd_ = notify_fd;
		server_ = std::thread([this] { serve(); });
	}

private:
	void serve()
	{
		const Bytes oversized(peer_->max_reply() + 1, 0x5a);
		for (;;) {
			auto received = peer_->receive(stop_);
			// An error ends serving: the in-process end reports its
			// host's close() this way.
			if (!received.has_value() || !received.value().has_value())
				return;
			if (stop_.load(std::memory_order_acquire))
				return; // leave the rest unanswered: the host may not reap
			const IncomingCall &call = *received.value();
			Reply reply = Reply::success(call.payload);
			switch (call.op) {
			case kEcho:
				break;
			case kFail:
				reply = Reply::failure(ErrorCode::PluginFailed, "boom");
				break;
			case kSlowEcho:
				std::this_thread::sleep_for(300ms);
				break;
			case kOversized:
				reply = Reply::success(oversized);
				break;
			case kHold:
				while (!release_.load(std::memory_order_acquire))
					std::this_thread::sleep_for(1ms);
				break;
			default:
				reply = Reply::failure(ErrorCode::NotFound, "no such op");
				break;
			}
			if (!peer_->respond(call, reply).has_value())
				return;
		}
	}

	std::unique_ptr<CallChannel> call_;
	std::unique_ptr<PeerChannel> peer_;
	std::function<void()> wake_;
	int notify_fd_ = -1;
	std::atomic<bool> stop_{false};
	std::atomic<bool> release_{false};
	std::thread server_;
};

class ShmFixture : public ChannelFixture {
public:
	ShmFixture()
	{
		auto host = ShmCallChannel::create({kCells, kCellBytes});
		REQUIRE_MESSAGE(host.has_value(), describe(host));
		const PeerFds fds = host.value()->peer_fds();
		auto peer = ShmPeerChannel::open(UniqueFd(::dup(fds.host_region)),
						 UniqueFd(::dup(fds.shim_region)),
						 UniqueFd(::dup(fds.notify)));
		REQUIRE_MESSAGE(peer.has_value(), describe(peer));
		host.value()->release_peer_fds();
		ShmPeerChannel *shm_peer = peer.value().get();
		const int notify = host.value()->notify_fd();
		start(std::move(host).value(), std::move(peer).value(),
		      [shm_peer] { shm_peer->wake(); }, notify);
	}
};

class InprocFixture : public ChannelFixture {
public:
	InprocFixture()
	{
		auto [call, peer] = make_inproc_channel(kCells, kCellBytes - 16 - 96);
		start(std::move(call), std::move(peer), nullptr, -1);
	}
};

// The result of one async call, as its handler saw it.
struct AsyncProbe {
	std::atomic<int> calls{0};
	std::mutex mutex;
	std::optional<Result<Bytes>> last;

	CompletionHandler handler()
	{
		return [this](Result<Bytes> r) {
			std::lock_guard lock(mutex);
			last.emplace(std::move(r));
			calls.fetch_add(1);
		};
	}
	bool failed_with(const Error &e)
	{
		std::lock_guard lock(mutex);
		return last && !last->has_value() && last->error().code == e.code &&
		       last->error().message == e.message;
	}
};

} // namespace

TYPE_TO_STRING(ShmFixture);
TYPE_TO_STRING(InprocFixture);

#define CHANNELS ShmFixture, InprocFixture

TEST_CASE_TEMPLATE("an echo returns the payload unchanged for every size up to max_payload",
		   F, CHANNELS)
{
	F f;
	CallChannel &ch = f.channel();
	const std::size_t sizes[] = {0, 1, 64, ch.max_payload()};
	for (std::size_t size : sizes) {
		CAPTURE(size);
		const Bytes payload = pattern(size, static_cast<std::uint8_t>(size));
		auto r = ch.call(kEcho, payload, generous());
		REQUIRE_MESSAGE(r.has_value(), describe(r));
		CHECK(r.value() == payload);
	}
}

TEST_CASE_TEMPLATE("an error reply arrives as an error with its code and message", F, CHANNELS)
{
	F f;
	auto r = f.channel().call(kFail, as_bytes("x"), generous());
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PluginFailed);
	CHECK(r.error().message == "boom");
	// The channel carries on.
	auto next = f.channel().call(kEcho, as_bytes("next"), generous());
	REQUIRE_MESSAGE(next.has_value(), describe(next));
	CHECK(as_string(next.value()) == "next");
}

TEST_CASE_TEMPLATE("a payload over max_payload is refused as an invalid argument naming both sizes",
		   F, CHANNELS)
{
	F f;
	CallChannel &ch = f.channel();
	const std::size_t max = ch.max_payload();
	const Bytes big(max + 1, 1);

	auto r = ch.submit(kEcho, big, generous());
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::InvalidArgument);
	CAPTURE(r.error().message);
	CHECK(r.error().message.find(std::to_string(max + 1)) != std::string::npos);
	CHECK(r.error().message.find(std::to_string(max)) != std::string::npos);

	AsyncProbe probe;
	auto a = ch.submit_async(kEcho, big, generous(), probe.handler());
	REQUIRE_FALSE(a.has_value());
	CHECK(a.error().code == ErrorCode::InvalidArgument);
	CHECK(probe.calls.load() == 0);

	auto next = ch.call(kEcho, as_bytes("next"), generous());
	REQUIRE_MESSAGE(next.has_value(), describe(next));
	CHECK(as_string(next.value()) == "next");
}

TEST_CASE_TEMPLATE("a passed deadline gives deadline-exceeded and the late answer is dropped",
		   F, CHANNELS)
{
	F f;
	CallChannel &ch = f.channel();
	auto r = ch.call(kSlowEcho, as_bytes("slow"), Deadline::after(50ms));
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::DeadlineExceeded);

	// The next calls get their own answers, not the late "slow".
	for (const char *text : {"next", "and next"}) {
		auto next = ch.call(kEcho, as_bytes(text), generous());
		REQUIRE_MESSAGE(next.has_value(), describe(next));
		CHECK(as_string(next.value()) == text);
	}
	CHECK_FALSE(ch.closed());
}

TEST_CASE_TEMPLATE("a reply over max_reply arrives as resource-exhausted", F, CHANNELS)
{
	F f;
	auto r = f.channel().call(kOversized, {}, generous());
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::ResourceExhausted);
	auto next = f.channel().call(kEcho, as_bytes("next"), generous());
	REQUIRE_MESSAGE(next.has_value(), describe(next));
	CHECK(as_string(next.value()) == "next");
}

TEST_CASE_TEMPLATE("concurrent callers each get their own answer", F, CHANNELS)
{
	constexpr int kThreads = 8;
	constexpr int kCalls = 2000;
	std::atomic<int> answered{0}, wrong{0};
	std::mutex mutex;
	std::string first_wrong;

	F f;
	CallChannel &ch = f.channel();
	{
		std::vector<std::jthread> callers;
		for (int t = 0; t < kThreads; ++t) {
			callers.emplace_back([&, t] {
				for (int i = 0; i < kCalls; ++i) {
					// Tagged with caller and index; the length varies
					// so a mixed-up answer cannot match by accident.
					std::string payload = "caller " + std::to_string(t) + " call " +
							      std::to_string(i) + " " +
							      std::string(std::size_t(i % 97), 'x');
					auto r = ch.call(kEcho, as_bytes(payload), generous());
					if (r.has_value() && as_string(r.value()) == payload) {
						answered.fetch_add(1);
						continue;
					}
					if (wrong.fetch_add(1) == 0) {
						std::lock_guard lock(mutex);
						first_wrong = payload + ": " +
							      (r.has_value() ? std::string(as_string(r.value()))
									     : r.error().to_string());
					}
				}
			});
		}
	}
	CAPTURE(first_wrong);
	CHECK(wrong.load() == 0);
	CHECK(answered.load() == kThreads * kCalls);
}

TEST_CASE_TEMPLATE("every async call runs its handler exactly once with its own answer", F,
		   CHANNELS)
{
	constexpr int kCalls = 1000;
	std::vector<std::atomic<int>> runs(kCalls);
	std::atomic<int> completed{0}, wrong{0};

	F f;
	CallChannel &ch = f.channel();
	// Reaps while the main thread submits: slots free up only as
	// completions are reaped.
	std::jthread reaper([&](std::stop_token stop) {
		while (!stop.stop_requested())
			f.reap();
	});
	for (int i = 0; i < kCalls; ++i) {
		std::string payload = "async " + std::to_string(i);
		auto t = ch.submit_async(kEcho, as_bytes(payload), generous(),
					 [&, i, payload](Result<Bytes> r) {
						 if (!r.has_value() || as_string(r.value()) != payload)
							 wrong.fetch_add(1);
						 runs[i].fetch_add(1);
						 completed.fetch_add(1);
					 });
		REQUIRE_MESSAGE(t.has_value(), describe(t));
	}
	const Deadline give_up = generous();
	while (completed.load() < kCalls && !give_up.passed())
		std::this_thread::sleep_for(1ms);
	// Reap a while longer: a second run of any handler would show here.
	for (int i = 0; i < 10; ++i)
		f.reap();
	reaper.request_stop();
	reaper.join();

	CHECK(completed.load() == kCalls);
	CHECK(wrong.load() == 0);
	int not_once = 0;
	for (auto &r : runs)
		not_once += r.load() != 1;
	CHECK(not_once == 0);
}

TEST_CASE_TEMPLATE("close fails every in-flight call and every later submit with its reason", F,
		   CHANNELS)
{
	const Error reason(ErrorCode::Unavailable, "closed by the test");
	constexpr int kSync = 4, kAsync = 4;
	std::array<AsyncProbe, kAsync> probes;
	std::array<std::optional<Result<Bytes>>, kSync> results;

	F f;
	CallChannel &ch = f.channel();
	// The server holds the first request, so the others stay queued.
	std::vector<Ticket> tickets;
	for (int i = 0; i < kSync; ++i) {
		auto t = ch.submit(i == 0 ? kHold : kEcho, as_bytes("sync"), generous());
		REQUIRE_MESSAGE(t.has_value(), describe(t));
		tickets.push_back(t.value());
	}
	for (auto &probe : probes) {
		auto t = ch.submit_async(kEcho, as_bytes("async"), generous(), probe.handler());
		REQUIRE_MESSAGE(t.has_value(), describe(t));
	}
	{
		std::vector<std::jthread> waiters;
		for (int i = 0; i < kSync; ++i)
			waiters.emplace_back(
				[&, i] { results[i].emplace(ch.wait(tickets[i], generous())); });
		// Most waiters are asleep by now; either way they must fail.
		std::this_thread::sleep_for(20ms);
		ch.close(reason);
		CHECK(ch.closed());
	}

	for (auto &r : results) {
		REQUIRE(r.has_value());
		REQUIRE_FALSE(r->has_value());
		CHECK(r->error().code == reason.code);
		CHECK(r->error().message == reason.message);
	}
	for (auto &probe : probes) {
		CHECK(probe.calls.load() == 1);
		CHECK(probe.failed_with(reason));
	}

	auto later = ch.submit(kEcho, as_bytes("later"), generous());
	REQUIRE_FALSE(later.has_value());
	CHECK(later.error().code == reason.code);
	CHECK(later.error().message == reason.message);
	AsyncProbe late_probe;
	auto later_async = ch.submit_async(kEcho, as_bytes("later"), generous(),
					   late_probe.handler());
	if (later_async.has_value()) {
		// Accepted only to be failed at once, with the same reason.
		CHECK(late_probe.calls.load() == 1);
		CHECK(late_probe.failed_with(reason));
	} else {
		CHECK(later_async.error().code == reason.code);
		CHECK(later_async.error().message == reason.message);
		CHECK(late_probe.calls.load() == 0);
	}

	// The first reason wins.
	ch.close(Error(ErrorCode::Internal, "a second reason"));
	auto again = ch.call(kEcho, as_bytes("again"), generous());
	REQUIRE_FALSE(again.has_value());
	CHECK(again.error().message == reason.message);

	// Answers the server sends now change nothing.
	f.release_held();
	for (int i = 0; i < 10; ++i)
		f.reap();
	for (auto &probe : probes)
		CHECK(probe.calls.load() == 1);
	f.stop_server();
}

TEST_CASE_TEMPLATE("cancelling an in-flight async call delivers its error exactly once", F,
		   CHANNELS)
{
	const Error reason(ErrorCode::DeadlineExceeded, "cancelled by the test");
	AsyncProbe probe;

	F f;
	CallChannel &ch = f.channel();
	auto t = ch.submit_async(kHold, as_bytes("held"), generous(), probe.handler());
	REQUIRE_MESSAGE(t.has_value(), describe(t));

	CHECK(ch.cancel(t.value(), reason));
	CHECK(probe.calls.load() == 1);
	CHECK(probe.failed_with(reason));
	CHECK_FALSE(ch.cancel(t.value(), Error(ErrorCode::Internal, "cancelled twice")));

	// The server answers the cancelled call late: the answer is dropped
	// and the channel stays usable.
	f.release_held();
	for (const char *text : {"after", "and after"}) {
		auto next = ch.call(kEcho, as_bytes(text), generous());
		REQUIRE_MESSAGE(next.has_value(), describe(next));
		CHECK(as_string(next.value()) == text);
	}
	for (int i = 0; i < 10; ++i)
		f.reap();
	CHECK(probe.calls.load() == 1);
	CHECK(probe.failed_with(reason));
	CHECK_FALSE(ch.closed());
}

TEST_CASE_TEMPLATE("cancelling a completed async call does nothing", F, CHANNELS)
{
	AsyncProbe probe;
	F f;
	CallChannel &ch = f.channel();
	auto t = ch.submit_async(kEcho, as_bytes("done"), generous(), probe.handler());
	REQUIRE_MESSAGE(t.has_value(), describe(t));
	const Deadline give_up = generous();
	while (probe.calls.load() == 0 && !give_up.passed())
		f.reap();
	REQUIRE(probe.calls.load() == 1);
	CHECK_FALSE(ch.cancel(t.value(), Error(ErrorCode::Internal, "too late")));
	CHECK(probe.calls.load() == 1);
	std::lock_guard lock(probe.mutex);
	REQUIRE(probe.last->has_value());
	CHECK(as_string(probe.last->value()) == "done");
}

TEST_CASE_TEMPLATE("close from another thread ends a wait blocked on a silent server", F,
		   CHANNELS)
{
	const Error reason(ErrorCode::Unavailable, "the server hung");
	F f;
	CallChannel &ch = f.channel();
	auto t = ch.submit(kHold, as_bytes("held"), generous());
	REQUIRE_MESSAGE(t.has_value(), describe(t));

	std::jthread closer([&] {
		std::this_thread::sleep_for(50ms);
		ch.close(reason);
	});
	auto r = ch.wait(t.value(), generous());
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == reason.code); // not deadline-exceeded
	CHECK(r.error().message == reason.message);
}

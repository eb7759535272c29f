// SPDX-License-Identifier: Apache-2.0
// The death watch's thread: one futex_waitv over every armed death notice
// and a private word of its own that watch(), unwatch() and stop() bump.
#include <bulkhead/broker/death_watch.hpp>

#include <cerrno>
#include <ctime>
#include <linux/futex.h>
#include <mutex>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include <bulkhead/ipc/death_notice.hpp>
#include <bulkhead/log.hpp>

namespace bulkhead::broker {

namespace {

struct futex_waitv waiter(const std::uint32_t *word, std::uint32_t expected, std::uint32_t flags)
{
	struct futex_waitv w = {};
	w.val = expected;
	w.uaddr = reinterpret_cast<std::uintptr_t>(word);
	w.flags = FUTEX_32 | flags;
	return w;
}

} // namespace

struct DeathWatch::State {
	struct Entry {
		Id id;
		const std::uint32_t *word;
		std::uint32_t armed;
		std::function<void(bool)> notice;
	};

	std::mutex mutex;
	std::vector<Entry> entries;
	Id next_id = 1;
	bool stopping = false;
	bool unavailable = false;
	// Bumped under the mutex by every change the thread must see; the
	// thread sleeps on it too, so a change between its scan and its sleep
	// makes the sleep return at once.
	std::uint32_t generation = 0;

	void bump()
	{
		__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
		::syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
	}
};

DeathWatch::DeathWatch() : state_(std::make_shared<State>()) {}

DeathWatch::~DeathWatch() { stop(); }

DeathWatch::Id DeathWatch::watch(const std::uint32_t *word, std::uint32_t armed,
				 std::function<void(bool died)> notice)
{
	std::lock_guard lock(state_->mutex);
	if (state_->stopping || state_->unavailable || state_->entries.size() >= kMaxWords)
		return 0;
	if (!thread_.joinable())
		thread_ = std::thread(run, state_);
	const Id id = state_->next_id++;
	state_->entries.push_back({id, word, armed, std::move(notice)});
	state_->bump();
	return id;
}

void DeathWatch::unwatch(Id id)
{
	if (id == 0)
		return;
	std::lock_guard lock(state_->mutex);
	std::erase_if(state_->entries, [id](const State::Entry &e) { return e.id == id; });
	state_->bump();
}

void DeathWatch::stop()
{
	{
		std::lock_guard lock(state_->mutex);
		state_->stopping = true;
		state_->entries.clear();
		state_->bump();
	}
	if (!thread_.joinable())
		return;
	// The last owner may be a notice on the watch's own thread; the
	// thread holds the state, so it can finish after we are gone.
	if (thread_.get_id() == std::this_thread::get_id())
		thread_.detach();
	else
		thread_.join();
}

void DeathWatch::run(std::shared_ptr<State> state)
{
	std::vector<struct futex_waitv> waits;
	std::vector<std::pair<std::function<void(bool)>, bool>> due;
	bool failing = false;
	for (;;) {
		waits.clear();
		due.clear();
		{
			std::lock_guard lock(state->mutex);
			if (state->stopping)
				return;
			waits.push_back(waiter(&state->generation,
					       __atomic_load_n(&state->generation, __ATOMIC_ACQUIRE),
					       FUTEX_PRIVATE_FLAG));
			// Words the plugin may write at any time: read with an
			// atomic load, and never trusted beyond "changed".
			std::erase_if(state->entries, [&](State::Entry &e) {
				const std::uint32_t v = __atomic_load_n(e.word, __ATOMIC_ACQUIRE);
				if (v == e.armed) {
					waits.push_back(waiter(e.word, e.armed, 0));
					return false;
				}
				due.emplace_back(std::move(e.notice),
						 ipc::death_notice::read(v) == ipc::death_notice::State::Died);
				return true;
			});
		}
		for (auto &[notice, died] : due)
			notice(died);
		if (!due.empty())
			continue;
		long r = ::syscall(SYS_futex_waitv, waits.data(), static_cast<unsigned>(waits.size()), 0,
				   nullptr, CLOCK_MONOTONIC);
		if (r >= 0 || errno == EAGAIN || errno == EINTR) {
			failing = false;
			continue;
		}
		if (errno == ENOSYS) {
			log::debug("death watch: no futex_waitv on this kernel; deaths are seen "
				   "through pidfds alone");
			std::lock_guard lock(state->mutex);
			state->unavailable = true;
			state->entries.clear();
			return;
		}
		// Not expected (a word is mapped while watched): never spin on it.
		if (!failing)
			log::warning("death watch: futex_waitv: {}", strerrordesc_np(errno));
		failing = true;
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
}

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// DeathWatch: one thread of the broker asleep on every running plugin's
// death notice (ipc/death_notice.hpp) at once, through futex_waitv(2), so
// that a death is acted on as the kernel marks it, before the process's
// memory is torn down and long before its pidfd says so.
//
// A notice is a hint: the pidfd stays the watcher of record, and the exit
// status and every verdict come from it. Up to kMaxWords words are watched;
// beyond that, and on a kernel without futex_waitv (before 5.16), watch()
// declines and the pidfd alone tells.
//
// Threads: any thread may watch() and unwatch(); notices run on the watch's
// own thread, which starts with the first watch().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

namespace bulkhead::broker {

class DeathWatch {
public:
	// futex_waitv takes 128 words; one is the watch's own wake-up.
	static constexpr std::size_t kMaxWords = 127;
	using Id = std::uint64_t;

	DeathWatch();
	~DeathWatch();
	DeathWatch(const DeathWatch &) = delete;
	DeathWatch &operator=(const DeathWatch &) = delete;

	// Sleeps on `word` while it holds `armed`. Once it holds anything
	// else, `notice` runs once, with true when that is the kernel's mark
	// of a death, false for a value only a misbehaving plugin writes.
	// `word` must stay mapped until unwatch(). Keep `notice` short: it
	// delays every other notice. 0: not watched (see above).
	Id watch(const std::uint32_t *word, std::uint32_t armed, std::function<void(bool died)> notice);
	// Once it returns, `word` is no longer read and its notice will not
	// start; one already started may still be running. Unknown ids and 0
	// are ignored.
	void unwatch(Id id);
	// Ends the thread; later watch() calls decline. Idempotent.
	void stop();

private:
	struct State;
	static void run(std::shared_ptr<State> state);

	std::shared_ptr<State> state_; // shared with the thread, which may outlive us
	std::thread thread_;
};

} // namespace bulkhead::broker

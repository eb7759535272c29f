// SPDX-License-Identifier: Apache-2.0
// The death notice and the death watch with real processes: the kernel
// marks an armed word when its process dies, the watch hands that on once,
// a value only a plugin writes is told apart, and an unwatched word is
// left alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <future>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bulkhead/broker/death_watch.hpp>
#include <bulkhead/ipc/death_notice.hpp>
#include <bulkhead/ipc/futex.hpp>

using namespace bulkhead;
using namespace std::chrono_literals;
namespace dn = ipc::death_notice;

namespace {

// One shared page of words, as a channel region is shared.
struct SharedPage {
	std::uint32_t *words = static_cast<std::uint32_t *>(
		::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	~SharedPage() { ::munmap(words, 4096); }
};

// A child that arms `word`, says so, and sleeps. `tamper`: a pipe whose
// byte makes it write a foreign value into the word first (and wake its
// waiter, as a hostile plugin could), once the watch has the armed value.
pid_t armed_child(std::uint32_t *word, int tamper = -1)
{
	int ready[2];
	REQUIRE(::pipe(ready) == 0);
	const pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		const bool armed = dn::arm(word);
		(void)!::write(ready[1], armed ? "y" : "n", 1);
		char go = 0;
		if (tamper >= 0 && ::read(tamper, &go, 1) == 1) {
			__atomic_store_n(word, 12345u, __ATOMIC_RELEASE);
			ipc::futex_wake(word, 1);
		}
		for (;;)
			::pause();
	}
	char c = 0;
	REQUIRE(::read(ready[0], &c, 1) == 1);
	::close(ready[0]);
	::close(ready[1]);
	REQUIRE(c == 'y');
	return pid;
}

void kill_and_reap(pid_t pid)
{
	::kill(pid, SIGKILL);
	int status = 0;
	REQUIRE(::waitpid(pid, &status, 0) == pid);
}

} // namespace

TEST_CASE("the_values_of_a_death_word_read_as_what_wrote_them")
{
	CHECK(dn::read(0) == dn::State::Unarmed);
	CHECK(dn::read(FUTEX_WAITERS | 2) == dn::State::Armed);
	CHECK(dn::read(FUTEX_OWNER_DIED | FUTEX_WAITERS) == dn::State::Died);
	CHECK(dn::read(2) == dn::State::Tampered);        // no waiters bit: no wake would come
	CHECK(dn::read(FUTEX_WAITERS) == dn::State::Tampered); // no owner
	CHECK(dn::read(FUTEX_OWNER_DIED | FUTEX_WAITERS | 2) == dn::State::Tampered);
}

TEST_CASE("the_kernel_marks_the_armed_word_of_a_killed_process_and_the_watch_tells_once")
{
	SharedPage page;
	const pid_t child = armed_child(&page.words[0]);
	const std::uint32_t armed = __atomic_load_n(&page.words[0], __ATOMIC_ACQUIRE);
	REQUIRE(dn::read(armed) == dn::State::Armed);
	CHECK((armed & FUTEX_TID_MASK) == static_cast<std::uint32_t>(child));

	broker::DeathWatch watch;
	std::promise<bool> told;
	std::atomic<int> notices{0};
	REQUIRE(watch.watch(&page.words[0], armed, [&](bool died) {
		if (notices++ == 0)
			told.set_value(died);
	}) != 0);
	kill_and_reap(child);
	auto f = told.get_future();
	REQUIRE(f.wait_for(10s) == std::future_status::ready);
	CHECK(f.get());
	CHECK(dn::read(page.words[0]) == dn::State::Died);
	watch.stop();
	CHECK(notices.load() == 1);
}

TEST_CASE("a_foreign_value_in_the_word_is_a_notice_of_tampering")
{
	SharedPage page;
	int go[2];
	REQUIRE(::pipe(go) == 0);
	const pid_t child = armed_child(&page.words[0], go[0]);
	const std::uint32_t armed = __atomic_load_n(&page.words[0], __ATOMIC_ACQUIRE);
	REQUIRE(dn::read(armed) == dn::State::Armed);
	broker::DeathWatch watch;
	std::promise<bool> told;
	REQUIRE(watch.watch(&page.words[0], armed, [&](bool died) { told.set_value(died); }) != 0);
	REQUIRE(::write(go[1], "t", 1) == 1);
	::close(go[0]);
	::close(go[1]);
	auto f = told.get_future();
	REQUIRE(f.wait_for(10s) == std::future_status::ready);
	CHECK_FALSE(f.get());
	kill_and_reap(child);
}

TEST_CASE("an_unwatched_word_gives_no_notice")
{
	SharedPage page;
	const pid_t first = armed_child(&page.words[0]);
	const pid_t second = armed_child(&page.words[16]);
	broker::DeathWatch watch;
	std::atomic<bool> first_told{false};
	std::promise<void> second_told;
	const auto id = watch.watch(&page.words[0], page.words[0], [&](bool) { first_told = true; });
	REQUIRE(id != 0);
	watch.unwatch(id);
	kill_and_reap(first);
	// The second notice comes from a scan after the first word changed:
	// had the first still been watched, it would have been told by then.
	REQUIRE(watch.watch(&page.words[16], page.words[16], [&](bool) { second_told.set_value(); }) != 0);
	kill_and_reap(second);
	REQUIRE(second_told.get_future().wait_for(10s) == std::future_status::ready);
	CHECK_FALSE(first_told.load());
}

TEST_CASE("the_watch_declines_past_its_capacity_and_once_stopped")
{
	SharedPage page;
	broker::DeathWatch watch;
	std::vector<broker::DeathWatch::Id> ids;
	for (std::size_t i = 0; i < broker::DeathWatch::kMaxWords; ++i) {
		page.words[i] = FUTEX_WAITERS | 7; // armed by a live owner, as far as the watch can see
		ids.push_back(watch.watch(&page.words[i], page.words[i], [](bool) {}));
		REQUIRE(ids.back() != 0);
	}
	page.words[1000] = FUTEX_WAITERS | 7;
	CHECK(watch.watch(&page.words[1000], page.words[1000], [](bool) {}) == 0);
	watch.unwatch(ids.back());
	CHECK(watch.watch(&page.words[1000], page.words[1000], [](bool) {}) != 0);
	watch.stop();
	CHECK(watch.watch(&page.words[1000], page.words[1000], [](bool) {}) == 0);
}

// SPDX-License-Identifier: Apache-2.0
// The death notice's robust-futex registration (death_notice.hpp).
#include <bulkhead/ipc/death_notice.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bulkhead::ipc::death_notice {

namespace {

// The kernel walks this list when the thread that registered it exits:
// one entry, whose futex word lies futex_offset bytes from it (in the
// shared region, while the list itself stays in this process's memory).
struct robust_list_head g_head;
struct robust_list g_entry;

} // namespace

bool arm(std::uint32_t *word)
{
	const auto tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
	__atomic_store_n(word, (tid & FUTEX_TID_MASK) | FUTEX_WAITERS, __ATOMIC_RELEASE);
	g_entry.next = &g_head.list;
	g_head.list.next = &g_entry;
	g_head.futex_offset = reinterpret_cast<char *>(word) - reinterpret_cast<char *>(&g_entry);
	g_head.list_op_pending = nullptr;
	if (::syscall(SYS_set_robust_list, &g_head, sizeof g_head) == 0)
		return true;
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
	return false;
}

State read(std::uint32_t value)
{
	if (value == 0)
		return State::Unarmed;
	if (value == (FUTEX_OWNER_DIED | FUTEX_WAITERS))
		return State::Died;
	if ((value & ~FUTEX_TID_MASK) == FUTEX_WAITERS && (value & FUTEX_TID_MASK) != 0)
		return State::Armed;
	return State::Tampered;
}

} // namespace bulkhead::ipc::death_notice

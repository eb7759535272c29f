// SPDX-License-Identifier: Apache-2.0
// Atomic access to plain words in shared memory. The layout structs hold
// plain integers (trivially copyable, fixed offsets); these helpers are the
// only way the code touches them. They accept const pointers because a peer's
// words live in a read-only mapping.
#pragma once

#include <cstdint>

namespace bulkhead::ipc {

template<typename T>
inline T load_acquire(const T *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
template<typename T>
inline T load_relaxed(const T *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
template<typename T>
inline T load_seq_cst(const T *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
template<typename T>
inline void store_release(T *p, T v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
template<typename T>
inline void store_relaxed(T *p, T v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
template<typename T>
inline void store_seq_cst(T *p, T v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
template<typename T>
inline T fetch_add_seq_cst(T *p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
template<typename T>
inline bool cas_relaxed(T *p, T &expected, T desired)
{
	return __atomic_compare_exchange_n(p, &expected, desired, true,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
inline void fence_seq_cst() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

} // namespace bulkhead::ipc

namespace bulkhead::ipc {
template<typename T>
inline T fetch_sub_seq_cst(T *p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
} // namespace bulkhead::ipc

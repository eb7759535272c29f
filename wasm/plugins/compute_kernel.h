/* SPDX-License-Identifier: Apache-2.0 */
/* The compute plugin's work, one source for its native and wasm builds. */
#ifndef BULKHEAD_COMPUTE_KERNEL_H
#define BULKHEAD_COMPUTE_KERNEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The sieve's table: static, so a call measures the loop, not the page
 * faults of a fresh allocation (which native and wasm pay differently). */
#define COMPUTE_SIEVE_MAX (1u << 22)
static uint8_t compute_table[COMPUTE_SIEVE_MAX + 1];

/* Primes up to n (at most COMPUTE_SIEVE_MAX), by a byte sieve: a tight
 * loop of loads and stores. */
static inline uint32_t compute_sieve(uint32_t n)
{
	if (n > COMPUTE_SIEVE_MAX)
		n = COMPUTE_SIEVE_MAX;
	uint8_t *composite = compute_table;
	memset(composite, 0, n + 1);
	uint32_t count = 0;
	for (uint32_t i = 2; i <= n; ++i) {
		if (composite[i])
			continue;
		++count;
		for (uint64_t j = (uint64_t)i * i; j <= n; j += i)
			composite[j] = 1;
	}
	return count;
}

/* `rounds` steps of xorshift64: a latency-bound arithmetic loop. */
static inline uint64_t compute_xorshift(uint32_t rounds)
{
	uint64_t x = 88172645463325252ull;
	for (uint32_t i = 0; i < rounds; ++i) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

static inline uint32_t compute_u32(const uint8_t *in, size_t size)
{
	uint32_t v = 0;
	if (size >= 4)
		memcpy(&v, in, 4);
	return v;
}

#endif /* BULKHEAD_COMPUTE_KERNEL_H */

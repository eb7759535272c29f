// SPDX-License-Identifier: Apache-2.0
// The measurements of `bulkhead bench call`; bench_call.cpp runs them and
// reports. Each sample is timed with steady_clock (vDSO clock_gettime).
#pragma once

#include <cstddef>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

#include "bench_stats.hpp"

namespace bulkhead {
class Plugin;
}

namespace bulkhead::tools {

// No isolation: a virtual call through a base pointer whose dynamic type
// the compiler cannot know, in batches of many calls per timestamp; one
// sample per batch, in ns per call.
Summary measure_inproc_call(std::size_t batches, ByteView payload);

// One timed `echo` call through the public Plugin API, in ns, checked to
// return the payload. The deadline is made inside the timed region, as a
// caller would.
Result<double> timed_echo(const Plugin &plugin, ByteView payload);

// Back-to-back timed_echo() after a warm-up: the shim is awake.
Result<Summary> measure_shm_hot(const Plugin &plugin, ByteView payload, std::size_t samples);

// Throughput through the public API, the better of two ways to keep the
// shim busy: Plugin::async_call with `depth` calls in flight, handlers bound
// to an executor this thread runs; and back-to-back Plugin::call from one
// thread per CPU less one. Each runs `calls` calls after a warm-up and is
// logged with its host CPU time per call. One rate over the whole run:
// median = p99 = it.
Result<Summary> measure_shm_pipelined(const Plugin &plugin, ByteView payload,
				      std::size_t calls, std::size_t depth);

// Blocking request/response over an AF_UNIX SOCK_SEQPACKET socketpair with
// a peer process, carrying the same flatbuffers Request and Completion as
// the channel, each side verifying what it receives. Back-to-back. The
// peer is pinned to `peer_cpu` unless it is negative.
Result<Summary> measure_uds(ByteView payload, std::size_t samples, int peer_cpu);

} // namespace bulkhead::tools

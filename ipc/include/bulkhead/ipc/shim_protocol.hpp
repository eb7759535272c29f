// SPDX-License-Identifier: Apache-2.0
// How the broker starts a shim: the descriptor numbers the shim finds its
// channel on, and its command line. Both sides include this one header.
#pragma once

#include <cstdint>

namespace bulkhead::ipc::shim_protocol {

inline constexpr int kControlFd = 3;    // SOCK_SEQPACKET to the broker
inline constexpr int kHostRegionFd = 4; // host region, read-only
inline constexpr int kShimRegionFd = 5; // shim region, read-write
inline constexpr int kNotifyFd = 6;     // eventfd for async completions
inline constexpr int kLifelineFd = 7;   // pipe read end: EOF = broker gone
inline constexpr int kPayloadFd = 8;    // sealed memfd: the plugin's bytes
inline constexpr int kAotFd = 9;        // sealed memfd: a wasm payload's compiled code (tier A)
inline constexpr int kStateFd = 10;      // sealed memfd, at a reload: the state handed over
inline constexpr int kSeccompFd = 11;    // sealed memfd, sandboxed: the compiled seccomp filter
inline constexpr int kFirstFreeFd = 12; // everything from here is closed
// Above every number a shim is given: descriptors are moved up here before
// being put in place, so that placing one never closes another still needed
// (the broker's spawn, and a spare shim placing an Assign's).
inline constexpr int kStagingFloor = 100;

// argv: bulkhead-shim --plugin <label> [--spin-us N] [--wasm-<option> V]...
// The label only names the plugin in messages; the shim loads what
// kPayloadFd holds. The --wasm- options are wasm/.../options.hpp's.
inline constexpr const char *kPluginFlag = "--plugin";
inline constexpr const char *kSpinFlag = "--spin-us";
// argv of a spare: bulkhead-shim --spare, with only kControlFd and
// kLifelineFd (and /dev/null as 0-2). It waits for an Assign message
// (control.fbs), puts the descriptors it carries at their numbers and
// goes on as if spawned with the Assign's argv.
inline constexpr const char *kSpareFlag = "--spare";

// A request with this operation index is a health ping: the shim answers
// it with an empty success without calling the plugin.
inline constexpr std::uint32_t kPingOp = 0xffffffffu;
// A request for the plugin's exported state at a reload: payload offset
// and most bytes wanted (two u64, little-endian); the answer is the total
// size (u64) and the bytes from the offset. Offset 0 asks the plugin to
// export anew; the shim keeps the bytes for the following pieces.
inline constexpr std::uint32_t kExportStateOp = 0xfffffffeu;

// Exit statuses of a shim that could not start (after a Fatal message).
inline constexpr int kExitStartFailed = 70;
inline constexpr int kExitBrokerGone = 71;

} // namespace bulkhead::ipc::shim_protocol

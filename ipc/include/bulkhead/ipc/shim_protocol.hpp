// SPDX-License-Identifier: Apache-2.0
// How the broker starts a shim: the descriptor numbers the shim finds its
// channel on, and its command line. Both sides include this one header.
#pragma once

namespace bulkhead::ipc::shim_protocol {

inline constexpr int kControlFd = 3;    // SOCK_SEQPACKET to the broker
inline constexpr int kHostRegionFd = 4; // host region, read-only
inline constexpr int kShimRegionFd = 5; // shim region, read-write
inline constexpr int kNotifyFd = 6;     // eventfd for async completions
inline constexpr int kLifelineFd = 7;   // pipe read end: EOF = broker gone
inline constexpr int kFirstFreeFd = 8;  // everything from here is closed

// argv: bulkhead-shim --plugin <path> [--spin-us N]
inline constexpr const char *kPluginFlag = "--plugin";
inline constexpr const char *kSpinFlag = "--spin-us";

// Exit statuses of a shim that could not start (after a Fatal message).
inline constexpr int kExitStartFailed = 70;
inline constexpr int kExitBrokerGone = 71;

} // namespace bulkhead::ipc::shim_protocol

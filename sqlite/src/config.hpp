// SPDX-License-Identifier: Apache-2.0
// The extension's configuration: HostOptions read from the environment when
// the extension is loaded into a connection (docs/sqlite.md lists them).
#pragma once

#include <bulkhead/host_options.hpp>
#include <bulkhead/log.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::sqlite {

struct Config {
	HostOptions host;
	// BULKHEAD_LOG_LEVEL: the threshold of the extension's own log (its
	// copy of the kernel is private to it). Warnings by default: crashes
	// and development mode are told, state changes are not.
	log::Level log_level = log::Level::Warning;
};

// FailedPrecondition naming the variable for a value that does not parse,
// and the trust store's error for a key file that does not read.
Result<Config> config_from_environment();

} // namespace bulkhead::sqlite

// SPDX-License-Identifier: Apache-2.0
// Session: what one SQLite connection owns: a Host and the plugins loaded
// through it, each under the name SQL calls it by. Independent of SQLite.
//
// Lifetime: created when the extension is loaded into a connection, destroyed
// when the connection closes (the functions' destructor), which stops every
// plugin and joins the Host's threads. Threads: every member is thread-safe;
// calls run outside the lock, so one slow plugin does not hold up the others.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/ext/compression.hpp>
#include <bulkhead/host.hpp>

namespace bulkhead::sqlite {

// One loaded plugin. Immutable once published; shared with calls in flight.
struct Loaded {
	std::string name; // as SQL names it: the alias, else the plugin's own
	Plugin plugin;
	ext::Compression compression; // meaningful for compression plugins only
};

class Session {
public:
	static Result<std::unique_ptr<Session>> create(HostOptions options);

	// Starts the plugin at `path` and names it `alias`, or the plugin's
	// own name. FailedPrecondition when the name is taken in this session
	// (nothing stays started then); otherwise Host::load's errors.
	Result<std::string> load(const std::string &path, std::optional<std::string> alias);
	// Drains and stops it. NotFound for a name not loaded.
	Result<void> unload(std::string_view name);
	// NotFound, naming how to load it, for a name not loaded.
	Result<std::shared_ptr<const Loaded>> find(std::string_view name) const;
	// Every loaded plugin, by name.
	std::vector<std::shared_ptr<const Loaded>> loaded() const;

	const HostOptions &options() const { return host_->options(); }

private:
	explicit Session(std::unique_ptr<Host> host) : host_(std::move(host)) {}

	// First: destroyed last, after the handles below.
	std::unique_ptr<Host> host_;
	mutable std::mutex mutex_;
	std::map<std::string, std::shared_ptr<const Loaded>, std::less<>> plugins_;
};

} // namespace bulkhead::sqlite

// SPDX-License-Identifier: Apache-2.0
// Endpoint: what a typed proxy calls. One loaded plugin, either in its own
// sandboxed shim (the default: behind a Plugin handle) or, for a bundle
// signed by a key the host marks first-party and loaded with in-process
// placement allowed, inside the host process behind the same interface.
// Proxies cannot tell the two apart; info() says which it is.
//
// Threads: call() is thread-safe for both placements (the in-process one
// serializes calls, as a shim does).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/bytes.hpp>
#include <bulkhead/deadline.hpp>
#include <bulkhead/host.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ext {

enum class Placement : std::uint8_t {
	Isolated,  // its own shim process, sandboxed
	InProcess, // in the host process: first-party code only
};

const char *to_string(Placement placement);

class Endpoint {
public:
	virtual ~Endpoint() = default;
	virtual const std::string &name() const = 0;
	virtual Placement placement() const = 0;
	// The serving version's operations (a reload may change them).
	virtual std::vector<std::string> operations() const = 0;
	virtual Result<Bytes> call(std::string_view op, ByteView payload, Deadline deadline) const = 0;
	// The largest request (and answer) one call carries.
	virtual std::size_t max_payload() const { return SIZE_MAX; }
	// The isolated plugin's handle (for reload, metrics, kill); null when
	// in process.
	virtual const Plugin *plugin() const { return nullptr; }

	bool has_operation(std::string_view op) const;
};

// An isolated endpoint over a loaded plugin.
std::shared_ptr<Endpoint> isolated(Plugin plugin);

} // namespace bulkhead::ext

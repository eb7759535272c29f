// SPDX-License-Identifier: Apache-2.0
// What a Host is configured with, and what it reports about plugins.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <bulkhead/broker/manifest.hpp>
#include <bulkhead/broker/plugin_root.hpp>
#include <bulkhead/broker/trust_store.hpp>
#include <bulkhead/broker/output_lines.hpp>
#include <bulkhead/bytes.hpp>
#include <bulkhead/error.hpp>
#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/sandbox/policy.hpp>
#include <bulkhead/sandbox/report.hpp>
#include <bulkhead/wasm/options.hpp>

namespace bulkhead {

// Supervision: a plugin whose serving instance dies (with no warm standby
// to roll back to) is restarted after an exponential back-off with jitter;
// more than `max_crashes` deaths within `crash_window` open the circuit:
// the plugin is Quarantined, its calls fail at once, and only a reload
// brings it back.
struct RestartPolicy {
	bool enabled = true;
	std::chrono::milliseconds initial_backoff{100};
	std::chrono::milliseconds max_backoff{30'000};
	double jitter = 0.2; // each delay is scaled by a random factor in [1 - j, 1 + j]
	unsigned max_crashes = 5;
	std::chrono::milliseconds crash_window{60'000};
};

struct HostOptions {
	// The bulkhead-shim executable. Empty: $BULKHEAD_SHIM, else the path
	// this build installed it to.
	std::string shim_path;
	// Where bundles live. When set, load() and install() names resolve
	// beneath it (no symlinks, no '..'). Empty: load() takes a path as
	// given, refusing a final symlink.
	std::string plugin_root;
	// The keys bundles may be signed with, and the revoked ones.
	broker::TrustStore trust;
	// Accepts unsigned bundles and bare .so files, with a warning on every
	// load. Off by default; for plugin development only.
	bool development_mode = false;
	// Key ids (as the trust store pins them) of the host's own, first-party
	// publishers. A bundle signed by one may run inside the host process
	// when its loader asks (ext::Extensions, allow_in_process); nothing
	// else ever does. Empty: every plugin is isolated.
	std::vector<std::string> first_party_keys;
	// The tamper-evident audit log (docs/audit.md): every install, verify,
	// load, unload, crash and kill, fsynced. Empty: none. A load or
	// install whose record cannot be written fails.
	std::string audit_log;
	// Ring geometry of every channel: calls in flight and the largest
	// message (cell_bytes less ~110 bytes of envelope).
	ipc::Geometry geometry;
	// How long a waiting host thread spins before it sleeps. Long enough
	// to cover a sleeping shim's wake-up (~45 µs on a VM) keeps a cold
	// call at one wake-up instead of two.
	std::chrono::microseconds host_spin{100};
	// How long an idle shim spins before it sleeps.
	std::chrono::microseconds shim_spin{50};
	// Once a native plugin has started, keep one spare shim process
	// spawned (exec'd and linked, holding nothing of any plugin) for the
	// next load, reload or restart, which then skips spawn, exec and
	// linking: about half an unsandboxed start here. Costs one idle
	// process (~2 MiB resident). Off: every start spawns.
	bool spare_shim = true;
	std::chrono::milliseconds start_deadline{10'000};
	std::chrono::milliseconds init_deadline{5'000};
	std::chrono::milliseconds shutdown_deadline{5'000};
	// The reload hook: the replaced version's export_state(). Past it that
	// instance is killed and the reload refused.
	std::chrono::milliseconds reload_deadline{5'000};
	// Most state bytes a reload hands over; more refuses the reload.
	std::uint64_t max_handed_state = 64ull << 20;
	// Deadline of a call made without one.
	std::chrono::milliseconds default_call_deadline{5'000};
	// After a reload the old version stays warm this long: a new version
	// that crashes within it is swapped back at once (automatic rollback).
	std::chrono::milliseconds reload_grace{5'000};
	RestartPolicy restart;
	// Health pings through the channel to an idle plugin: one that does
	// not answer within health_timeout is presumed hung and killed (then
	// restarted or rolled back as for a crash). A new instance must answer
	// one before it serves. 0 interval: no periodic pings.
	std::chrono::milliseconds health_interval{1'000};
	std::chrono::milliseconds health_timeout{5'000};
	// Every shim's sandbox (docs/sandbox.md): limits, and the capabilities
	// plugins may be granted.
	sandbox::SandboxPolicy sandbox;
	// Plugins' stdout, stderr and SDK log calls reach the log (log::set_sink)
	// as lines tagged "plugin echo#3: ..."; longer lines arrive in pieces,
	// and past the rate a notice counts what was dropped.
	broker::OutputLimits plugin_output;

	// WebAssembly plugins (a payload starting with \0asm; docs/wasm.md).
	// The shim that runs them. Empty: $BULKHEAD_WASM_SHIM, else the path
	// this build installed it to.
	std::string wasm_shim_path;
	// Tier A's compiled objects: a directory plugins cannot write. Empty:
	// $XDG_CACHE_HOME/bulkhead/wasm, ~/.cache/bulkhead/wasm, or
	// /var/cache/bulkhead/wasm for root.
	std::string wasm_cache_dir;
	// The translator and C compiler. Empty: wasm2c and gcc from /usr/bin.
	std::string wasm2c_path;
	std::string wasm_cc_path;
	// Tier, fuel, memory cap, per-call limit and capabilities of every
	// WebAssembly load that does not say otherwise.
	wasm::RunOptions wasm;
};

// DESIGN.md §4. A first load passes Installed, Verified (its bundle
// checked) and Starting (its shim spawned) on its way to Ready, each an
// audit record; a load that fails after verification ends Stopped. A
// plugin is Ready while an instance serves it; Draining while it is being
// unloaded; RolledBack once a failed new version was swapped back to its
// standby (until the next reload).
enum class PluginState : std::uint8_t {
	Installed, Verified, Starting, Ready, Draining, Stopped, Crashed, Quarantined, RolledBack,
};
const char *to_string(PluginState state);

struct LoadOptions {
	Bytes config; // handed to the plugin's init()
	// Hook deadlines for this plugin; zero: HostOptions' (5 s by default).
	// Past one the shim is killed and the failure recorded.
	std::chrono::milliseconds init_deadline{0};
	std::chrono::milliseconds shutdown_deadline{0};
	// For a reload: how long the version it replaces may take to export
	// its state (the reload hook).
	std::chrono::milliseconds reload_deadline{0};
	// Capabilities the plugin requests, besides its manifest's; the load
	// is refused with PermissionDenied unless HostOptions::sandbox grants
	// them all.
	std::vector<sandbox::CapabilityGrant> capabilities{};
	// Overrides HostOptions::wasm for this load.
	std::optional<wasm::RunOptions> wasm;
	// Told each step of a WebAssembly module's compile (seconds on a cold
	// cache), on the loading thread.
	std::function<void(std::string_view)> progress;
};

struct PluginInfo {
	std::string name;
	std::string version;
	std::uint64_t instance = 0;
	int pid = 0;
	std::vector<std::string> operations;
	std::string runtime; // "native", "wasm-aot" or "wasm-interp"
	std::size_t max_payload = 0;
	bool alive = false;
	std::uint64_t ring_occupancy = 0;
	std::string source;       // the bundle or file it was loaded from
	std::string key_id;       // empty: unsigned (development mode)
	std::string payload_hash; // hex BLAKE2b-256 of the bytes running
	PluginState state = PluginState::Ready;
	std::string standby_version; // the warm standby after a reload; empty: none
	std::uint64_t restarts = 0;  // by the supervisor, since load
};

struct DiscoveredBundle {
	std::string file;      // name under the plugin root
	std::string key_id;    // empty when unsigned
	broker::Manifest manifest;
	std::optional<Error> refused; // set: why it would not load
};

} // namespace bulkhead

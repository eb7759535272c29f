// SPDX-License-Identifier: Apache-2.0
// Host: what the database embeds. Loads plugins into their own shim
// processes and calls them. A plugin that crashes, hangs or breaks the
// protocol fails only its own calls, each with a structured Error naming the
// plugin, the instance and what happened.
//
// Threads: every member is thread-safe. Lifetime: destroying the Host stops
// every plugin it loaded; Plugin handles that outlive it fail their calls
// with Unavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <bulkhead/broker/manifest.hpp>
#include <bulkhead/bytes.hpp>
#include <bulkhead/deadline.hpp>
#include <bulkhead/host_options.hpp>
#include <bulkhead/metrics.hpp>
#include <bulkhead/ipc/channel.hpp>
#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/sandbox/policy.hpp>
#include <bulkhead/sandbox/report.hpp>

namespace bulkhead {

namespace broker {
class AuditLog;
struct AuditRecord;
class Instance;
class Supervisor;
} // namespace broker

namespace detail {
class Live;
class Restarter;
class Retirer;
struct Route;
} // namespace detail

// One submitted call, waited for later: keep several in flight from one
// thread (pipelining) without an io_context. Move-only; destroying one that
// was not waited for abandons the call (its answer is dropped).
class PendingCall {
public:
	PendingCall(PendingCall &&other) noexcept;
	PendingCall &operator=(PendingCall &&other) noexcept;
	PendingCall(const PendingCall &) = delete;
	PendingCall &operator=(const PendingCall &) = delete;
	~PendingCall();

	// Waits for the answer, until the deadline given at submit. Once.
	Result<Bytes> wait();

private:
	friend class Plugin;
	PendingCall(std::shared_ptr<detail::Live> live, ipc::Ticket ticket, Deadline deadline,
		    std::shared_ptr<detail::Route> route)
		: live_(std::move(live)), ticket_(ticket), deadline_(deadline), route_(std::move(route)),
		  started_(Clock::now()) {}
	void finish(); // gives the instance's lease back
	std::shared_ptr<detail::Live> live_; // null once waited for
	ipc::Ticket ticket_;
	Deadline deadline_;
	std::shared_ptr<detail::Route> route_; // for its call counters
	Clock::time_point started_;
};

// A handle to one loaded plugin. Calls go to whichever instance serves it
// now: a reload or rollback swaps that under the handle, and a call already
// sent finishes on the instance it went to. Cheap to copy.
class Plugin {
public:
	PluginInfo info() const;
	const std::string &name() const;
	// What the host measured: calls, errors by code, latency, restarts,
	// reloads, the shim's RSS and CPU time, ring occupancy.
	PluginMetrics metrics() const;

	// Calls `op` and waits for the answer. A plugin that does not answer
	// before `deadline` is presumed hung and is killed: this call fails
	// with DeadlineExceeded, any others in flight with PluginCrashed.
	Result<Bytes> call(std::string_view op, ByteView payload, Deadline deadline) const;
	Result<Bytes> call(std::string_view op, ByteView payload) const;
	// Sends the call now; the answer is collected by PendingCall::wait().
	// Fails at once when every call slot stays busy until `deadline`.
	Result<PendingCall> submit(std::string_view op, ByteView payload, Deadline deadline) const;

	// The same, asynchronously: `token` is a Boost.Asio completion token
	// with signature void(Result<Bytes>) (a callback, optionally bound to
	// an executor with bind_executor). The handler runs on its associated
	// executor, which is kept busy until it has run.
	template<typename Token>
	auto async_call(std::string_view op, ByteView payload, Deadline deadline, Token &&token) const
	{
		return boost::asio::async_initiate<Token, void(Result<Bytes>)>(
			[this, op, payload, deadline](auto handler) {
				auto ex = boost::asio::get_associated_executor(handler);
				auto work = std::make_shared<
					boost::asio::executor_work_guard<decltype(ex)>>(ex);
				auto h = std::make_shared<decltype(handler)>(std::move(handler));
				submit_async(op, payload, deadline,
					     [ex, work, h](Result<Bytes> r) mutable {
						     boost::asio::post(ex, [h, work, r = std::move(r)]() mutable {
							     (*h)(std::move(r));
							     work->reset();
						     });
					     });
			},
			token);
	}

	// Each sandbox layer of the serving instance: enforced, degraded or
	// off, and why; and the cgroups it runs in. Empty once none serves.
	sandbox::SandboxReport sandbox() const;

	// Fuel the serving WebAssembly instance has left, when it has a budget;
	// FailedPrecondition when it has none. A new instance (a reload)
	// starts with the whole budget.
	Result<std::uint64_t> fuel_remaining(Deadline deadline) const;

	// Whether the serving instance is still running.
	bool alive() const;
	// Why it ended, once it has.
	std::optional<Error> exit_error() const;
	// Kills the serving instance's shim with SIGKILL at once, as a crash
	// would (for tests, demos and operators); its in-flight calls fail
	// with PluginCrashed.
	void kill() const;
	// Waits until the serving instance, dead, has been reaped and its end
	// written to the audit log.
	bool wait_exit(std::chrono::milliseconds timeout) const;

private:
	friend class Host;
	Plugin(std::shared_ptr<detail::Route> route, std::chrono::milliseconds default_deadline,
	       std::shared_ptr<broker::AuditLog> audit)
		: route_(std::move(route)), default_deadline_(default_deadline), audit_(std::move(audit)) {}
	std::shared_ptr<broker::Instance> serving() const;
	void submit_async(std::string_view op, ByteView payload, Deadline deadline,
			  std::function<void(Result<Bytes>)> done) const;

	std::shared_ptr<detail::Route> route_;
	std::chrono::milliseconds default_deadline_;
	std::shared_ptr<broker::AuditLog> audit_; // null: no audit log
};

// What Host::verify found.
struct VerifiedPlugin {
	std::string source;
	std::optional<broker::Manifest> manifest; // none: a bare file (development mode)
	std::string key_id;                       // empty: unsigned
	std::string payload_hash;
	bool wasm = false;
	Bytes file; // the whole file, read once
	std::size_t payload_offset = 0, payload_size = 0;
	// The selected payload's bytes, as they would run.
	ByteView payload() const { return ByteView(file.data() + payload_offset, payload_size); }
};

class Host {
public:
	static Result<std::unique_ptr<Host>> create(HostOptions options = {});
	~Host();
	Host(const Host &) = delete;
	Host &operator=(const Host &) = delete;

	// Starts a plugin in a new shim: read the file once, verify it (a
	// signed bundle; bare shared objects and unsigned bundles only in
	// development mode), seal the payload, spawn, handshake, init. `name`
	// resolves beneath HostOptions::plugin_root when one is set.
	// PermissionDenied for anything the trust policy or the path rules
	// refuse, NotFound for a missing file or shim, InvalidArgument for a
	// file that is not a plugin, FailedPrecondition for a payload that
	// cannot run here or a protocol mismatch, PluginFailed when init
	// refuses. Every message names the reason.
	Result<Plugin> load(const std::string &name, LoadOptions options = {});
	// Verifies the bundle at `source` (any path: the operator's input)
	// with every payload's hash and copies it into the plugin root as
	// NAME-VERSION.bhb, durably; returns that name.
	Result<std::string> install(const std::string &source);
	// Every *.bhb directly under the plugin root, each manifest verified
	// (signature and manifest; payload hashes are checked at load).
	Result<std::vector<DiscoveredBundle>> discover() const;
	// Stops a plugin: new calls fail with Unavailable, calls in flight
	// finish (drain), then graceful shutdown, forced at the deadline.
	void unload(const Plugin &plugin);
	// unload(), telling what went wrong: calls still out at the drain
	// deadline, a shutdown hook killed at its deadline, an instance that
	// had crashed already. DeadlineExceeded naming each; it stops anyway.
	Result<void> stop(const Plugin &plugin);
	// What load() would verify for `name`, without starting anything: the
	// bytes that would run, who signed them and, for a bundle, the
	// manifest. The same refusals as load().
	Result<VerifiedPlugin> verify(const std::string &name) const;
	// Appends a record to the audit log (HostOptions::audit_log), for what
	// runs outside the host's own lifecycle (in-process extensions). Fails
	// only when the log cannot be written; no log: nothing to do.
	Result<void> audit(const broker::AuditRecord &record) const;
	// Hot reload: starts `name` (a bundle, as load() takes it) beside the
	// running version; once it is Ready the router swaps to it atomically.
	// Calls in flight finish on the old instance, which stays warm for
	// HostOptions::reload_grace: if the new one crashes within it, the
	// router swaps back by itself. If the new version fails to verify,
	// start or init, nothing is swapped and the reason is returned.
	Result<void> reload(const Plugin &plugin, const std::string &name, LoadOptions options = {});
	// Swaps back to the warm standby now; FailedPrecondition without one.
	Result<void> rollback(const Plugin &plugin);
	// Every instance loaded and not unloaded.
	std::vector<PluginInfo> plugins() const;

	const HostOptions &options() const { return options_; }

private:
	explicit Host(HostOptions options);

	Result<Bytes> read_plugin(const std::string &name) const;
	// Verifies, starts and audits one instance for `route`; a reload
	// hands the replaced version's state to its init.
	Result<std::shared_ptr<broker::Instance>> start_instance(const std::string &name, LoadOptions load,
								 const std::shared_ptr<detail::Route> &route,
								 Bytes handed_state = {});
	// Supervision (host_supervise.cpp): counts the death, then restarts
	// after the back-off, or opens the circuit.
	void schedule_restart(std::shared_ptr<detail::Route> route);
	void restart(const std::shared_ptr<detail::Route> &route);
	// Pings the route's instance when idle, every health_interval.
	void schedule_health(std::weak_ptr<detail::Route> route);
	// Drains and stops `live` at `when`, if it is then no route's current.
	void retire(std::shared_ptr<detail::Route> route, std::shared_ptr<detail::Live> live,
		    std::chrono::steady_clock::time_point when, std::string why);

	HostOptions options_;
	std::optional<broker::PluginRoot> root_;
	std::shared_ptr<broker::AuditLog> audit_;
	std::shared_ptr<broker::Supervisor> supervisor_;
	mutable std::mutex mutex_;
	std::vector<std::shared_ptr<detail::Route>> routes_;
	std::uint64_t next_instance_ = 1;
	std::unique_ptr<detail::Retirer> retirer_;
	std::shared_ptr<detail::Restarter> restarter_;
};

} // namespace bulkhead

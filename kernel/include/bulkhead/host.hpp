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

#include <bulkhead/bytes.hpp>
#include <bulkhead/deadline.hpp>
#include <bulkhead/ipc/channel.hpp>
#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/wasm/options.hpp>

namespace bulkhead {

namespace broker {
class Instance;
class Supervisor;
} // namespace broker

struct HostOptions {
	// The bulkhead-shim executable. Empty: $BULKHEAD_SHIM, else the path
	// this build installed it to.
	std::string shim_path;
	// Ring geometry of every channel: calls in flight and the largest
	// message (cell_bytes less ~110 bytes of envelope).
	ipc::Geometry geometry;
	// How long a waiting host thread spins before it sleeps. Long enough
	// to cover a sleeping shim's wake-up (~45 µs on a VM) keeps a cold
	// call at one wake-up instead of two.
	std::chrono::microseconds host_spin{100};
	// How long an idle shim spins before it sleeps.
	std::chrono::microseconds shim_spin{50};
	std::chrono::milliseconds start_deadline{10'000};
	std::chrono::milliseconds init_deadline{5'000};
	std::chrono::milliseconds shutdown_deadline{5'000};
	// Deadline of a call made without one.
	std::chrono::milliseconds default_call_deadline{5'000};

	// WebAssembly plugins (a payload starting with \0asm; docs/wasm.md).
	// The shim that runs them. Empty: $BULKHEAD_WASM_SHIM, else the one
	// installed beside the native shim.
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

struct LoadOptions {
	Bytes config; // handed to the plugin's init()
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
};

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
	PendingCall(std::shared_ptr<broker::Instance> instance, ipc::Ticket ticket, Deadline deadline)
		: instance_(std::move(instance)), ticket_(ticket), deadline_(deadline) {}
	std::shared_ptr<broker::Instance> instance_; // null once waited for
	ipc::Ticket ticket_;
	Deadline deadline_;
};

// A handle to one loaded plugin instance. Cheap to copy.
class Plugin {
public:
	PluginInfo info() const;
	const std::string &name() const;

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

	// Fuel a WebAssembly instance with a budget has left. FailedPrecondition
	// when it has none; a fresh instance (a reload) starts full again.
	Result<std::uint64_t> fuel_remaining(Deadline deadline) const;

	// Whether the instance is still running.
	bool alive() const;
	// Why it ended, once it has.
	std::optional<Error> exit_error() const;
	// Kills the shim with SIGKILL at once, as a crash would (for tests,
	// demos and operators); in-flight calls fail with PluginCrashed.
	void kill() const;
	// Waits until a dead instance has been reaped.
	bool wait_exit(std::chrono::milliseconds timeout) const;

private:
	friend class Host;
	Plugin(std::shared_ptr<broker::Instance> instance, std::chrono::milliseconds default_deadline)
		: instance_(std::move(instance)), default_deadline_(default_deadline) {}
	void submit_async(std::string_view op, ByteView payload, Deadline deadline,
			  std::function<void(Result<Bytes>)> done) const;

	std::shared_ptr<broker::Instance> instance_;
	std::chrono::milliseconds default_deadline_;
};

class Host {
public:
	static Result<std::unique_ptr<Host>> create(HostOptions options = {});
	~Host();
	Host(const Host &) = delete;
	Host &operator=(const Host &) = delete;

	// Starts `path` (a plugin shared object) in a new shim: spawn,
	// handshake, init. NotFound for a missing file or shim,
	// InvalidArgument for a file that is not a plugin, PluginFailed when
	// its init refuses, FailedPrecondition on a protocol mismatch.
	Result<Plugin> load(const std::string &path, LoadOptions options = {});
	// Stops an instance: graceful shutdown first, forced at the deadline.
	void unload(const Plugin &plugin);
	// Every instance loaded and not unloaded.
	std::vector<PluginInfo> plugins() const;

	const HostOptions &options() const { return options_; }

private:
	explicit Host(HostOptions options);

	HostOptions options_;
	std::shared_ptr<broker::Supervisor> supervisor_;
	mutable std::mutex mutex_;
	std::vector<std::shared_ptr<broker::Instance>> instances_;
	std::uint64_t next_instance_ = 1;
};

} // namespace bulkhead

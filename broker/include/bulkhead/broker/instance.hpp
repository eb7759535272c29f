// SPDX-License-Identifier: Apache-2.0
// Instance: one running shim with its plugin loaded: the process, the
// channel, the control socket, and the watchers that turn its death into
// one structured Error for every call in flight.
//
// Threads: call() and call_async() from any thread; the supervisor thread
// runs the watchers. Lifetime: shared; the last owner kills and reaps.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <bulkhead/broker/output_lines.hpp>
#include <bulkhead/broker/shim_process.hpp>
#include <bulkhead/broker/payload.hpp>
#include <bulkhead/broker/supervisor.hpp>
#include <bulkhead/broker/wasm_launch.hpp>
#include <bulkhead/ipc/shm_channel.hpp>
#include <bulkhead/sandbox/cgroup.hpp>
#include <bulkhead/sandbox/policy.hpp>
#include <bulkhead/sandbox/report.hpp>

namespace bulkhead::control {
struct Sandboxed;
} // namespace bulkhead::control

namespace bulkhead::broker {

// Where an instance's code came from, for PluginInfo and the audit log.
struct Provenance {
	std::string source;       // the bundle or file name it was loaded from
	std::string key_id;       // the signing key; empty when unsigned
	std::string payload_hash; // hex BLAKE2b-256 of the bytes that run
};

struct InstanceOptions {
	std::string shim_path;
	ipc::Geometry geometry;
	ipc::WaitPolicy host_wait;                         // host spin before sleeping
	std::chrono::microseconds shim_spin{50};           // shim spin before sleeping
	bool spare_shim = true;                            // start in a spare; keep one ready
	std::chrono::milliseconds start_deadline{10'000};  // spawn to Hello
	std::chrono::milliseconds init_deadline{5'000};    // the plugin's init hook
	std::chrono::milliseconds shutdown_deadline{5'000};
	Bytes config;                                      // passed to init
	sandbox::SandboxPolicy sandbox;                    // the host's policy
	std::vector<sandbox::CapabilityGrant> capabilities; // the plugin requests
	Provenance provenance;
	// Called once, on the supervisor thread, when the process has ended,
	// with the verdict every call in flight got. Keep it short.
	std::function<void(const Error &)> on_exit;
	// Called once, as soon as the broker knows the process is dying: at
	// its death notice (ipc/death_notice.hpp, on the death watch's
	// thread), else when it is reaped (on the supervisor thread) — before
	// its calls fail, its memory and cgroups are gone and on_exit runs:
	// for a router to swap to a standby without waiting for any of that.
	// With the termination known then (HostRequest for a stop the host
	// asked for; None for a death not yet explained). Atomics only; no I/O.
	std::function<void(Termination)> on_death;
	WasmSettings wasm;                                 // for WebAssembly payloads
	OutputLimits output;                               // the shim's stdout/stderr lines
	Bytes handed_state;                                // a reload's, for init
};

class Instance : public std::enable_shared_from_this<Instance> {
public:
	// Spawns the shim on `payload` (the shim gets its own read-only
	// descriptor; the caller keeps the payload), runs the handshake
	// (protocol version, schema hash) and the plugin's init; returns a
	// Ready instance or the reason.
	static Result<std::shared_ptr<Instance>> start(std::shared_ptr<Supervisor> supervisor,
						       const SealedPayload &payload,
						       const InstanceOptions &options,
						       std::uint64_t id);
	~Instance();

	const std::string &name() const { return name_; }
	const std::string &version() const { return version_; }
	// "native", "wasm-aot" or "wasm-interp", as the shim said.
	const std::string &runtime() const { return runtime_; }
	std::uint64_t id() const { return id_; }
	const Provenance &provenance() const { return options_.provenance; }
	// The process that runs the plugin: in a sandboxed shim, pid 2 of its
	// pid namespace as the host sees it (docs/sandbox.md), else the shim.
	pid_t pid() const { return plugin_pid_ > 0 ? plugin_pid_ : process_.pid(); }
	const std::vector<std::string> &operations() const { return operations_; }
	std::size_t max_payload() const { return channel_->max_payload(); }
	// Index of an operation, or NotFound naming the ones it has.
	Result<std::uint32_t> operation(std::string_view op) const;

	Result<Bytes> call(std::uint32_t op, ByteView payload, Deadline deadline);
	// The two halves of call(), for callers that keep several in flight.
	Result<ipc::Ticket> submit(std::uint32_t op, ByteView payload, Deadline deadline);
	Result<Bytes> wait(ipc::Ticket ticket, Deadline deadline);
	void abandon(ipc::Ticket ticket) { channel_->abandon(ticket); }
	// `handler` runs on whichever thread reaps the completion, or on the
	// caller's thread when submission fails; keep it short.
	void call_async(std::uint32_t op, ByteView payload, Deadline deadline,
			ipc::CompletionHandler handler);

	// The reload hook: the plugin's exported state, read in pieces through
	// the channel. Past `deadline` the instance is presumed hung and killed.
	Result<Bytes> export_state(Deadline deadline, std::uint64_t limit);

	// A health ping through the channel: the shim's serving loop answers
	// it without the plugin. Past `deadline` the instance is presumed hung
	// and killed, as for any call.
	Result<void> ping(Deadline deadline);
	void ping_async(Deadline deadline, std::function<void(Result<void>)> done);

	bool alive() const { return !exited_.load(std::memory_order_acquire); }
	// Why the instance ended, once it has.
	std::optional<Error> exit_error() const;
	// Kills the process now; `why` becomes the verdict unless one is set.
	void kill(Termination why, std::string detail = {});
	// Graceful first (Shutdown, the plugin's hook), then forced at the
	// deadline. Returns once the process is reaped.
	void shutdown();
	// Waits until the process has been reaped and its end recorded
	// (on_exit has run), at most `timeout`.
	bool wait_exit(std::chrono::milliseconds timeout) const;
	// Each sandbox layer's state, as the broker set it up and the shim
	// reported it before any plugin code ran.
	sandbox::SandboxReport sandbox() const;
	// Requests in the ring not yet taken by the shim.
	std::uint64_t ring_occupancy() const { return channel_->requests_pending(); }

private:
	struct Watchers;
	struct OutputPump;
	Instance() = default;
	Result<void> handshake(const std::string &plugin_path, const InstanceOptions &options);
	// Gives process_, control_ and lifeline_ their shim, as `spec` says.
	Result<void> launch(SpawnSpec &spec);
	bool uses_spares(const std::string &executable) const
	{
		return options_.spare_shim && executable == options_.shim_path;
	}
	void watch();
	// The death notice, on the death watch's thread; `died`: the kernel's
	// mark, else a value the plugin wrote.
	void on_death_notice(bool died);
	void announce_death(Termination why);
	void on_exit();
	void on_control_hangup();
	Error annotate(Error e) const;
	// The one verdict for a reaped shim: the host's kill reason, else the
	// kernel's facts (OOM counters, SIGSYS), else how it ended.
	Error verdict(const ExitStatus &status);
	// guard_bytes: address space reserved but never touched (tier A's
	// guard regions), allowed on top of RLIMIT_AS when that is the cap.
	Result<void> prepare_sandbox(std::vector<std::pair<int, int>> &fds,
				     std::vector<std::string> &argv, std::vector<UniqueFd> &keep,
				     std::uint64_t guard_bytes);
	void take_sandbox_report(const bulkhead::control::Sandboxed &message, UniqueFd listener);
	void watch_sandbox();
	void poll_memory();
	void on_seccomp_notification();
	void kill_for(Termination why, std::string detail, std::string syscall = {});
	// The shim's stdout and stderr (one pipe) to the host's log; renamed
	// once the shim says who it is; read to the end once it has exited.
	void watch_output(UniqueFd read_end);
	void name_output();
	void end_output();

	std::shared_ptr<Supervisor> supervisor_;
	std::string name_, version_, runtime_ = "native";
	std::vector<std::string> operations_;
	std::uint64_t id_ = 0;
	InstanceOptions options_;
	std::unique_ptr<ipc::ShmCallChannel> channel_;
	// Declared before process_: destroyed after it, so the groups are
	// removed once the shim is reaped.
	sandbox::CgroupSet cgroups_;
	mutable std::mutex sandbox_mutex_; // guards report_, cgroups_
	sandbox::SandboxReport report_;
	UniqueFd seccomp_listener_;        // the shim's filter, answered here
	pid_t plugin_pid_ = 0;             // set once, during the handshake
	ShimProcess process_;
	UniqueFd control_, lifeline_;
	std::shared_ptr<Watchers> watchers_;
	std::shared_ptr<OutputPump> output_;
	DeathWatch::Id death_watch_ = 0;   // 0: the pidfd alone tells
	std::atomic<bool> death_announced_{false};

	std::atomic<Termination> kill_reason_{Termination::None};
	std::mutex mutex_;                 // guards kill_detail_, exit_error_
	mutable std::mutex exit_mutex_;
	mutable std::condition_variable exit_cv_;
	std::string kill_detail_, kill_syscall_;
	std::optional<Error> exit_error_;
	std::atomic<bool> exited_{false};
	bool finished_ = false; // under exit_mutex_: reaped and on_exit has run
};

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// Starting, watching and ending one shim instance.
#include <bulkhead/broker/instance.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/log.hpp>

#include "instance_watchers.hpp"

namespace bulkhead::broker {

namespace asio = boost::asio;
namespace sp = ipc::shim_protocol;
namespace ctl = bulkhead::control;

Error Instance::annotate(Error e) const
{
	if (e.plugin.empty()) {
		e.plugin = name_;
		e.instance = id_;
	}
	return e;
}

Result<std::shared_ptr<Instance>> Instance::start(std::shared_ptr<Supervisor> supervisor,
						  const SealedPayload &payload,
						  const InstanceOptions &options, std::uint64_t id)
{
	if (::access(options.shim_path.c_str(), X_OK) != 0)
		return make_error(ErrorCode::NotFound,
				  fmt::format("shim executable '{}' is missing or not executable "
					      "(set HostOptions::shim_path or BULKHEAD_SHIM)",
					      options.shim_path));

	std::shared_ptr<Instance> inst(new Instance());
	inst->supervisor_ = std::move(supervisor);
	inst->id_ = id;
	inst->options_ = options;
	inst->name_ = payload.label(); // until the shim names it
	inst->channel_ = TRY(ipc::ShmCallChannel::create(options.geometry, options.host_wait));

	UniqueFd payload_fd = TRY(payload.read_only());
	// The state a reload hands over, sealed like the payload.
	UniqueFd state_fd;
	if (!options.handed_state.empty()) {
		auto sealed = TRY(SealedPayload::seal(options.handed_state, "handed-over state"));
		state_fd = TRY(sealed.read_only());
	}
	// The shim's stdout and stderr: one pipe, read into the host's log.
	int op[2];
	if (::pipe2(op, O_CLOEXEC) != 0)
		return Unexpected(errno_error("pipe2", errno));
	UniqueFd output_read(op[0]), output_write(op[1]);

	// A WebAssembly payload runs in the wasm shim, compiled first for tier A.
	std::optional<WasmLaunch> wasm;
	UniqueFd object_fd;
	if (payload.kind() == PayloadKind::Wasm) {
		// Linear memory lives in the sandbox's memory limit: the cap is
		// fitted under it, so memory.grow returns -1 before a kill.
		WasmSettings settings = options.wasm;
		if (options.sandbox.mode == sandbox::SandboxMode::Enforced)
			settings.sandbox_memory_limit = options.sandbox.memory_limit;
		wasm = TRY(prepare_wasm(payload, settings));
		if (wasm->object)
			object_fd = TRY(wasm->object->read_only());
	}
	const std::string &executable = wasm ? wasm->executable : options.shim_path;

	SpawnSpec spec;
	spec.executable = executable;
	spec.argv = {executable, sp::kPluginFlag, payload.label(), sp::kSpinFlag,
		     std::to_string(options.shim_spin.count())};
	if (wasm)
		spec.argv.insert(spec.argv.end(), wasm->args.begin(), wasm->args.end());
	const ipc::PeerFds peer = inst->channel_->peer_fds();
	spec.fds = {{peer.host_region, sp::kHostRegionFd},
		    {peer.shim_region, sp::kShimRegionFd},
		    {peer.notify, sp::kNotifyFd},
		    {payload_fd.get(), sp::kPayloadFd},
		    {output_write.get(), STDOUT_FILENO},
		    {output_write.get(), STDERR_FILENO}};
	if (object_fd.valid())
		spec.fds.emplace_back(object_fd.get(), sp::kAotFd);
	if (state_fd.valid())
		spec.fds.emplace_back(state_fd.get(), sp::kStateFd);
	std::vector<UniqueFd> sandbox_fds;
	// Tier A reserves 8 GiB of guard pages per linear memory (docs/wasm.md §7).
	const std::uint64_t guard_bytes = object_fd.valid() ? (8ull << 30) : 0;
	TRY(inst->prepare_sandbox(spec.fds, spec.argv, sandbox_fds, guard_bytes));
	if (wasm && !wasm->memory_note.empty())
		inst->report_.add("wasm-memory", sandbox::LayerState::Enforced, wasm->memory_note);
	TRY(inst->launch(spec));
	payload_fd.reset();
	output_write.reset();
	state_fd.reset();
	inst->watch_output(std::move(output_read));
	object_fd.reset();
	sandbox_fds.clear();
	inst->channel_->release_peer_fds();
	inst->watchers_ = std::make_shared<Watchers>(inst->supervisor_->io());
	inst->watch_sandbox();

	auto hs = inst->handshake(payload.label(), options);
	// The next start's spare, spawned now that this one no longer needs
	// the CPU for its own start.
	if (inst->uses_spares(executable))
		inst->supervisor_->refill_spare(executable);
	if (!hs.has_value())
		return Unexpected(inst->annotate(std::move(hs).error()));
	inst->name_output();

	Instance *raw = inst.get();
	inst->channel_->set_hooks({
		[raw](const Error &e) { raw->kill(Termination::Protocol, e.message); },
		[raw] { raw->kill(Termination::Deadline, "a call's deadline passed"); },
	});
	inst->watch();
	log::info("plugin {} {} instance {} ready (pid {})", inst->name_, inst->version_, id,
		  inst->pid());
	return inst;
}

// A spare shim when one is ready (spare_shim.hpp), else a new process.
Result<void> Instance::launch(SpawnSpec &spec)
{
	if (uses_spares(spec.executable)) {
		if (auto spare = supervisor_->take_spare(spec.executable)) {
			auto started = SpareShim::assign(std::move(spare).value(), spec);
			if (started.has_value()) {
				process_ = std::move(started->process);
				control_ = std::move(started->control);
				lifeline_ = std::move(started->lifeline);
				return {};
			}
			log::debug("the spare shim refused its start ({}); spawning afresh",
				   started.error().to_string());
		}
	}
	ShimLinks links = TRY(ShimLinks::create());
	spec.fds.emplace_back(links.shim_control.get(), sp::kControlFd);
	spec.fds.emplace_back(links.lifeline_read.get(), sp::kLifelineFd);
	process_ = TRY(supervisor_->run_sync([&] { return ShimProcess::spawn(spec); }));
	control_ = std::move(links.control);
	lifeline_ = std::move(links.lifeline);
	return {};
}

Result<void> Instance::handshake(const std::string &plugin_path, const InstanceOptions &options)
{
	auto died = [&](std::string_view when) {
		ExitStatus s = process_.reap();
		Error e = verdict(s);
		if (e.termination == Termination::Signal || e.termination == Termination::Exit)
			e.message = fmt::format("the shim for {} {} {}", plugin_path, describe(s), when);
		else
			e.message += fmt::format(" ({} {})", describe(s), when);
		return Unexpected(std::move(e));
	};

	// Refusing a shim that is still running: end it first, then say why.
	auto refuse = [&](ErrorCode code, std::string message) {
		process_.kill();
		process_.reap();
		return make_error(code, std::move(message));
	};
	// A control message that did not come: the shim died (say how), or
	// missed its deadline and is killed, or the socket failed.
	auto no_message = [&](Error error, std::string_view when,
			      std::string missed) -> Unexpected<Error> {
		if (error.code == ErrorCode::Unavailable)
			return died(when);
		process_.kill();
		process_.reap();
		if (error.code != ErrorCode::DeadlineExceeded)
			return Unexpected(std::move(error));
		Error e(ErrorCode::DeadlineExceeded, std::move(missed));
		e.termination = Termination::Deadline;
		return Unexpected(std::move(e));
	};

	UniqueFd listener;
	auto hello_msg = ipc::control::receive(control_.get(), Deadline::after(options.start_deadline),
					       &listener);
	if (!hello_msg.has_value())
		return no_message(std::move(hello_msg).error(), "before the handshake",
				  fmt::format("the shim for {} sent no handshake within {} ms; "
					      "it was killed",
					      plugin_path, options.start_deadline.count()));
	const auto *m = ipc::control::root(hello_msg.value());
	if (m->body_type() == ctl::Body::Sandboxed) {
		// Sandboxed before loading the plugin: its constructors already
		// run under the filter this listener answers.
		take_sandbox_report(*m->body_as_Sandboxed(), std::move(listener));
		hello_msg = ipc::control::receive(control_.get(), Deadline::after(options.start_deadline));
		if (!hello_msg.has_value())
			return no_message(std::move(hello_msg).error(), "while loading the plugin",
					  fmt::format("the shim for {} sent no handshake within {} ms; "
						      "it was killed",
						      plugin_path, options.start_deadline.count()));
		m = ipc::control::root(hello_msg.value());
	}
	if (m->body_type() == ctl::Body::Fatal) {
		const auto *msg = m->body_as_Fatal()->message();
		process_.reap();
		return make_error(ErrorCode::InvalidArgument, msg ? msg->str() : "the shim failed to start");
	}
	if (m->body_type() != ctl::Body::Hello) {
		return refuse(ErrorCode::ProtocolViolation, "the shim's first message is not Hello");
	}
	const auto *hello = m->body_as_Hello();
	const std::string their_hash = hello->schema_hash() ? hello->schema_hash()->str() : "";
	if (hello->protocol_version() != ipc::control::protocol_version() ||
	    their_hash != ipc::control::schema_hash()) {
		return refuse(ErrorCode::FailedPrecondition,
				  fmt::format("the shim speaks protocol version {} with schema {}, "
					      "the host protocol version {} with schema {}",
					      hello->protocol_version(), their_hash,
					      ipc::control::protocol_version(),
					      ipc::control::schema_hash()));
	}
	if (!hello->plugin_name() || hello->plugin_name()->size() == 0 || !hello->plugin_version()) {
		return refuse(ErrorCode::ProtocolViolation, "the shim's Hello names no plugin");
	}
	name_ = hello->plugin_name()->str();
	version_ = hello->plugin_version()->str();
	if (hello->runtime() && hello->runtime()->size() > 0)
		runtime_ = hello->runtime()->str();
	if (hello->operations())
		for (const auto *op : *hello->operations())
			operations_.push_back(op->str());

	flatbuffers::FlatBufferBuilder fbb;
	auto config = fbb.CreateVector(options.config.data(), options.config.size());
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Init, ctl::CreateInit(fbb, config).Union()));
	TRY(ipc::control::send(control_.get(), {fbb.GetBufferPointer(), fbb.GetSize()},
			       Deadline::after(options.init_deadline)));
	auto done = ipc::control::receive(control_.get(), Deadline::after(options.init_deadline));
	if (!done.has_value())
		return no_message(std::move(done).error(), "during init",
				  fmt::format("init did not finish within {} ms; the shim was killed",
					      options.init_deadline.count()));
	const auto *d = ipc::control::root(done.value());
	if (d->body_type() != ctl::Body::InitDone) {
		return refuse(ErrorCode::ProtocolViolation, "the shim did not answer Init");
	}
	if (!d->body_as_InitDone()->ok()) {
		const auto *msg = d->body_as_InitDone()->message();
		process_.reap();
		return make_error(ErrorCode::PluginFailed,
				  fmt::format("init failed: {}", msg ? msg->str() : ""));
	}
	return {};
}

std::optional<Error> Instance::exit_error() const
{
	std::lock_guard lock(exit_mutex_);
	return exit_error_;
}

bool Instance::wait_exit(std::chrono::milliseconds timeout) const
{
	std::unique_lock lock(exit_mutex_);
	return exit_cv_.wait_for(lock, timeout, [this] { return finished_; });
}

void Instance::kill(Termination why, std::string detail)
{
	kill_for(why, std::move(detail));
}

void Instance::kill_for(Termination why, std::string detail, std::string syscall)
{
	Termination none = Termination::None;
	if (kill_reason_.compare_exchange_strong(none, why)) {
		std::lock_guard lock(mutex_);
		kill_detail_ = std::move(detail);
		kill_syscall_ = std::move(syscall);
	}
	process_.kill();
	// The whole plugin, every process, not only the one the broker spawned.
	std::lock_guard lock(sandbox_mutex_);
	cgroups_.kill();
}

void Instance::shutdown()
{
	if (!alive())
		return;
	Termination none = Termination::None;
	if (kill_reason_.compare_exchange_strong(none, Termination::HostRequest)) {
		std::lock_guard lock(mutex_);
		kill_detail_ = "unloaded";
	}
	flatbuffers::FlatBufferBuilder fbb;
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Shutdown, ctl::CreateShutdown(fbb).Union()));
	(void)ipc::control::send(control_.get(), {fbb.GetBufferPointer(), fbb.GetSize()},
				 Deadline::after(std::chrono::seconds(1)));
	if (supervisor_->on_supervisor_thread()) {
		process_.kill(); // on_exit runs on this thread: cannot wait for it
		return;
	}
	if (!wait_exit(options_.shutdown_deadline)) {
		log::warning("plugin {} instance {} ignored shutdown for {} ms; killing it", name_,
			     id_, options_.shutdown_deadline.count());
		process_.kill();
		wait_exit(std::chrono::seconds(5));
	}
}

Instance::~Instance()
{
	// Before the channel's mapping goes: the watch reads a word of it.
	if (supervisor_)
		supervisor_->death_watch().unwatch(death_watch_);
	if (watchers_)
		asio::post(supervisor_->io(), [w = watchers_] { w->close(); });
	process_.kill(); // ~ShimProcess reaps
}

Result<std::uint32_t> Instance::operation(std::string_view op) const
{
	for (std::uint32_t i = 0; i < operations_.size(); ++i)
		if (operations_[i] == op)
			return i;
	std::string names;
	for (const auto &o : operations_)
		names += (names.empty() ? "" : ", ") + o;
	Error e(ErrorCode::NotFound,
		fmt::format("plugin {} has no operation '{}' (it has: {})", name_, op, names));
	return Unexpected(annotate(std::move(e)));
}

Result<Bytes> Instance::call(std::uint32_t op, ByteView payload, Deadline deadline)
{
	auto r = channel_->call(op, payload, deadline);
	if (!r.has_value())
		return Unexpected(annotate(std::move(r).error()));
	return r;
}

Result<ipc::Ticket> Instance::submit(std::uint32_t op, ByteView payload, Deadline deadline)
{
	auto r = channel_->submit(op, payload, deadline);
	if (!r.has_value())
		return Unexpected(annotate(std::move(r).error()));
	return r;
}

Result<Bytes> Instance::wait(ipc::Ticket ticket, Deadline deadline)
{
	auto r = channel_->wait(ticket, deadline);
	if (!r.has_value())
		return Unexpected(annotate(std::move(r).error()));
	return r;
}

Result<Bytes> Instance::export_state(Deadline deadline, std::uint64_t limit)
{
	const std::size_t most = channel_->max_payload() - 8;
	Bytes state;
	std::uint64_t total = 0;
	do {
		Bytes request(16);
		for (int i = 0; i < 8; ++i) {
			request[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(state.size() >> (8 * i));
			request[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(most >> (8 * i));
		}
		const Bytes piece = TRY(call(sp::kExportStateOp, request, deadline));
		if (piece.size() < 8)
			return make_error(ErrorCode::ProtocolViolation, "a state piece without its size");
		std::uint64_t said = 0;
		for (int i = 7; i >= 0; --i)
			said = said << 8 | piece[static_cast<std::size_t>(i)];
		if (state.empty())
			total = said;
		if (said != total || piece.size() - 8 > most || state.size() + (piece.size() - 8) > total)
			return make_error(ErrorCode::ProtocolViolation,
					  "the exported state's pieces do not add up");
		if (total > limit)
			return make_error(ErrorCode::ResourceExhausted,
					  fmt::format("plugin {} exported {} bytes of state, over the limit of {}",
						      name_, total, limit));
		if (total > state.size() && piece.size() == 8)
			return make_error(ErrorCode::ProtocolViolation, "an empty state piece before the end");
		state.insert(state.end(), piece.begin() + 8, piece.end());
	} while (state.size() < total);
	return state;
}

Result<void> Instance::ping(Deadline deadline)
{
	TRY(call(sp::kPingOp, {}, deadline));
	return {};
}

void Instance::ping_async(Deadline deadline, std::function<void(Result<void>)> done)
{
	call_async(sp::kPingOp, {}, deadline, [done = std::move(done)](Result<Bytes> r) {
		done(r.has_value() ? Result<void>() : Result<void>(Unexpected(std::move(r).error())));
	});
}

void Instance::call_async(std::uint32_t op, ByteView payload, Deadline deadline,
			  ipc::CompletionHandler handler)
{
	auto timer = std::make_shared<asio::steady_timer>(supervisor_->io());
	std::weak_ptr<Instance> weak = weak_from_this();
	auto shared_handler = std::make_shared<ipc::CompletionHandler>(std::move(handler));
	auto ticket = channel_->submit_async(
		op, payload, deadline, [this, timer, shared_handler](Result<Bytes> r) {
			asio::post(timer->get_executor(), [timer] { timer->cancel(); });
			if (!r.has_value())
				r = Unexpected(annotate(std::move(r).error()));
			(*shared_handler)(std::move(r));
		});
	if (!ticket.has_value()) {
		(*shared_handler)(Unexpected(annotate(std::move(ticket).error())));
		return;
	}
	if (deadline.is_never())
		return;
	asio::post(supervisor_->io(), [timer, weak, t = ticket.value(), deadline] {
		timer->expires_at(deadline.time());
		timer->async_wait([timer, weak, t](boost::system::error_code ec) {
			if (ec)
				return;
			auto self = weak.lock();
			if (self && self->channel_->cancel(t, Error(ErrorCode::DeadlineExceeded,
								    "no answer before the call's "
								    "deadline")))
				self->kill(Termination::Deadline, "a call's deadline passed");
		});
	});
}

} // namespace bulkhead::broker

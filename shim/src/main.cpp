// SPDX-License-Identifier: Apache-2.0
// bulkhead-shim: the per-plugin process. Loads one plugin, answers the
// broker's handshake, then serves calls from the channel until told to stop
// or until the broker goes away.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/ipc/shm_channel.hpp>
#include <bulkhead/read_exact.hpp>
#include <bulkhead/sandbox/confine.hpp>
#include <bulkhead/sdk/plugin_abi.h>

#include "reply.hpp"
#include "runtime_hook.hpp"

namespace sp = bulkhead::ipc::shim_protocol;
namespace ctl = bulkhead::control;
using bulkhead::Deadline;

namespace {

constexpr auto kControlDeadline = std::chrono::seconds(30);

[[noreturn]] void fatal(const std::string &message)
{
	flatbuffers::FlatBufferBuilder fbb;
	auto m = fbb.CreateString(message);
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Fatal, ctl::CreateFatal(fbb, m).Union()));
	(void)bulkhead::ipc::control::send(sp::kControlFd, {fbb.GetBufferPointer(), fbb.GetSize()},
					   Deadline::after(std::chrono::seconds(1)));
	std::fprintf(stderr, "bulkhead-shim: %s\n", message.c_str());
	::_exit(sp::kExitStartFailed);
}

bool broker_gone()
{
	struct pollfd p = {sp::kLifelineFd, POLLIN, 0};
	return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN | POLLERR));
}

void plugin_log(int level, const char *message, std::size_t size)
{
	static const char *const names[] = {"debug", "info", "warning", "error"};
	const char *name = level >= 0 && level <= 3 ? names[level] : "info";
	std::fprintf(stderr, "[%s] %.*s\n", name, static_cast<int>(size), message);
}

const bulkhead_host_api kHostApi = {
	BULKHEAD_PLUGIN_ABI_VERSION,
	bulkhead::shim::reply_ok,
	bulkhead::shim::reply_error,
	plugin_log,
};

struct Options {
	std::string plugin;
	long spin_us = -1;
	bulkhead::sandbox::ShimSandboxConfig sandbox;
};

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; ++i) {
		std::string_view a = argv[i];
		if (a == sp::kPluginFlag && i + 1 < argc)
			o.plugin = argv[++i];
		else if (a == sp::kSpinFlag && i + 1 < argc)
			o.spin_us = std::strtol(argv[++i], nullptr, 10);
		else if (i + 1 < argc && bulkhead::shim::take_runtime_flag(a, argv[i + 1]))
			++i;
		else if (auto s = o.sandbox.parse(argc, argv, i); !s.has_value())
			fatal(s.error().message);
		else if (!s.value())
			fatal(fmt::format("unknown argument '{}'", a));
	}
	if (o.plugin.empty())
		o.plugin = "plugin";
	return o;
}

// Loads the sealed payload the broker verified: dlopen through the
// descriptor, never through a path someone could swap.
const bulkhead_plugin_descriptor *load_plugin(const std::string &path)
{
	unsigned char magic[4] = {};
	const bool read = ::pread(sp::kPayloadFd, magic, sizeof magic, 0) == sizeof magic;
	if (read && std::memcmp(magic, "\0asm", 4) == 0) {
		auto wasm = bulkhead::shim::load_wasm_plugin(path);
		if (!wasm.has_value())
			fatal(wasm.error().message);
		return wasm.value();
	}
	if (!read || std::memcmp(magic, "\x7f" "ELF", 4) != 0)
		fatal(fmt::format("cannot load plugin {}: it is not an ELF shared object", path));
	const std::string self = fmt::format("/proc/self/fd/{}", sp::kPayloadFd);
	void *handle = ::dlopen(self.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *e = ::dlerror();
		fatal(fmt::format("cannot load plugin {}: {}", path, e ? e : "unknown error"));
	}
	auto entry = reinterpret_cast<bulkhead_plugin_entry_fn>(
		::dlsym(handle, BULKHEAD_PLUGIN_ENTRY));
	if (!entry)
		fatal(fmt::format("{} is not a Bulkhead plugin: it has no {} symbol", path,
				  BULKHEAD_PLUGIN_ENTRY));
	const bulkhead_plugin_descriptor *d = entry();
	if (!d)
		fatal(fmt::format("{}: {}() returned no descriptor", path, BULKHEAD_PLUGIN_ENTRY));
	if (d->abi_version != BULKHEAD_PLUGIN_ABI_VERSION)
		fatal(fmt::format("{}: plugin ABI version {}, this shim speaks {}", path,
				  d->abi_version, BULKHEAD_PLUGIN_ABI_VERSION));
	if (d->size < BULKHEAD_DESCRIPTOR_MIN_SIZE || !d->name || !d->version ||
	    !d->create || !d->call || !d->destroy ||
	    (d->operation_count > 0 && !d->operations) || d->operation_count > 4096)
		fatal(fmt::format("{}: malformed plugin descriptor", path));
	for (std::uint32_t i = 0; i < d->operation_count; ++i)
		if (!d->operations[i])
			fatal(fmt::format("{}: operation {} has no name", path, i));
	return d;
}

// The descriptor's optional members, when its size covers them.
template<typename Fn>
Fn optional_member(const bulkhead_plugin_descriptor *d, Fn bulkhead_plugin_descriptor::*member)
{
	const auto end = reinterpret_cast<std::uintptr_t>(&(d->*member)) + sizeof(Fn) -
			 reinterpret_cast<std::uintptr_t>(d);
	return end <= d->size ? d->*member : nullptr;
}

// The state the replaced version exported, when the broker handed one
// over (a reload); the descriptor is closed either way.
bulkhead::Bytes read_handed_state()
{
	bulkhead::Bytes state;
	struct stat st{};
	if (::fstat(sp::kStateFd, &st) == 0 && st.st_size > 0) {
		auto read = bulkhead::read_exact(sp::kStateFd, static_cast<std::size_t>(st.st_size), 0,
						 "handed-over state");
		if (!read.has_value())
			fatal("cannot read the state handed over by the previous version");
		state = std::move(read).value();
	}
	::close(sp::kStateFd);
	return state;
}

std::uint64_t u64_at(const bulkhead::ByteView b, std::size_t at)
{
	std::uint64_t v = 0;
	for (int i = 7; i >= 0; --i)
		v = v << 8 | b[at + static_cast<std::size_t>(i)];
	return v;
}

// One piece of the exported state (sp::kExportStateOp). Offset 0 asks the
// plugin anew; `state` keeps the bytes for the pieces that follow.
void answer_export(const bulkhead_plugin_descriptor *d, void *self, bulkhead::ByteView request,
		   bulkhead::Bytes &state, bulkhead::shim::ReplyBuffer &reply)
{
	if (request.size() != 16) {
		reply.set_error(BULKHEAD_INVALID_ARGUMENT, "a state export request is 16 bytes");
		return;
	}
	const std::uint64_t offset = u64_at(request, 0), most = u64_at(request, 8);
	if (offset == 0) {
		state.clear();
		if (auto fn = optional_member(d, &bulkhead_plugin_descriptor::export_state)) {
			fn(self, reply.handle());
			if (!reply.ok())
				return;
			state = reply.data();
		}
	}
	if (offset > state.size()) {
		reply.set_error(BULKHEAD_INVALID_ARGUMENT, "a state export offset is past the end");
		return;
	}
	const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(most, state.size() - offset));
	bulkhead::Bytes piece(8 + n);
	for (int i = 0; i < 8; ++i)
		piece[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(state.size() >> (8 * i));
	std::copy_n(state.begin() + static_cast<std::ptrdiff_t>(offset), n, piece.begin() + 8);
	reply.set_ok(piece.data(), piece.size());
	if (offset + n == state.size())
		state = {};
}

void send_hello(const bulkhead_plugin_descriptor *d)
{
	flatbuffers::FlatBufferBuilder fbb;
	std::vector<flatbuffers::Offset<flatbuffers::String>> ops;
	for (std::uint32_t i = 0; i < d->operation_count; ++i)
		ops.push_back(fbb.CreateString(d->operations[i]));
	auto hello = ctl::CreateHello(fbb, bulkhead::ipc::control::protocol_version(),
				      fbb.CreateString(bulkhead::ipc::control::schema_hash().data(),
						       bulkhead::ipc::control::schema_hash().size()),
				      fbb.CreateString(d->name), fbb.CreateString(d->version),
				      fbb.CreateVector(ops),
				      fbb.CreateString(bulkhead::shim::runtime_name().data(),
						       bulkhead::shim::runtime_name().size()));
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Hello, hello.Union()));
	auto r = bulkhead::ipc::control::send(sp::kControlFd,
					      {fbb.GetBufferPointer(), fbb.GetSize()},
					      Deadline::after(kControlDeadline));
	if (!r.has_value())
		::_exit(sp::kExitBrokerGone);
}

// Tells the broker how the sandbox stands, and hands it the seccomp
// listener: from here on the broker answers the filter, and this process
// holds no descriptor that could answer for it.
void send_sandboxed(const bulkhead::sandbox::SandboxReport &report, bulkhead::UniqueFd listener)
{
	flatbuffers::FlatBufferBuilder fbb;
	std::vector<flatbuffers::Offset<ctl::SandboxLayer>> layers;
	for (const auto &l : report.layers)
		layers.push_back(ctl::CreateSandboxLayer(fbb, fbb.CreateString(l.name),
							 static_cast<std::uint8_t>(l.state),
							 fbb.CreateString(l.detail)));
	auto body = ctl::CreateSandboxed(fbb, fbb.CreateVector(layers));
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Sandboxed, body.Union()));
	auto r = bulkhead::ipc::control::send(sp::kControlFd, {fbb.GetBufferPointer(), fbb.GetSize()},
					      Deadline::after(kControlDeadline), listener.get());
	if (!r.has_value())
		::_exit(sp::kExitBrokerGone);
}

// A spare waits here for the start it is given (shim_protocol.hpp): it
// puts the Assign's descriptors at their numbers and returns its command
// line, to go on with as if it had been spawned with it.
std::vector<std::string> await_assignment()
{
	std::vector<bulkhead::UniqueFd> passed;
	auto msg = bulkhead::ipc::control::receive(sp::kControlFd, Deadline::never(), passed);
	if (!msg.has_value())
		::_exit(sp::kExitBrokerGone);
	const auto *assign = bulkhead::ipc::control::root(msg.value())->body_as_Assign();
	if (!assign || !assign->argv() || assign->argv()->size() == 0)
		fatal("a spare shim was sent something other than an Assign with a command line");
	const auto *numbers = assign->fds();
	const std::size_t named = numbers ? numbers->size() : 0;
	if (named != passed.size())
		fatal(fmt::format("an Assign names {} descriptors and carried {}", named, passed.size()));
	std::vector<bulkhead::UniqueFd> staged;
	for (const auto &fd : passed) {
		staged.emplace_back(::fcntl(fd.get(), F_DUPFD_CLOEXEC, sp::kStagingFloor));
		if (!staged.back().valid())
			fatal(fmt::format("fcntl(F_DUPFD_CLOEXEC) of an assigned descriptor: {}",
					  std::strerror(errno)));
	}
	passed.clear();
	for (std::size_t i = 0; i < staged.size(); ++i) {
		const int to = numbers->Get(static_cast<flatbuffers::uoffset_t>(i));
		if (to < 0 || to >= sp::kStagingFloor || to == sp::kControlFd || to == sp::kLifelineFd)
			fatal(fmt::format("an Assign asks for descriptor number {}", to));
		// dup2 onto a different number clears FD_CLOEXEC on the copy.
		if (::dup2(staged[i].get(), to) < 0)
			fatal(fmt::format("dup2 of an assigned descriptor to {}: {}", to,
					  std::strerror(errno)));
	}
	std::vector<std::string> argv;
	for (const auto *a : *assign->argv())
		argv.emplace_back(a ? a->str() : std::string());
	return argv;
}

void send_simple(ctl::Body type, flatbuffers::Offset<void> body,
		 flatbuffers::FlatBufferBuilder &fbb)
{
	fbb.Finish(ctl::CreateMessage(fbb, type, body));
	(void)bulkhead::ipc::control::send(sp::kControlFd, {fbb.GetBufferPointer(), fbb.GetSize()},
					   Deadline::after(kControlDeadline));
}

} // namespace

// Sanitizer builds: the shim runs with an empty environment, so its options
// are compiled in. A plugin's fatal signal must reach the broker as that
// signal (not as a sanitizer report and exit 1), an impossible allocation
// must become bad_alloc, and a shim that ends with _exit leaks by design.
extern "C" const char *__asan_default_options()
{
	return "handle_segv=0:handle_abort=0:handle_sigbus=0:handle_sigfpe=0:"
	       "allocator_may_return_null=1:detect_leaks=0";
}

int main(int argc, char **argv)
{
	// Die with the broker. PDEATHSIG covers a broker that dies from now
	// on; the lifeline pipe covers one that died before the prctl.
	::prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (broker_gone())
		::_exit(sp::kExitBrokerGone);
	// A spare has been exec'd and linked ahead of need; it goes on from
	// here with the command line and descriptors of the start it is given.
	std::vector<std::string> assigned;
	std::vector<char *> assigned_argv;
	if (argc == 2 && std::string_view(argv[1]) == sp::kSpareFlag) {
		assigned = await_assignment();
		for (auto &a : assigned)
			assigned_argv.push_back(a.data());
		assigned_argv.push_back(nullptr);
		argc = static_cast<int>(assigned.size());
		argv = assigned_argv.data();
	}
	// stdin leads nowhere; stdout and stderr are the broker's pipe into
	// the host's log (line by line, tagged, rate-limited), which carries
	// the shim's and the plugin's output and the SDK's log calls.
	if (int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
		::dup2(null, 0);
		::close(null);
	}
	// Line-buffered even into a pipe: a line reaches the host when ended.
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	std::signal(SIGPIPE, SIG_IGN);

	Options options = parse(argc, argv);
	const bulkhead::sandbox::EnterContext sandbox_context{sp::kLifelineFd, sp::kFirstFreeFd,
							      sp::kControlFd, sp::kSeccompFd};
	bulkhead::sandbox::SandboxReport report;
	if (options.sandbox.enabled) {
		// Returns in the plugin process only (pid 2 of a new pid
		// namespace); see sandbox/include/bulkhead/sandbox/confine.hpp.
		auto entered = bulkhead::sandbox::enter(options.sandbox, sandbox_context);
		if (!entered.has_value())
			fatal(entered.error().message);
		report = std::move(entered).value();
	} else {
		::close_range(sp::kFirstFreeFd, ~0u, 0);
	}
	bulkhead::ipc::WaitPolicy policy;
	if (options.spin_us >= 0)
		policy.spin = std::chrono::microseconds(options.spin_us);
	auto channel = bulkhead::ipc::ShmPeerChannel::open(bulkhead::UniqueFd(sp::kHostRegionFd),
							   bulkhead::UniqueFd(sp::kShimRegionFd),
							   bulkhead::UniqueFd(sp::kNotifyFd), policy);
	if (!channel.has_value())
		fatal("cannot open the channel: " + channel.error().to_string());
	// This thread's end is the process's end: the kernel marks a word of
	// our region as it dies, before our memory is torn down, and the
	// broker acts on that before the pidfd (death_notice.hpp). Without
	// it the pidfd alone tells, later.
	if (!channel.value()->arm_death_notice())
		std::fprintf(stderr, "[debug] bulkhead-shim: no robust futex list: no early death notice\n");

	// The last layer, then plugin code: dlopen runs ELF constructors, and
	// they run under every layer.
	if (options.sandbox.enabled) {
		auto listener = bulkhead::sandbox::install_seccomp(options.sandbox, sandbox_context, report);
		if (!listener.has_value())
			fatal(listener.error().message);
		send_sandboxed(report, std::move(listener).value());
	}
	const bulkhead_plugin_descriptor *d = load_plugin(options.plugin);
	send_hello(d);

	auto init_msg = bulkhead::ipc::control::receive(sp::kControlFd, Deadline::after(kControlDeadline));
	if (!init_msg.has_value())
		::_exit(sp::kExitBrokerGone);
	const auto *m = bulkhead::ipc::control::root(init_msg.value());
	if (m->body_type() != ctl::Body::Init)
		fatal("expected Init after Hello");
	void *self = d->create(&kHostApi);
	if (!self)
		fatal(fmt::format("plugin {} failed to create an instance", d->name));
	{
		bulkhead::shim::ReplyBuffer reply;
		const auto *config = m->body_as_Init()->config();
		const bulkhead::Bytes state = read_handed_state();
		const std::uint8_t *config_data = config ? config->data() : nullptr;
		const std::size_t config_size = config ? config->size() : 0;
		if (auto with_state = optional_member(d, &bulkhead_plugin_descriptor::init_with_state)) {
			with_state(self, config_data, config_size, state.data(), state.size(), reply.handle());
		} else {
			if (!state.empty())
				std::fprintf(stderr, "[warning] plugin %s takes no state: the %zu bytes the "
					     "previous version handed over are dropped\n", d->name, state.size());
			if (d->init)
				d->init(self, config_data, config_size, reply.handle());
		}
		flatbuffers::FlatBufferBuilder fbb;
		auto msg = fbb.CreateString(reply.ok() ? "" : std::string(reply.message()));
		send_simple(ctl::Body::InitDone, ctl::CreateInitDone(fbb, reply.ok(), msg).Union(), fbb);
		if (!reply.ok())
			::_exit(sp::kExitStartFailed);
	}

	// The watcher ends the shim when the broker goes, and turns Shutdown
	// into a stop of the serving loop.
	std::atomic<bool> stop{false};
	std::thread watcher([&] {
		for (;;) {
			struct pollfd p[2] = {{sp::kControlFd, POLLIN, 0}, {sp::kLifelineFd, POLLIN, 0}};
			int n = ::poll(p, 2, 1000);
			if (n < 0 && errno != EINTR)
				::_exit(sp::kExitBrokerGone);
			// A plugin that closed our descriptors does not wake a
			// poll already waiting on them: look for it each second.
			if (n == 0 && (::fcntl(sp::kControlFd, F_GETFD) < 0 ||
				       ::fcntl(sp::kLifelineFd, F_GETFD) < 0))
				::_exit(sp::kExitBrokerGone);
			if (n <= 0)
				continue;
			if (p[1].revents)
				::_exit(sp::kExitBrokerGone);
			if (!p[0].revents)
				continue;
			auto msg = bulkhead::ipc::control::receive(sp::kControlFd, Deadline::after(kControlDeadline));
			if (!msg.has_value())
				::_exit(sp::kExitBrokerGone);
			if (bulkhead::ipc::control::root(msg.value())->body_type() == ctl::Body::Shutdown) {
				stop.store(true, std::memory_order_release);
				channel.value()->wake();
				return;
			}
		}
	});

	bulkhead::shim::ReplyBuffer reply;
	bulkhead::Bytes exported; // the state export being read in pieces
	auto &peer = *channel.value();
	for (;;) {
		auto next = peer.receive(stop);
		if (!next.has_value()) {
			std::fprintf(stderr, "bulkhead-shim: %s\n", next.error().to_string().c_str());
			::_exit(sp::kExitStartFailed);
		}
		if (!next.value())
			break;
		const bulkhead::ipc::IncomingCall &call = *next.value();
		reply.reset();
		if (call.op == sp::kPingOp) {
			// A health ping: answered by the empty success reset() left.
		} else if (call.op == sp::kExportStateOp) {
			answer_export(d, self, call.payload, exported, reply);
		} else if (call.op >= d->operation_count) {
			reply.set_error(BULKHEAD_NOT_FOUND,
					fmt::format("plugin {} has no operation #{}", d->name, call.op));
		} else {
			bulkhead::shim::set_call_deadline(call.deadline);
			d->call(self, call.op, call.payload.data(), call.payload.size(), reply.handle());
		}
		auto sent = peer.respond(call, reply.as_reply());
		if (!sent.has_value()) {
			std::fprintf(stderr, "bulkhead-shim: %s\n", sent.error().to_string().c_str());
			::_exit(sp::kExitStartFailed);
		}
	}

	watcher.join();
	if (d->shutdown)
		d->shutdown(self);
	d->destroy(self);
	flatbuffers::FlatBufferBuilder fbb;
	send_simple(ctl::Body::ShutdownDone, ctl::CreateShutdownDone(fbb).Union(), fbb);
	return 0;
}

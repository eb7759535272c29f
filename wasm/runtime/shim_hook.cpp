// SPDX-License-Identifier: Apache-2.0
// The wasm shim's runtime hook: a WebAssembly guest behind the native plugin
// descriptor, so the shim's handshake and serving loop drive it unchanged.
#include "../../shim/src/runtime_hook.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>
#include <vector>

#include <fmt/format.h>

#include <bulkhead/ipc/shim_protocol.hpp>
#include <bulkhead/read_exact.hpp>
#include <bulkhead/wasm/module_info.hpp>
#include <bulkhead/wasm/options.hpp>
#include <bulkhead/wasm_sdk/abi.h>

#include "engine_aot.hpp"
#include "engine_interp.hpp"
#include "host_calls.hpp"

namespace sp = bulkhead::ipc::shim_protocol;

namespace bulkhead::shim {

namespace {

using wasm::Entry;

struct Config {
	std::string tier;
	std::optional<std::uint64_t> fuel;
	std::uint64_t memory_pages = wasm::kDefaultMemoryCapBytes / wasm::kPageBytes;
	std::chrono::milliseconds call_limit{0};
};

// The one guest of this process.
struct Guest {
	Config config;
	std::unique_ptr<wasm::Engine> engine;
	std::string name, version;
	std::vector<std::string> op_names;
	std::vector<const char *> ops;
	std::uint32_t fuel_op = 0;
	bulkhead_plugin_descriptor descriptor{};
	const bulkhead_host_api *api = nullptr;
};

Guest guest;
Deadline call_deadline = Deadline::never();
std::string runtime = "native";

std::optional<std::uint64_t> number(std::string_view s)
{
	std::uint64_t v = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return v;
}

Result<Bytes> read_fd(int fd)
{
	struct stat st;
	if (::fstat(fd, &st) != 0)
		return Unexpected(errno_error("fstat payload", errno));
	return read_exact(fd, static_cast<std::size_t>(st.st_size), 0, "payload");
}

// A NUL-terminated string at `ptr` in guest memory, at most 4 KiB.
Result<std::string> guest_string(std::uint32_t ptr)
{
	auto mem = guest.engine->memory();
	if (ptr >= mem.size())
		return make_error(ErrorCode::InvalidArgument, "a descriptor string lies outside memory");
	const auto *start = reinterpret_cast<const char *>(mem.data() + ptr);
	const std::size_t room = std::min<std::size_t>(mem.size() - ptr, 4096);
	const void *nul = std::memchr(start, 0, room);
	if (!nul)
		return make_error(ErrorCode::InvalidArgument, "a descriptor string is not terminated");
	return std::string(start, static_cast<const char *>(nul));
}

Result<void> describe()
{
	const std::uint32_t at = TRY(guest.engine->invoke(Entry::Describe, 0, 0, {}));
	auto mem = guest.engine->memory();
	bulkhead_wasm_descriptor d;
	if (static_cast<std::uint64_t>(at) + sizeof d > mem.size())
		return make_error(ErrorCode::InvalidArgument, "the guest's descriptor lies outside memory");
	std::memcpy(&d, mem.data() + at, sizeof d);
	if (d.abi_version != BULKHEAD_WASM_ABI_VERSION)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("the guest speaks wasm ABI {}, this shim {}", d.abi_version,
					      BULKHEAD_WASM_ABI_VERSION));
	if (d.operation_count > 4096)
		return make_error(ErrorCode::InvalidArgument, "the guest declares too many operations");
	guest.name = TRY(guest_string(d.name));
	guest.version = TRY(guest_string(d.version));
	for (std::uint32_t i = 0; i < d.operation_count; ++i) {
		mem = guest.engine->memory();
		std::uint32_t p;
		const std::uint64_t slot = static_cast<std::uint64_t>(d.operations) + 4ull * i;
		if (slot + 4 > mem.size())
			return make_error(ErrorCode::InvalidArgument, "the operation table lies outside memory");
		std::memcpy(&p, mem.data() + slot, 4);
		guest.op_names.push_back(TRY(guest_string(p)));
	}
	guest.fuel_op = static_cast<std::uint32_t>(guest.op_names.size());
	guest.op_names.emplace_back(wasm::kFuelOperation);
	for (const auto &n : guest.op_names)
		guest.ops.push_back(n.c_str());
	return {};
}

wasm::CallBounds bounds_for(Deadline deadline)
{
	// Trap a little before the host's own deadline, so the answer (not a
	// kill) reaches it: a tenth of the time left, between 1 and 50 ms.
	wasm::CallBounds b;
	if (!deadline.is_never()) {
		auto left = deadline.remaining();
		auto margin = std::clamp<Clock::duration>(left / 10, std::chrono::milliseconds(1),
							  std::chrono::milliseconds(50));
		b.trap_at = Deadline::at(deadline.time() - margin);
	}
	if (guest.config.call_limit.count() > 0) {
		auto limit = Deadline::after(guest.config.call_limit);
		if (limit.time() < b.trap_at.time())
			b.trap_at = limit;
	}
	return b;
}

void reply_error(bulkhead_reply *reply, const Error &e)
{
	guest.api->reply_error(reply, static_cast<std::uint16_t>(e.code), e.message.data(),
			       e.message.size());
}

// Copies `input` into the guest's buffer and runs `entry` on it.
void run_with_input(Entry entry, std::uint32_t op, const std::uint8_t *input, std::size_t size,
		    bulkhead_reply *reply, Deadline deadline)
{
	wasm::HostContext &c = wasm::host_context();
	c.api = guest.api;
	c.reply = reply;
	c.answered = false;
	const auto bounds = bounds_for(deadline);
	auto result = [&]() -> Result<void> {
		if (size > UINT32_MAX)
			return make_error(ErrorCode::InvalidArgument, "input too large for a wasm32 guest");
		const auto n = static_cast<std::uint32_t>(size);
		const std::uint32_t at = TRY(guest.engine->invoke(Entry::Buffer, n, 0, bounds));
		auto mem = guest.engine->memory();
		if (at == 0 || static_cast<std::uint64_t>(at) + n > mem.size())
			return make_error(ErrorCode::ResourceExhausted,
					  "the guest has no room for the input");
		if (n)
			std::memcpy(mem.data() + at, input, n);
		if (entry == Entry::Call)
			TRY(guest.engine->invoke(Entry::Call, op, n, bounds));
		else
			TRY(guest.engine->invoke(Entry::Init, n, 0, bounds));
		return {};
	}();
	c.reply = nullptr;
	if (!result.has_value()) {
		reply_error(reply, result.error());
		// A trap left the guest midway: let it tidy up before the next call.
		(void)guest.engine->invoke(Entry::Reset, 0, 0, bounds_for(Deadline::never()));
	}
}

void *create(const bulkhead_host_api *host)
{
	guest.api = host;
	return &guest;
}

void init(void *, const std::uint8_t *config, std::size_t size, bulkhead_reply *reply)
{
	run_with_input(Entry::Init, 0, config, size, reply, Deadline::never());
}

void call(void *, std::uint32_t op, const std::uint8_t *input, std::size_t size,
	  bulkhead_reply *reply)
{
	const Deadline deadline = std::exchange(call_deadline, Deadline::never());
	if (op == guest.fuel_op) {
		auto left = guest.engine->fuel();
		if (!left) {
			static constexpr std::string_view m = "this instance has no fuel budget";
			guest.api->reply_error(reply, BULKHEAD_FAILED_PRECONDITION, m.data(), m.size());
			return;
		}
		std::uint8_t out[8];
		for (int i = 0; i < 8; ++i)
			out[i] = static_cast<std::uint8_t>(*left >> (8 * i));
		guest.api->reply_ok(reply, out, sizeof out);
		return;
	}
	if (auto left = guest.engine->fuel(); left && *left == 0) {
		reply_error(reply, wasm::trap_error(wasm::TrapKind::Fuel, ""));
		return;
	}
	run_with_input(Entry::Call, op, input, size, reply, deadline);
}

void shutdown(void *)
{
	(void)guest.engine->invoke(Entry::Shutdown, 0, 0, bounds_for(Deadline::never()));
}

void destroy(void *) { guest.engine.reset(); }

} // namespace

bool take_runtime_flag(std::string_view flag, std::string_view value)
{
	if (flag == wasm::kTierFlag) {
		guest.config.tier = value;
		return true;
	}
	if (flag == wasm::kFuelFlag) {
		guest.config.fuel = number(value);
		return guest.config.fuel.has_value();
	}
	if (flag == wasm::kMemoryPagesFlag) {
		auto v = number(value);
		if (v)
			guest.config.memory_pages = *v;
		return v.has_value();
	}
	if (flag == wasm::kCallLimitFlag) {
		auto v = number(value);
		if (v)
			guest.config.call_limit = std::chrono::milliseconds(*v);
		return v.has_value();
	}
	return false;
}

Result<const bulkhead_plugin_descriptor *> load_wasm_plugin(const std::string &label)
{
	wasm::EngineLimits limits;
	limits.memory_cap_pages = guest.config.memory_pages;
	limits.fuel = guest.config.fuel;
	auto fail = [&](Error e) {
		e.message = fmt::format("cannot load plugin {}: {}", label, e.message);
		return Unexpected(std::move(e));
	};
	if (guest.config.tier == wasm::to_string(wasm::Tier::Aot)) {
		auto e = wasm::create_aot_engine(sp::kAotFd, limits);
		if (!e.has_value())
			return fail(std::move(e).error());
		guest.engine = std::move(e).value();
	} else if (guest.config.tier == wasm::to_string(wasm::Tier::Interp)) {
		auto bytes = read_fd(sp::kPayloadFd);
		if (!bytes.has_value())
			return fail(std::move(bytes).error());
		auto e = wasm::create_interp_engine(bytes.value(), limits);
		if (!e.has_value())
			return fail(std::move(e).error());
		guest.engine = std::move(e).value();
	} else {
		return fail(Error(ErrorCode::InvalidArgument,
				  fmt::format("unknown wasm tier '{}'", guest.config.tier)));
	}
	auto ready = [&]() -> Result<void> {
		TRY(guest.engine->invoke(Entry::Initialize, 0, 0, bounds_for(Deadline::never())));
		TRY(describe());
		return {};
	}();
	if (!ready.has_value())
		return fail(std::move(ready).error());
	runtime = std::string(guest.engine->tier());
	auto &d = guest.descriptor;
	d.abi_version = BULKHEAD_PLUGIN_ABI_VERSION;
	d.size = sizeof d;
	d.name = guest.name.c_str();
	d.version = guest.version.c_str();
	d.operation_count = static_cast<std::uint32_t>(guest.ops.size());
	d.operations = guest.ops.data();
	d.create = create;
	d.init = init;
	d.call = call;
	d.shutdown = shutdown;
	d.destroy = destroy;
	return &guest.descriptor;
}

std::string_view runtime_name() { return runtime; }

void set_call_deadline(Deadline deadline) { call_deadline = deadline; }

} // namespace bulkhead::shim

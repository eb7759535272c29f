// SPDX-License-Identifier: Apache-2.0
// Tier B: the interpreter core as an Engine, with the host functions.
#include "engine_interp.hpp"

#include <fmt/format.h>

#include <bulkhead/wasm_sdk/abi.h>

#include "host_calls.hpp"
#include "interp_core.hpp"

namespace bulkhead::wasm {

namespace {

using interp::HostFn;

std::span<const std::uint8_t> view(std::uint8_t *m, std::size_t n) { return {m, n}; }

HostFn resolve(const std::string &module, const std::string &name)
{
	if (module == "bulkhead" && name == "reply_ok")
		return [](const std::uint64_t *a, std::uint64_t *, std::uint8_t *m, std::size_t n) {
			return host_reply_ok(view(m, n), static_cast<std::uint32_t>(a[0]),
					     static_cast<std::uint32_t>(a[1]));
		};
	if (module == "bulkhead" && name == "reply_error")
		return [](const std::uint64_t *a, std::uint64_t *, std::uint8_t *m, std::size_t n) {
			return host_reply_error(view(m, n), static_cast<std::uint32_t>(a[0]),
						static_cast<std::uint32_t>(a[1]),
						static_cast<std::uint32_t>(a[2]));
		};
	if (module == "bulkhead" && name == "log")
		return [](const std::uint64_t *a, std::uint64_t *, std::uint8_t *m, std::size_t n) {
			return host_log(view(m, n), static_cast<std::int32_t>(a[0]),
					static_cast<std::uint32_t>(a[1]), static_cast<std::uint32_t>(a[2]));
		};
	if (module == "wasi_snapshot_preview1" && name == "proc_exit")
		return [](const std::uint64_t *, std::uint64_t *, std::uint8_t *, std::size_t) {
			return false;
		};
	if (module == "wasi_snapshot_preview1")
		return [](const std::uint64_t *, std::uint64_t *r, std::uint8_t *, std::size_t) {
			*r = kWasiNoSys;
			return true;
		};
	return {};
}

const char *export_name(Entry e)
{
	switch (e) {
	case Entry::Initialize: return BULKHEAD_WASM_EXPORT_INITIALIZE;
	case Entry::Describe: return BULKHEAD_WASM_EXPORT_DESCRIBE;
	case Entry::Buffer: return BULKHEAD_WASM_EXPORT_BUFFER;
	case Entry::Init: return BULKHEAD_WASM_EXPORT_INIT;
	case Entry::Call: return BULKHEAD_WASM_EXPORT_CALL;
	case Entry::Shutdown: return BULKHEAD_WASM_EXPORT_SHUTDOWN;
	case Entry::Reset: return BULKHEAD_WASM_EXPORT_RESET;
	}
	return "";
}

class InterpEngine final : public Engine {
public:
	InterpEngine(std::unique_ptr<interp::Core> core, std::optional<std::uint64_t> fuel)
		: core_(std::move(core)), fuel_(fuel) {}

	std::string_view tier() const override { return "wasm-interp"; }
	std::span<std::uint8_t> memory() override { return {core_->memory_data(), core_->memory_size()}; }
	std::optional<std::uint64_t> fuel() const override { return fuel_; }

	Result<std::uint32_t> invoke(Entry entry, std::uint32_t a, std::uint32_t b,
				     const CallBounds &bounds) override
	{
		const char *name = export_name(entry);
		if ((entry == Entry::Initialize || entry == Entry::Reset) && !core_->has_function(name))
			return 0u;
		const std::int64_t at = bounds.trap_at.is_never() ? 0 : std::max<std::int64_t>(bounds.trap_at.ns(), 1);
		interp::Outcome o = core_->invoke(name, a, b, at, fuel_ ? &*fuel_ : nullptr);
		switch (o.stop) {
		case interp::Stop::Return:
			return o.value;
		case interp::Stop::Fuel:
			return Unexpected(trap_error(TrapKind::Fuel, ""));
		case interp::Stop::Deadline:
			return Unexpected(trap_error(TrapKind::Deadline, ""));
		case interp::Stop::Trap:
			break;
		}
		TrapKind kind = TrapKind::Other;
		if (o.trap.rfind("out of bounds", 0) == 0)
			kind = TrapKind::OutOfBounds;
		else if (o.trap.find("call stack exhausted") != std::string::npos)
			kind = TrapKind::StackExhausted;
		return Unexpected(trap_error(kind, o.trap));
	}

private:
	std::unique_ptr<interp::Core> core_;
	std::optional<std::uint64_t> fuel_;
};

} // namespace

Result<std::unique_ptr<Engine>> create_interp_engine(ByteView module, const EngineLimits &limits)
{
	std::string error;
	auto core = interp::Core::load(module.data(), module.size(), limits.memory_cap_pages, resolve, &error);
	if (!core)
		return make_error(ErrorCode::InvalidArgument, error);
	return std::unique_ptr<Engine>(new InterpEngine(std::move(core), limits.fuel));
}

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// Tier A: calling wasm2c-compiled code, its traps (guard-page signals, the
// deadline timer, the metering pass's unreachable) caught by siglongjmp.
#include "engine_aot.hpp"

#include <csetjmp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

#include <fmt/format.h>

#include "aot_module.h"
#include "deadline_timer.hpp"
#include "host_calls.hpp"

extern "C" {
#include <wasm-rt-impl.h>
}

namespace bulkhead::wasm {

namespace {

// Guest code runs only between sigsetjmp and the return of the export; a
// signal may leave it by siglongjmp only then, never from host code (malloc,
// stdio) that an import is running: imports clear in_guest while they run
// and trap on their way back if the deadline passed meanwhile.
volatile std::sig_atomic_t in_guest = 0;
volatile std::sig_atomic_t deadline_hit = 0;
volatile std::sig_atomic_t deadline_pending = 0;

void on_deadline()
{
	if (in_guest) {
		deadline_hit = 1;
		in_guest = 0;
		wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
	}
	deadline_pending = 1;
}

class AotEngine;
AotEngine *current = nullptr;

class AotEngine final : public Engine {
public:
	~AotEngine() override
	{
		if (instance_) {
			module_->free(instance_);
			std::free(instance_);
		}
		// The object stays mapped: its code may still be on a signal
		// path, and the process ends soon after.
		current = nullptr;
	}

	static Result<std::unique_ptr<Engine>> create(int fd, const EngineLimits &limits)
	{
		wasm_rt_init(); // SIGSEGV/SIGBUS handler and this thread's sigaltstack
		TRY(deadline_timer::install(on_deadline));
		const std::string self = fmt::format("/proc/self/fd/{}", fd);
		void *handle = ::dlopen(self.c_str(), RTLD_NOW | RTLD_LOCAL);
		if (!handle) {
			const char *e = ::dlerror();
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("cannot load the compiled module: {}", e ? e : "?"));
		}
		const auto *m = static_cast<const bulkhead_aot_module *>(::dlsym(handle, BULKHEAD_AOT_SYMBOL));
		if (!m || m->version != 1 || m->size != sizeof(bulkhead_aot_module))
			return make_error(ErrorCode::FailedPrecondition,
					  "the compiled module's glue does not match this shim");
		std::unique_ptr<AotEngine> e(new AotEngine());
		e->module_ = m;
		current = e.get();
		m->init_module();
		e->instance_ = std::calloc(1, m->instance_size ? m->instance_size : 1);
		if (!e->instance_)
			return make_error(ErrorCode::ResourceExhausted, "cannot allocate the instance");
		// Instantiation runs data and element initialisers, which can trap.
		if (const int trap = sigsetjmp(wasm_rt_jmp_buf, 0)) {
			e->after_trap();
			std::free(e->instance_);
			e->instance_ = nullptr;
			return Unexpected(trap_error(TrapKind::Other, wasm_rt_strerror(static_cast<wasm_rt_trap_t>(trap))));
		}
		m->instantiate(e->instance_);
		wasm_rt_memory_t *mem = m->memory(e->instance_);
		if (mem->pages > limits.memory_cap_pages)
			return make_error(ErrorCode::ResourceExhausted, "initial memory over the cap");
		if (mem->max_pages > limits.memory_cap_pages)
			mem->max_pages = static_cast<std::uint32_t>(limits.memory_cap_pages);
		if (limits.fuel) {
			if (!m->fuel)
				return make_error(ErrorCode::FailedPrecondition,
						  "a fuel budget was set but the module is not metered");
			*m->fuel(e->instance_) = *limits.fuel;
		}
		return std::unique_ptr<Engine>(std::move(e));
	}

	std::string_view tier() const override { return "wasm-aot"; }

	std::span<std::uint8_t> memory() override
	{
		wasm_rt_memory_t *mem = module_->memory(instance_);
		return {mem->data, mem->size};
	}

	std::optional<std::uint64_t> fuel() const override
	{
		if (!module_->fuel)
			return std::nullopt;
		const auto left = static_cast<std::int64_t>(*module_->fuel(instance_));
		return left > 0 ? static_cast<std::uint64_t>(left) : 0;
	}

	Result<std::uint32_t> invoke(Entry entry, std::uint32_t a, std::uint32_t b,
				     const CallBounds &bounds) override
	{
		if ((entry == Entry::Initialize && !module_->initialize) ||
		    (entry == Entry::Reset && !module_->reset))
			return 0u;
		deadline_hit = 0;
		deadline_pending = 0;
		volatile std::uint32_t result = 0;
		if (const int trap = sigsetjmp(wasm_rt_jmp_buf, 0)) {
			deadline_timer::leave();
			after_trap();
			return Unexpected(classify(static_cast<wasm_rt_trap_t>(trap)));
		}
		in_guest = 1;
		deadline_timer::enter(bounds.trap_at);
		result = run(entry, a, b);
		in_guest = 0;
		deadline_timer::leave();
		return static_cast<std::uint32_t>(result);
	}

	// For the imports: leave guest mode, and come back (or trap).
	static void host_enter() { in_guest = 0; }
	static void host_leave(bool in_bounds)
	{
		if (!in_bounds)
			wasm_rt_trap(WASM_RT_TRAP_OOB);
		if (deadline_pending) {
			deadline_hit = 1;
			wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
		}
		in_guest = 1;
	}

private:
	AotEngine() = default;

	std::uint32_t run(Entry entry, std::uint32_t a, std::uint32_t b)
	{
		switch (entry) {
		case Entry::Initialize:
			module_->initialize(instance_);
			return 0;
		case Entry::Describe:
			return module_->describe(instance_);
		case Entry::Buffer:
			return module_->buffer(instance_, a);
		case Entry::Init:
			module_->init(instance_, a);
			return 0;
		case Entry::Call:
			module_->call(instance_, a, b);
			return 0;
		case Entry::Shutdown:
			module_->shutdown(instance_);
			return 0;
		case Entry::Reset:
			module_->reset(instance_);
			return 0;
		}
		return 0;
	}

	// A trap left by siglongjmp from a signal handler, which ran with its
	// signal blocked; sigsetjmp(…, 0) did not save the mask to restore it.
	void after_trap()
	{
		in_guest = 0;
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigaddset(&set, SIGBUS);
		sigaddset(&set, SIGALRM);
		sigaddset(&set, SIGFPE);
		::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
	}

	Error classify(wasm_rt_trap_t trap) const
	{
		if (deadline_hit)
			return trap_error(TrapKind::Deadline, "");
		if (module_->fuel && static_cast<std::int64_t>(*module_->fuel(instance_)) < 0)
			return trap_error(TrapKind::Fuel, "");
		switch (trap) {
		case WASM_RT_TRAP_OOB:
			return trap_error(TrapKind::OutOfBounds, "out of bounds memory access");
		case WASM_RT_TRAP_EXHAUSTION:
			return trap_error(TrapKind::StackExhausted, "call stack exhausted");
		default:
			return trap_error(TrapKind::Other, wasm_rt_strerror(trap));
		}
	}

	const bulkhead_aot_module *module_ = nullptr;
	void *instance_ = nullptr;
};

std::span<const std::uint8_t> guest_memory()
{
	return current ? current->memory() : std::span<std::uint8_t>();
}

} // namespace

Result<std::unique_ptr<Engine>> create_aot_engine(int object_fd, const EngineLimits &limits)
{
	return AotEngine::create(object_fd, limits);
}

} // namespace bulkhead::wasm

// The host functions as wasm2c names them. The instance argument is the
// NULL the glue passed: one guest per process needs no context.
using bulkhead::wasm::AotEngine;
namespace bw = bulkhead::wasm;

extern "C" {

__attribute__((visibility("default"))) void Z_bulkheadZ_reply_ok(void *, std::uint32_t ptr, std::uint32_t size)
{
	AotEngine::host_enter();
	const bool ok = bw::host_reply_ok(bw::guest_memory(), ptr, size);
	AotEngine::host_leave(ok);
}

__attribute__((visibility("default"))) void Z_bulkheadZ_reply_error(void *, std::uint32_t code, std::uint32_t ptr, std::uint32_t size)
{
	AotEngine::host_enter();
	const bool ok = bw::host_reply_error(bw::guest_memory(), code, ptr, size);
	AotEngine::host_leave(ok);
}

__attribute__((visibility("default"))) void Z_bulkheadZ_log(void *, std::uint32_t level, std::uint32_t ptr, std::uint32_t size)
{
	AotEngine::host_enter();
	const bool ok = bw::host_log(bw::guest_memory(), static_cast<std::int32_t>(level), ptr, size);
	AotEngine::host_leave(ok);
}

__attribute__((visibility("default"))) std::uint32_t Z_wasi_snapshot_preview1Z_fd_write(void *, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t)
{
	return bw::kWasiNoSys;
}
__attribute__((visibility("default"))) std::uint32_t Z_wasi_snapshot_preview1Z_fd_close(void *, std::uint32_t)
{
	return bw::kWasiNoSys;
}
__attribute__((visibility("default"))) std::uint32_t Z_wasi_snapshot_preview1Z_fd_seek(void *, std::uint32_t, std::uint64_t, std::uint32_t, std::uint32_t)
{
	return bw::kWasiNoSys;
}
__attribute__((visibility("default"))) std::uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(void *, std::uint32_t, std::uint32_t)
{
	return bw::kWasiNoSys;
}
__attribute__((visibility("default"))) void Z_wasi_snapshot_preview1Z_proc_exit(void *, std::uint32_t)
{
	wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

} // extern "C"

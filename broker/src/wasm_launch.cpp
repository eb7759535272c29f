// SPDX-License-Identifier: Apache-2.0
// From a sealed .wasm payload to the shim's command line and descriptors.
#include <bulkhead/broker/wasm_launch.hpp>

#include <algorithm>
#include <cerrno>
#include <set>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/log.hpp>
#include <bulkhead/read_exact.hpp>
#include <bulkhead/wasm/import_policy.hpp>
#include <bulkhead/wasm/meter.hpp>
#include <bulkhead/wasm/module_info.hpp>
#include <bulkhead/wasm_sdk/abi.h>

namespace bulkhead::broker {

namespace {

Result<Bytes> read_payload(const SealedPayload &payload)
{
	return read_exact(payload.fd(), payload.size(), 0, "the payload memfd");
}

} // namespace

namespace {

// What the wasm shim itself keeps resident beside linear memory (runtime,
// libraries, stacks, tier B's interpreter state).
constexpr std::uint64_t kWasmShimOverhead = 32ull << 20;

// Tier A grows memory in place inside its guard region (mprotect), except in
// sanitizer builds, where it is a realloc; the interpreter's memory is a
// std::vector. A copying grow holds the old and the new memory at once.
bool growth_copies(wasm::Tier tier)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	(void)tier;
	return true;
#else
	return tier == wasm::Tier::Interp;
#endif
}

} // namespace

Result<std::uint64_t> fit_wasm_memory(std::uint64_t cap, std::uint64_t sandbox_limit, Growth growth,
				      std::string &note)
{
	// Linear memory lives inside the sandbox's memory limit: a cap the
	// limit cannot hold would end in a cgroup kill where memory.grow
	// should have returned -1. So the cap is lowered to what fits.
	if (sandbox_limit <= kWasmShimOverhead + 2 * wasm::kPageBytes)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("the sandbox's memory limit ({} MiB) leaves no room for WebAssembly "
					      "linear memory beside the wasm shim's own {} MiB",
					      sandbox_limit >> 20, kWasmShimOverhead >> 20));
	std::uint64_t room = sandbox_limit - kWasmShimOverhead;
	if (growth == Growth::Copies)
		room /= 2; // the old memory and the new, during the copy
	room = room / wasm::kPageBytes * wasm::kPageBytes;
	const char *why = growth == Growth::Copies ? ", halved: this tier's memory.grow copies" : "";
	if (cap <= room) {
		note = fmt::format("linear memory capped at {} MiB (fits the sandbox's memory limit of {} MiB)",
				   cap >> 20, sandbox_limit >> 20);
		return cap;
	}
	note = fmt::format("linear memory capped at {} MiB, lowered from {} MiB to fit the sandbox's "
			   "memory limit of {} MiB less the wasm shim's {} MiB{}: memory.grow past it returns -1",
			   room >> 20, cap >> 20, sandbox_limit >> 20, kWasmShimOverhead >> 20, why);
	return room;
}

Result<WasmLaunch> prepare_wasm(const SealedPayload &payload, const WasmSettings &settings)
{
	wasm::RunOptions run = settings.run; // its memory cap fitted below
	auto say = [&](std::string_view s) {
		if (settings.progress)
			settings.progress(s);
	};
	if (run.memory_cap_bytes < wasm::kPageBytes || run.memory_cap_bytes > (4ull << 30))
		return make_error(ErrorCode::InvalidArgument,
				  "the wasm memory cap must be between 64 KiB and 4 GiB");
	const Bytes bytes = TRY(read_payload(payload));
	const wasm::ModuleInfo info = TRY(wasm::ModuleInfo::parse(bytes));

	WasmLaunch launch;
	launch.executable = settings.shim_path;
	if (::access(launch.executable.c_str(), X_OK) != 0)
		return make_error(ErrorCode::NotFound,
				  fmt::format("the WebAssembly shim '{}' is missing or not executable "
					      "(set HostOptions::wasm_shim_path or BULKHEAD_WASM_SHIM)",
					      launch.executable));

	// The tier: tier A unless told otherwise, or unless it cannot be had.
	launch.tier = run.tier == wasm::TierPolicy::Interp ? wasm::Tier::Interp : wasm::Tier::Aot;
	std::optional<wasm::Toolchain> tc;
	std::optional<wasm::AotCache> cache;
	if (launch.tier == wasm::Tier::Aot) {
		auto found = wasm::find_toolchain(settings.wasm2c, settings.cc);
		if (!found.has_value()) {
			if (run.tier == wasm::TierPolicy::Aot)
				return make_error(ErrorCode::FailedPrecondition,
						  "tier A (wasm-aot) was required but " + found.error().message);
			log::warning("{}: {}; running it in the interpreter", payload.label(),
				     found.error().message);
			launch.tier = wasm::Tier::Interp;
		} else {
			tc = std::move(found).value();
			cache = TRY(wasm::AotCache::open(settings.cache_dir.empty() ? wasm::default_cache_dir()
										   : settings.cache_dir));
		}
	}
	// The cap the tier can keep under the sandbox's limit (InstantStart may
	// still pick the interpreter below: fit for the costlier growth then).
	if (settings.sandbox_memory_limit > 0) {
		const bool may_interp = launch.tier == wasm::Tier::Interp || run.tier == wasm::TierPolicy::InstantStart;
		run.memory_cap_bytes = TRY(fit_wasm_memory(
			run.memory_cap_bytes, settings.sandbox_memory_limit,
			growth_copies(may_interp ? wasm::Tier::Interp : launch.tier) ? Growth::Copies : Growth::InPlace,
			launch.memory_note));
		if (launch.memory_note.find("lowered") != std::string::npos)
			log::info("{}: {}", payload.label(), launch.memory_note);
	}
	TRY(wasm::check_module(info, run.capabilities, run.memory_cap_bytes));

	const bool metered = run.fuel.has_value();
	if (launch.tier == wasm::Tier::Aot && run.tier == wasm::TierPolicy::InstantStart) {
		// Metering is deterministic, so the key can be computed from the
		// metered bytes only by metering: do it, it takes milliseconds.
		const Bytes module = metered ? TRY(wasm::meter(bytes)) : bytes;
		if (!TRY(cache->find(cache->key(module, *tc, metered))).has_value()) {
			say("not compiled yet: starting in the interpreter");
			launch.tier = wasm::Tier::Interp;
		}
	}

	if (launch.tier == wasm::Tier::Aot) {
		const Bytes module = metered ? TRY(wasm::meter(bytes)) : bytes;
		std::set<std::string> modules;
		for (const auto &i : info.imports)
			modules.insert(i.module);
		wasm::AotShape shape;
		shape.import_modules = modules.size();
		shape.has_initialize = info.find_export(BULKHEAD_WASM_EXPORT_INITIALIZE) != nullptr;
		shape.has_reset = info.find_export(BULKHEAD_WASM_EXPORT_RESET) != nullptr;
		const Bytes object = TRY(cache->get(module, shape, metered, *tc, settings.progress));
		launch.object = TRY(SealedPayload::seal(object, payload.label() + " (compiled)"));
	}

	launch.args = {std::string(wasm::kTierFlag), std::string(wasm::to_string(launch.tier)),
		       std::string(wasm::kMemoryPagesFlag),
		       std::to_string(run.memory_cap_bytes / wasm::kPageBytes)};
	if (run.fuel) {
		launch.args.emplace_back(wasm::kFuelFlag);
		launch.args.push_back(std::to_string(*run.fuel));
	}
	if (run.call_limit.count() > 0) {
		launch.args.emplace_back(wasm::kCallLimitFlag);
		launch.args.push_back(std::to_string(run.call_limit.count()));
	}
	return launch;
}

} // namespace bulkhead::broker

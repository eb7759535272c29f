// SPDX-License-Identifier: Apache-2.0
// From a sealed .wasm payload to the shim's command line and descriptors.
#include <bulkhead/broker/wasm_launch.hpp>

#include <algorithm>
#include <cerrno>
#include <set>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/log.hpp>
#include <bulkhead/wasm/import_policy.hpp>
#include <bulkhead/wasm/meter.hpp>
#include <bulkhead/wasm/module_info.hpp>
#include <bulkhead/wasm_sdk/abi.h>

namespace bulkhead::broker {

namespace {

Result<Bytes> read_payload(const SealedPayload &payload)
{
	Bytes bytes(payload.size());
	std::size_t done = 0;
	while (done < bytes.size()) {
		ssize_t n = ::pread(payload.fd(), bytes.data() + done, bytes.size() - done,
				    static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return Unexpected(errno_error("read the payload memfd", n < 0 ? errno : EIO));
		done += static_cast<std::size_t>(n);
	}
	return bytes;
}

} // namespace

Result<WasmLaunch> prepare_wasm(const SealedPayload &payload, const WasmSettings &settings)
{
	const wasm::RunOptions &run = settings.run;
	auto say = [&](std::string_view s) {
		if (settings.progress)
			settings.progress(s);
	};
	if (run.memory_cap_bytes < wasm::kPageBytes || run.memory_cap_bytes > (4ull << 30))
		return make_error(ErrorCode::InvalidArgument,
				  "the wasm memory cap must be between 64 KiB and 4 GiB");
	const Bytes bytes = TRY(read_payload(payload));
	const wasm::ModuleInfo info = TRY(wasm::ModuleInfo::parse(bytes));
	TRY(wasm::check_module(info, run.capabilities, run.memory_cap_bytes));

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

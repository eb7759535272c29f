// SPDX-License-Identifier: Apache-2.0
// The host ABI table and the load-time check of a module against it.
#include <bulkhead/wasm/import_policy.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <bulkhead/wasm_sdk/abi.h>

namespace bulkhead::wasm {

namespace {

constexpr std::uint8_t kI32 = 0x7f;

const HostFunction kHostFunctions[] = {
	{"bulkhead", "reply_ok", {{kI32, kI32}, {}}, ""},
	{"bulkhead", "reply_error", {{kI32, kI32, kI32}, {}}, ""},
	{"bulkhead", "log", {{kI32, kI32, kI32}, {}}, "log"},
	// What wasi-libc may pull in; each answers ENOSYS (proc_exit traps).
	{"wasi_snapshot_preview1", "fd_write", {{kI32, kI32, kI32, kI32}, {kI32}}, ""},
	{"wasi_snapshot_preview1", "fd_close", {{kI32}, {kI32}}, ""},
	{"wasi_snapshot_preview1", "fd_seek", {{kI32, 0x7e, kI32, kI32}, {kI32}}, ""},
	{"wasi_snapshot_preview1", "fd_fdstat_get", {{kI32, kI32}, {kI32}}, ""},
	{"wasi_snapshot_preview1", "proc_exit", {{kI32}, {}}, ""},
};

struct RequiredExport {
	std::string_view name;
	FuncType type;
};

const RequiredExport kRequiredExports[] = {
	{BULKHEAD_WASM_EXPORT_DESCRIBE, {{}, {kI32}}},
	{BULKHEAD_WASM_EXPORT_BUFFER, {{kI32}, {kI32}}},
	{BULKHEAD_WASM_EXPORT_INIT, {{kI32}, {}}},
	{BULKHEAD_WASM_EXPORT_CALL, {{kI32, kI32}, {}}},
	{BULKHEAD_WASM_EXPORT_SHUTDOWN, {{}, {}}},
};

} // namespace

std::span<const HostFunction> host_functions() { return kHostFunctions; }

Result<void> check_module(const ModuleInfo &module, std::span<const std::string> capabilities,
			  std::uint64_t memory_cap_bytes)
{
	std::vector<std::string> refused;
	for (const auto &i : module.imports) {
		if (i.kind != ExternKind::Func) {
			refused.push_back(fmt::format("{}.{} ({} import)", i.module, i.name,
						      to_string(i.kind)));
			continue;
		}
		auto h = std::find_if(std::begin(kHostFunctions), std::end(kHostFunctions),
				      [&](const HostFunction &f) {
					      return f.module == i.module && f.name == i.name;
				      });
		const FuncType &type = module.types[i.type_index];
		if (h == std::end(kHostFunctions))
			refused.push_back(fmt::format("{}.{} (function, not in the host ABI)",
						      i.module, i.name));
		else if (h->type != type)
			refused.push_back(fmt::format("{}.{} (type {}, the host ABI has {})", i.module,
						      i.name, describe(type), describe(h->type)));
		else if (!h->capability.empty() &&
			 std::find(capabilities.begin(), capabilities.end(), h->capability) ==
				 capabilities.end())
			refused.push_back(fmt::format("{}.{} (needs capability '{}', not granted)",
						      i.module, i.name, h->capability));
	}
	if (!refused.empty()) {
		std::string list;
		for (const auto &r : refused)
			list += (list.empty() ? "" : ", ") + r;
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("the module imports what plugins may not have: {}", list));
	}

	for (const auto &want : kRequiredExports) {
		const Export *e = module.find_export(want.name);
		const FuncType *t = e && e->kind == ExternKind::Func ? module.function_type(e->index)
								     : nullptr;
		if (!t)
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("the module exports no function {} (is it built "
						      "with the Bulkhead wasm SDK?)",
						      want.name));
		if (*t != want.type)
			return make_error(ErrorCode::InvalidArgument,
					  fmt::format("export {} has type {}, the ABI wants {}", want.name,
						      describe(*t), describe(want.type)));
	}
	if (const Export *f = module.find_export(BULKHEAD_WASM_EXPORT_FUEL))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("the module exports {}, a name the host reserves", f->name));
	const Export *mem = module.find_export(BULKHEAD_WASM_EXPORT_MEMORY);
	if (module.memories.size() != 1 || !mem || mem->kind != ExternKind::Memory)
		return make_error(ErrorCode::InvalidArgument,
				  "the module must define exactly one memory and export it as 'memory'");
	const std::uint64_t initial = module.memories[0].initial * kPageBytes;
	if (initial > memory_cap_bytes)
		return make_error(ErrorCode::ResourceExhausted,
				  fmt::format("the module's initial memory is {} MiB, over the cap of {} "
					      "MiB (RunOptions::memory_cap_bytes)",
					      initial >> 20, memory_cap_bytes >> 20));
	return {};
}

} // namespace bulkhead::wasm

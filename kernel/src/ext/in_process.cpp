// SPDX-License-Identifier: Apache-2.0
#include "in_process.hpp"

#include <algorithm>
#include <dlfcn.h>

#include <fmt/format.h>

#include <bulkhead/log.hpp>
#include <bulkhead/sdk/status.hpp>

namespace bulkhead::ext::detail {

namespace {

// Behind the ABI's opaque bulkhead_reply, as the shim's ReplyBuffer is.
struct Reply {
	bool answered = false;
	bool ok = true;
	Bytes data;
	ErrorCode code = ErrorCode::PluginFailed;
	std::string message;
	bulkhead_reply *handle() { return reinterpret_cast<bulkhead_reply *>(this); }
};

void reply_ok(bulkhead_reply *r, const std::uint8_t *data, std::size_t size)
{
	auto *reply = reinterpret_cast<Reply *>(r);
	reply->answered = true;
	reply->ok = true;
	if (data)
		reply->data.assign(data, data + size);
	else
		reply->data.clear();
}

void reply_error(bulkhead_reply *r, std::uint16_t code, const char *message, std::size_t size)
{
	auto *reply = reinterpret_cast<Reply *>(r);
	reply->answered = true;
	reply->ok = false;
	reply->code = sdk::code_of_status(code);
	if (message)
		reply->message.assign(message, size);
}

// The ABI's log() carries no plugin: the endpoint calling names it.
thread_local const std::string *tl_calling = nullptr;

void plugin_log(int level, const char *message, std::size_t size)
{
	const std::string_view m(message ? message : "", message ? size : 0);
	const std::string &who = tl_calling ? *tl_calling : std::string("in-process plugin");
	switch (level) {
	case 0: log::debug("[{} in-process] {}", who, m); break;
	case 1: log::info("[{} in-process] {}", who, m); break;
	case 2: log::warning("[{} in-process] {}", who, m); break;
	default: log::error("[{} in-process] {}", who, m); break;
	}
}

const bulkhead_host_api kHostApi = {BULKHEAD_PLUGIN_ABI_VERSION, reply_ok, reply_error, plugin_log};

struct Calling {
	explicit Calling(const std::string &name) : saved(tl_calling) { tl_calling = &name; }
	~Calling() { tl_calling = saved; }
	const std::string *saved;
};

} // namespace

Result<std::shared_ptr<InProcessEndpoint>> InProcessEndpoint::load(const VerifiedPlugin &plugin, ByteView config)
{
	const std::string label = plugin.manifest ? plugin.manifest->name : plugin.source;
	if (plugin.wasm)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {}: a WebAssembly payload cannot run in process", label));
	auto code = TRY(broker::SealedPayload::seal(plugin.payload(), label));
	if (code.kind() != broker::PayloadKind::Native)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("plugin {}: the payload is not a native shared object", label));

	std::shared_ptr<InProcessEndpoint> ep(new InProcessEndpoint());
	ep->code_ = std::move(code);
	const std::string path = fmt::format("/proc/self/fd/{}", ep->code_.fd());
	ep->library_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!ep->library_)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("plugin {}: dlopen failed: {}", label, ::dlerror()));
	auto entry = reinterpret_cast<bulkhead_plugin_entry_fn>(::dlsym(ep->library_, BULKHEAD_PLUGIN_ENTRY));
	if (!entry)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("plugin {}: no {} entry point", label, BULKHEAD_PLUGIN_ENTRY));
	const auto *d = entry();
	if (!d || d->abi_version != BULKHEAD_PLUGIN_ABI_VERSION || d->size < BULKHEAD_DESCRIPTOR_MIN_SIZE ||
	    !d->name || !d->version || !d->create || !d->call || !d->destroy || (d->operation_count && !d->operations))
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("plugin {}: its descriptor is missing or of another ABI version (want {})",
					      label, BULKHEAD_PLUGIN_ABI_VERSION));
	ep->name_ = d->name;
	ep->version_ = d->version;
	if (plugin.manifest && (ep->name_ != plugin.manifest->name ||
				ep->version_ != plugin.manifest->version.to_string()))
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("bundle {} refused: its manifest names {} {}, its payload says it is {} {}",
					      plugin.source, plugin.manifest->name, plugin.manifest->version.to_string(),
					      ep->name_, ep->version_));
	for (std::uint32_t i = 0; i < d->operation_count; ++i)
		if (d->operations[i])
			ep->operations_.emplace(d->operations[i], i);

	Calling calling(ep->name_);
	ep->self_ = d->create(&kHostApi);
	if (!ep->self_)
		return make_error(ErrorCode::PluginFailed, fmt::format("plugin {}: create() failed", ep->name_));
	ep->descriptor_ = d;
	if (d->init) {
		Reply reply;
		d->init(ep->self_, config.data(), config.size(), reply.handle());
		if (reply.answered && !reply.ok)
			return make_error(ErrorCode::PluginFailed,
					  fmt::format("plugin {} refused to start: {}", ep->name_, reply.message));
	}
	log::info("plugin {} {} runs IN PROCESS (first-party key {}): no isolation", ep->name_, ep->version_,
		  plugin.key_id);
	return ep;
}

void InProcessEndpoint::close()
{
	std::lock_guard lock(mutex_);
	if (!descriptor_ || !self_)
		return;
	Calling calling(name_);
	if (descriptor_->shutdown)
		descriptor_->shutdown(self_);
	descriptor_->destroy(self_);
	self_ = nullptr;
}

InProcessEndpoint::~InProcessEndpoint()
{
	close();
	if (library_)
		::dlclose(library_);
}

std::vector<std::string> InProcessEndpoint::operations() const
{
	std::vector<std::pair<std::uint32_t, std::string>> byindex;
	for (const auto &[n, i] : operations_)
		byindex.emplace_back(i, n);
	std::sort(byindex.begin(), byindex.end());
	std::vector<std::string> out;
	for (auto &p : byindex)
		out.push_back(std::move(p.second));
	return out;
}

Result<Bytes> InProcessEndpoint::call(std::string_view op, ByteView payload, Deadline deadline) const
{
	(void)deadline; // nothing can interrupt code running in the host's own threads
	auto it = operations_.find(op);
	if (it == operations_.end())
		return make_error(ErrorCode::NotFound, fmt::format("plugin {} has no operation {}", name_, op));
	Reply reply;
	{
		std::lock_guard lock(mutex_);
		if (!self_)
			return make_error(ErrorCode::Unavailable, fmt::format("plugin {} is unloaded", name_));
		Calling calling(name_);
		descriptor_->call(self_, it->second, payload.data(), payload.size(), reply.handle());
	}
	if (!reply.ok) {
		Error e{reply.code, fmt::format("plugin {}: {}", name_, reply.message)};
		e.plugin = name_;
		return Unexpected(std::move(e));
	}
	return std::move(reply.data);
}

} // namespace bulkhead::ext::detail

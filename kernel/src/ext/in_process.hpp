// SPDX-License-Identifier: Apache-2.0
// InProcessEndpoint: a first-party native plugin run inside the host
// process, behind the Endpoint a shim would stand behind. The verified
// payload is sealed into a memfd and dlopen()ed from it (the verified bytes
// are the bytes that run, as in a shim). What isolation gave is gone: a
// crash or a hang of this code is the host's, deadlines are not enforced
// (a call runs to its end), and there is no sandbox. That is why only keys
// the host marks first-party get it, and only when asked (Extensions).
//
// Threads: calls are serialized, as a shim serializes them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <bulkhead/broker/payload.hpp>
#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::ext::detail {

class InProcessEndpoint final : public Endpoint {
public:
	// Runs init with `config`. FailedPrecondition for a WebAssembly or
	// foreign payload, InvalidArgument for a file that is not a plugin,
	// PermissionDenied when the code's name or version is not the
	// manifest's, PluginFailed when init refuses.
	static Result<std::shared_ptr<InProcessEndpoint>> load(const VerifiedPlugin &plugin, ByteView config);
	~InProcessEndpoint() override; // close(), dlclose
	// Runs the shutdown hook and destroys the plugin; calls after fail
	// with Unavailable. Idempotent.
	void close();

	const std::string &name() const override { return name_; }
	const std::string &version() const { return version_; }
	Placement placement() const override { return Placement::InProcess; }
	std::vector<std::string> operations() const override;
	Result<Bytes> call(std::string_view op, ByteView payload, Deadline deadline) const override;

private:
	InProcessEndpoint() = default;

	std::string name_;
	std::string version_;
	broker::SealedPayload code_; // the sealed memfd dlopen() mapped
	void *library_ = nullptr;
	const bulkhead_plugin_descriptor *descriptor_ = nullptr;
	void *self_ = nullptr; // null once closed
	std::map<std::string, std::uint32_t, std::less<>> operations_;
	mutable std::mutex mutex_; // serializes calls
};

} // namespace bulkhead::ext::detail

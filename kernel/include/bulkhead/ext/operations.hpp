// SPDX-License-Identifier: Apache-2.0
// Custom operations with before / define / after anchors. The host declares
// an operation with a default implementation; plugins attach to it:
//  - before(input) answers the input to go on with (normalise, validate:
//    an error stops the operation),
//  - define(input) replaces the default implementation (at most one),
//  - after(input, output) answers the output to go on with.
// Befores run in attach order, then define or the default, then afters in
// attach order. Each plugin call carries a wire Invocation (the plugin side
// reads it with sdk/operation.hpp) and answers a Blob.
//
// Threads: run() is thread-safe and takes no lock while calling: it works on
// a snapshot of the operation's chain.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ext {

enum class Anchor : std::uint8_t { Before, Define, After };
const char *to_string(Anchor anchor);

using Implementation = std::function<Result<Bytes>(ByteView input)>;

struct AnchorInfo {
	Anchor anchor;
	std::string plugin;
	std::string plugin_operation;
};

struct OperationInfo {
	std::string name;
	std::vector<AnchorInfo> anchors; // befores, the define, afters
};

class Operations {
public:
	// `deadline`: each anchor call's.
	explicit Operations(std::chrono::milliseconds deadline = std::chrono::milliseconds(5'000));
	~Operations();

	// InvalidArgument for an empty name, a missing implementation or a
	// name declared already.
	Result<void> declare(std::string name, Implementation default_implementation);
	// Attaches `endpoint`'s operation `plugin_operation` at `anchor`.
	// NotFound for an undeclared operation or a plugin that does not list
	// `plugin_operation`; FailedPrecondition for a second define (naming
	// the plugin holding it).
	Result<void> attach(std::string_view operation, Anchor anchor, std::shared_ptr<Endpoint> endpoint,
			    std::string plugin_operation);
	// Removes every anchor of the plugin named `plugin` (it is unloading);
	// how many.
	std::size_t detach(std::string_view plugin);

	// Runs the chain. An anchor's error fails the operation with the
	// plugin's code and a message naming the operation, anchor and plugin.
	Result<Bytes> run(std::string_view operation, ByteView input) const;

	std::vector<OperationInfo> list() const;

private:
	struct Chain;
	std::chrono::milliseconds deadline_;
	mutable std::mutex mutex_;
	std::map<std::string, std::shared_ptr<const Chain>, std::less<>> chains_;
};

} // namespace bulkhead::ext

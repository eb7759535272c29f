// SPDX-License-Identifier: Apache-2.0
// Example wasm plugin: echo, reverse, a refusal, a log line.
#include <bulkhead/wasm_sdk/plugin.hpp>

using namespace bulkhead::wasm_sdk;

namespace {

class Echo {
public:
	Answer init(ByteView config)
	{
		if (config.size == 6 && memcmp(config.data, "refuse", 6) == 0)
			return Answer::fail(Status::InvalidArgument, "told to refuse");
		return Answer::ok();
	}
	Answer call(Name op, ByteView in)
	{
		if (op == "echo")
			return Answer::ok(in);
		if (op == "reverse") {
			Bytes out(in.size);
			for (size_t i = 0; i < in.size; ++i)
				out[i] = in[in.size - 1 - i];
			return Answer::ok(static_cast<Bytes &&>(out));
		}
		if (op == "log") {
			log(1, "echo was asked to log");
			return Answer::ok(in);
		}
		return Answer::fail(Status::InvalidArgument, "echo refuses on purpose");
	}
	void shutdown() {}
};

} // namespace

BULKHEAD_WASM_PLUGIN(Echo, "wasm-echo", "1.0.0", "echo", "reverse", "fail", "log")

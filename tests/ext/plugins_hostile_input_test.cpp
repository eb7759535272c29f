// SPDX-License-Identifier: Apache-2.0
// Bytes that are not a flatbuffer, sent to every operation of every example
// plugin through a real shim: an operation that reads its input answers
// InvalidArgument, one that takes none ignores it, and no shim dies.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <set>

#include "plugin_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;

namespace {

// The operations whose request is empty: they read no input.
const std::set<std::string_view> kTakeNoInput = {
	op::kStorageFlush,    op::kStorageCompact, op::kStorageStats, op::kIndexSize,
	op::kCompressionName, op::kObsHealth,	   op::kObsExport,
};

std::vector<Bytes> garbage()
{
	return {
		{},						  // shorter than a root offset
		{0x01, 0x02, 0x03},				  // still shorter
		bytes("this is not a flatbuffer at all"),	  // root offset far past the end
		Bytes(64, 0xff),				  // every offset past the end
		{0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f}, // a vtable far outside
		{0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00}, // a table cut short
	};
}

} // namespace

TEST_CASE("garbage_to_every_operation_of_every_example_plugin_is_invalid_argument_never_a_crash")
{
	auto host = make_host();
	for (std::string name : {"zstd", "sqlite-storage", "memory-storage", "vector-index",
				 "ordered-index", "prometheus"}) {
		CAPTURE(name);
		auto p = load(*host, name);
		const auto instance = p.info().instance;
		for (const auto &operation : p.info().operations) {
			CAPTURE(operation);
			for (const Bytes &junk : garbage()) {
				CAPTURE(junk.size());
				auto r = p.call(operation, junk, soon());
				if (kTakeNoInput.contains(operation)) {
					CHECK_MESSAGE(r.has_value(), why(r));
					continue;
				}
				REQUIRE_FALSE(r.has_value());
				CHECK(r.error().code == ErrorCode::InvalidArgument);
				CHECK(mentions(r.error(), "malformed"));
			}
		}
		CHECK(p.alive());
		CHECK(p.info().instance == instance);
	}
}

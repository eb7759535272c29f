// SPDX-License-Identifier: Apache-2.0
// The no-isolation baseline: an in-process virtual call.
#include <vector>

#include <bulkhead/deadline.hpp>

#include "bench_measure.hpp"

namespace bulkhead::tools {

namespace {

// Calls per timestamp pair: the clock read (~20-40 ns) vanishes in the batch.
constexpr std::size_t kCallsPerBatch = 1000;

class Callee {
public:
	virtual ~Callee() = default;
	virtual std::size_t call(ByteView in) = 0;
};

// Two implementations, so the call site has more than one possible target
// and the compiler cannot devirtualise it, speculatively or not.
class Length final : public Callee {
public:
	[[gnu::noinline]] std::size_t call(ByteView in) override { return in.size(); }
};

class FirstByte final : public Callee {
public:
	[[gnu::noinline]] std::size_t call(ByteView in) override
	{
		return in.empty() ? 0 : in[0];
	}
};

} // namespace

Summary measure_inproc_call(std::size_t batches, ByteView payload)
{
	Length length;
	FirstByte first;
	// Chosen at run time, then hidden from the optimiser.
	volatile bool use_first = false;
	Callee *callee = use_first ? static_cast<Callee *>(&first) : &length;
	asm volatile("" : "+r"(callee));

	std::size_t sink = 0;
	auto batch = [&] {
		for (std::size_t i = 0; i < kCallsPerBatch; ++i) {
			sink += callee->call(payload);
			// Keeps the calls one by one: no hoisting out of the loop.
			asm volatile("" : "+r"(sink));
		}
	};
	for (std::size_t b = 0; b < batches / 10 + 10; ++b)
		batch();
	std::vector<double> ns;
	ns.reserve(batches);
	for (std::size_t b = 0; b < batches; ++b) {
		const auto t0 = Clock::now();
		batch();
		const auto t1 = Clock::now();
		ns.push_back(elapsed_ns(t0, t1) / kCallsPerBatch);
	}
	asm volatile("" : : "r"(sink));
	return summarize(std::move(ns));
}

} // namespace bulkhead::tools

// SPDX-License-Identifier: Apache-2.0
// Deadline: an absolute point on CLOCK_MONOTONIC, which host and shim share.
#pragma once

#include <chrono>
#include <cstdint>

namespace bulkhead {

using Clock = std::chrono::steady_clock;

class Deadline {
public:
	static Deadline after(Clock::duration d) { return Deadline(Clock::now() + d); }
	static Deadline at(Clock::time_point t) { return Deadline(t); }
	static Deadline never() { return Deadline(Clock::time_point::max()); }
	static Deadline from_ns(std::int64_t ns)
	{
		return Deadline(Clock::time_point(std::chrono::nanoseconds(ns)));
	}

	Clock::time_point time() const { return t_; }
	bool is_never() const { return t_ == Clock::time_point::max(); }
	bool passed() const { return !is_never() && Clock::now() >= t_; }
	Clock::duration remaining() const
	{
		if (is_never())
			return Clock::duration::max();
		auto r = t_ - Clock::now();
		return r.count() > 0 ? r : Clock::duration::zero();
	}
	std::int64_t ns() const
	{
		return std::chrono::duration_cast<std::chrono::nanoseconds>(
			       t_.time_since_epoch())
			.count();
	}

private:
	explicit Deadline(Clock::time_point t) : t_(t) {}
	Clock::time_point t_;
};

} // namespace bulkhead

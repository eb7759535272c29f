// SPDX-License-Identifier: Apache-2.0
// The wabt interpreter (libwabt.a, wabt 1.0.32) with exact fuel and a
// deadline. C++17: see interp_core.hpp.
#include "interp_core.hpp"

#include <ctime>
#include <map>

#include <wabt/binary-reader.h>
#include <wabt/error-formatter.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

namespace bulkhead {
namespace wasm {
namespace interp {

namespace {

namespace wi = wabt::interp;

// wabt 1.0.32 keeps the call setup Thread::Run(n) needs private (it is
// what Func::Call does without a budget). Explicit instantiation may name
// private members; this reaches them without undefined behaviour. Pinned
// to Debian's wabt 1.0.32 (research/wasm.md §8.2).
template<typename Tag, typename Tag::type M>
struct Rob {
	friend typename Tag::type get(Tag) { return M; }
};
struct PushValuesT {
	using type = void (wi::Thread::*)(const wi::ValueTypes &, const wi::Values &);
	friend type get(PushValuesT);
};
struct PopValuesT {
	using type = void (wi::Thread::*)(const wi::ValueTypes &, wi::Values *);
	friend type get(PopValuesT);
};
struct PushCallT {
	using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc &, wi::Trap::Ptr *);
	friend type get(PushCallT);
};
template struct Rob<PushValuesT, &wi::Thread::PushValues>;
template struct Rob<PopValuesT, &wi::Thread::PopValues>;
template struct Rob<PushCallT, &wi::Thread::PushCall>;

// Instructions between two looks at the clock: ~0.1–0.3 ms of guest work.
constexpr int kSlice = 20000;

std::int64_t now_ns()
{
	timespec ts;
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::uint64_t widen(const wi::Value &v, wabt::Type t)
{
	return t == wabt::Type::I64 ? v.Get<std::uint64_t>() : v.Get<std::uint32_t>();
}

class CoreImpl final : public Core {
public:
	CoreImpl() : store_(wabt::Features{}) {}

	bool load(const std::uint8_t *data, std::size_t size, std::uint64_t cap_pages,
		  const Resolver &resolve, std::string *error)
	{
		wabt::Errors errors;
		wi::ModuleDesc desc;
		wabt::ReadBinaryOptions options(wabt::Features{}, nullptr, false, true, false);
		if (wabt::Failed(wi::ReadBinaryInterp("plugin.wasm", data, size, options, &errors, &desc))) {
			*error = "the interpreter refused the module: " +
				 wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
			return false;
		}
		for (auto &m : desc.memories) {
			auto &l = m.type.limits;
			if (l.initial > cap_pages) {
				*error = "the module's initial memory is over the cap";
				return false;
			}
			if (!l.has_max || l.max > cap_pages) {
				l.has_max = true;
				l.max = cap_pages;
			}
		}
		wi::Module::Ptr module = wi::Module::New(store_, std::move(desc));
		wi::RefVec imports;
		for (const auto &i : module->desc().imports) {
			const auto *ft = wabt::dyn_cast<wi::FuncType>(i.type.type.get());
			HostFn fn = ft ? resolve(i.type.module, i.type.name) : HostFn();
			if (!fn) {
				*error = "no host function " + i.type.module + "." + i.type.name;
				return false;
			}
			imports.push_back(host_function(*ft, std::move(fn)).ref());
		}
		wi::Trap::Ptr trap;
		instance_ = wi::Instance::Instantiate(store_, module.ref(), imports, &trap);
		if (!instance_) {
			*error = "trap while instantiating: " + (trap ? trap->message() : std::string("?"));
			return false;
		}
		const auto &types = module->export_types();
		for (std::size_t i = 0; i < types.size(); ++i) {
			const wi::Ref ref = instance_->exports()[i];
			if (store_.Is<wi::Memory>(ref) && !memory_)
				memory_ = store_.UnsafeGet<wi::Memory>(ref);
			if (store_.Is<wi::DefinedFunc>(ref))
				functions_[types[i].name] = store_.UnsafeGet<wi::DefinedFunc>(ref);
		}
		if (!memory_) {
			*error = "the module exports no memory";
			return false;
		}
		thread_.reset(new wi::Thread(store_));
		return true;
	}

	bool has_function(const char *name) const override { return functions_.count(name) > 0; }
	std::uint8_t *memory_data() override { return memory_->UnsafeData(); }
	std::size_t memory_size() override { return static_cast<std::size_t>(memory_->ByteSize()); }

	Outcome invoke(const char *name, std::uint32_t a, std::uint32_t b, std::int64_t trap_at_ns,
		       std::uint64_t *fuel) override
	{
		Outcome out;
		auto it = functions_.find(name);
		if (it == functions_.end()) {
			out.stop = Stop::Trap;
			out.trap = std::string("no export ") + name;
			return out;
		}
		const wi::DefinedFunc &f = *it->second;
		wi::Values args;
		for (std::size_t i = 0; i < f.type().params.size(); ++i)
			args.push_back(wi::Value::Make(i == 0 ? a : b));
		wi::Thread &th = *thread_;
		wi::Trap::Ptr trap;
		(th.*get(PushValuesT{}))(f.type().params, args);
		wi::RunResult r = (th.*get(PushCallT{}))(f, &trap);
		while (r == wi::RunResult::Ok) {
			if (fuel) {
				// Exact: one instruction at a time, the budget first.
				for (int i = 0; i < kSlice && r == wi::RunResult::Ok; ++i) {
					if (*fuel == 0)
						return abandon(Stop::Fuel);
					--*fuel;
					r = th.Step(&trap);
				}
			} else {
				r = th.Run(kSlice, &trap);
			}
			if (r == wi::RunResult::Ok && trap_at_ns != 0 && now_ns() >= trap_at_ns)
				return abandon(Stop::Deadline);
		}
		if (r == wi::RunResult::Return) {
			wi::Values results;
			(th.*get(PopValuesT{}))(f.type().results, &results);
			out.value = results.empty() ? 0 : results[0].Get<std::uint32_t>();
			return out;
		}
		Outcome t = abandon(Stop::Trap);
		t.trap = trap ? trap->message() : "uncaught exception";
		return t;
	}

private:
	// A call left midway: its frames go with the thread.
	Outcome abandon(Stop why)
	{
		thread_.reset(new wi::Thread(store_));
		Outcome o;
		o.stop = why;
		return o;
	}

	wi::HostFunc::Ptr host_function(const wi::FuncType &type, HostFn fn)
	{
		return wi::HostFunc::New(
			store_, type,
			[this, type, fn](wi::Thread &, const wi::Values &params, wi::Values &results,
					 wi::Trap::Ptr *out_trap) -> wabt::Result {
				std::uint64_t in[8] = {};
				for (std::size_t i = 0; i < params.size() && i < 8; ++i)
					in[i] = widen(params[i], type.params[i]);
				std::uint64_t result = 0;
				if (!fn(in, &result, memory_data(), memory_size())) {
					*out_trap = wi::Trap::New(store_, "out of bounds memory access in a host call");
					return wabt::Result::Error;
				}
				for (std::size_t i = 0; i < results.size(); ++i)
					results[i] = type.results[i] == wabt::Type::I64
							     ? wi::Value::Make(result)
							     : wi::Value::Make(static_cast<std::uint32_t>(result));
				return wabt::Result::Ok;
			});
	}

	wi::Store store_;
	wi::Instance::Ptr instance_;
	wi::Memory::Ptr memory_;
	std::map<std::string, wi::DefinedFunc::Ptr> functions_;
	std::unique_ptr<wi::Thread> thread_;
};

} // namespace

std::unique_ptr<Core> Core::load(const std::uint8_t *data, std::size_t size, std::uint64_t cap_pages,
				 const Resolver &resolve, std::string *error)
{
	std::unique_ptr<CoreImpl> c(new CoreImpl());
	if (!c->load(data, size, cap_pages, resolve, error))
		return nullptr;
	return c;
}

} // namespace interp
} // namespace wasm
} // namespace bulkhead

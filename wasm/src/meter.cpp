// SPDX-License-Identifier: Apache-2.0
// The metering pass over libwabt's IR (wabt 1.0.32).
#include <bulkhead/wasm/meter.hpp>

#include <fmt/format.h>

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/error-formatter.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include <bulkhead/wasm_sdk/abi.h>

namespace bulkhead::wasm {

namespace {

// Instructions one pass through `exprs` executes at most, loops counted as
// one (each iteration is charged at the loop's header).
std::uint64_t cost(const wabt::ExprList &exprs)
{
	std::uint64_t n = 0;
	for (const wabt::Expr &e : exprs) {
		++n;
		switch (e.type()) {
		case wabt::ExprType::Block:
			n += cost(wabt::cast<wabt::BlockExpr>(&e)->block.exprs);
			break;
		case wabt::ExprType::If: {
			const auto *i = wabt::cast<wabt::IfExpr>(&e);
			n += cost(i->true_.exprs) + cost(i->false_);
			break;
		}
		case wabt::ExprType::Try: {
			const auto *t = wabt::cast<wabt::TryExpr>(&e);
			n += cost(t->block.exprs);
			for (const auto &c : t->catches)
				n += cost(c.exprs);
			break;
		}
		default:
			break;
		}
	}
	return n;
}

// fuel -= cost; if (fuel < 0) unreachable;
void charge(wabt::ExprList &exprs, wabt::Index fuel, std::uint64_t amount)
{
	using namespace wabt;
	ExprList c;
	c.push_back(std::make_unique<GlobalGetExpr>(Var(fuel, Location())));
	c.push_back(std::make_unique<ConstExpr>(Const::I64(amount)));
	c.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
	c.push_back(std::make_unique<GlobalSetExpr>(Var(fuel, Location())));
	c.push_back(std::make_unique<GlobalGetExpr>(Var(fuel, Location())));
	c.push_back(std::make_unique<ConstExpr>(Const::I64(0)));
	c.push_back(std::make_unique<CompareExpr>(Opcode::I64LtS));
	auto trap = std::make_unique<IfExpr>();
	trap->true_.exprs.push_back(std::make_unique<UnreachableExpr>());
	c.push_back(std::move(trap));
	exprs.splice(exprs.begin(), c);
}

void instrument(wabt::ExprList &exprs, wabt::Index fuel)
{
	for (wabt::Expr &e : exprs) {
		switch (e.type()) {
		case wabt::ExprType::Block:
			instrument(wabt::cast<wabt::BlockExpr>(&e)->block.exprs, fuel);
			break;
		case wabt::ExprType::Loop: {
			auto &body = wabt::cast<wabt::LoopExpr>(&e)->block.exprs;
			instrument(body, fuel);
			charge(body, fuel, cost(body) + 1);
			break;
		}
		case wabt::ExprType::If: {
			auto *i = wabt::cast<wabt::IfExpr>(&e);
			instrument(i->true_.exprs, fuel);
			instrument(i->false_, fuel);
			break;
		}
		case wabt::ExprType::Try: {
			auto *t = wabt::cast<wabt::TryExpr>(&e);
			instrument(t->block.exprs, fuel);
			for (auto &c : t->catches)
				instrument(c.exprs, fuel);
			break;
		}
		default:
			break;
		}
	}
}

Unexpected<Error> refuse(std::string_view step, const wabt::Errors &errors)
{
	std::string text = errors.empty() ? "unknown error"
					  : wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
	while (!text.empty() && text.back() == '\n')
		text.pop_back();
	return make_error(ErrorCode::InvalidArgument,
			  fmt::format("metering: cannot {} the module: {}", step, text));
}

} // namespace

Result<Bytes> meter(ByteView bytes)
{
	wabt::Features features;
	wabt::Errors errors;
	wabt::Module module;
	wabt::ReadBinaryOptions read(features, nullptr, false, true, false);
	if (wabt::Failed(wabt::ReadBinaryIr("plugin.wasm", bytes.data(), bytes.size(), read, &errors,
					    &module)))
		return refuse("read", errors);

	// Appending keeps every existing global index valid.
	const wabt::Index fuel = static_cast<wabt::Index>(module.globals.size());
	auto global = std::make_unique<wabt::GlobalModuleField>();
	global->global.type = wabt::Type::I64;
	global->global.mutable_ = true;
	global->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(wabt::Const::I64(0)));
	module.AppendField(std::move(global));
	auto exp = std::make_unique<wabt::ExportModuleField>();
	exp->export_.name = BULKHEAD_WASM_EXPORT_FUEL;
	exp->export_.kind = wabt::ExternalKind::Global;
	exp->export_.var = wabt::Var(fuel, wabt::Location());
	module.AppendField(std::move(exp));

	for (std::size_t i = module.num_func_imports; i < module.funcs.size(); ++i) {
		wabt::Func *f = module.funcs[i];
		instrument(f->exprs, fuel);
		charge(f->exprs, fuel, cost(f->exprs) + 1);
	}

	wabt::ValidateOptions validate(features);
	if (wabt::Failed(wabt::ValidateModule(&module, &errors, validate)))
		return refuse("validate the metered", errors);
	wabt::MemoryStream stream;
	wabt::WriteBinaryOptions write;
	write.features = features;
	if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module, write)))
		return refuse("write", errors);
	return std::move(stream.output_buffer().data);
}

} // namespace bulkhead::wasm

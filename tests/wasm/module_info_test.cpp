// SPDX-License-Identifier: Apache-2.0
// The broker's reading of WebAssembly modules: every import kind in any
// order, the host-ABI check, malformed input, and the metering pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <bulkhead/wasm/import_policy.hpp>
#include <bulkhead/wasm/meter.hpp>
#include <bulkhead/wasm/module_info.hpp>

#include "module_builder.hpp"

using namespace bulkhead;
using namespace bulkhead::wasm;

namespace {

Bytes read(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string guest(const char *name)
{
	return std::string(BULKHEAD_TEST_WASM_DIR) + "/bulkhead-plugin-" + name + ".wasm";
}

} // namespace

TEST_CASE("interleaved_non_function_imports_are_all_parsed_in_order")
{
	auto info = ModuleInfo::parse(test::interleaved_imports_module());
	REQUIRE_MESSAGE(info.has_value(), info.error().to_string());
	const auto &i = info.value().imports;
	REQUIRE(i.size() == 7);
	CHECK((i[0].module == "bulkhead" && i[0].name == "reply_ok" && i[0].kind == ExternKind::Func));
	CHECK((i[1].name == "memory" && i[1].kind == ExternKind::Memory && i[1].limits.initial == 1 &&
	       i[1].limits.max == 2u));
	CHECK((i[2].name == "log" && i[2].kind == ExternKind::Func && i[2].type_index == 1));
	CHECK((i[3].name == "table" && i[3].kind == ExternKind::Table && i[3].limits.initial == 1));
	CHECK((i[4].name == "counter" && i[4].kind == ExternKind::Global));
	CHECK((i[5].name == "memory64" && i[5].kind == ExternKind::Memory && i[5].limits.initial == 128 &&
	       !i[5].limits.max));
	CHECK((i[6].name == "reply_error" && i[6].kind == ExternKind::Func && i[6].type_index == 1));
	CHECK(info.value().imported_functions() == 3);
	CHECK(describe(*info.value().function_type(2)) == "(i32, i32, i32) -> ()");
}

TEST_CASE("the_check_lists_every_non_function_import_and_only_those")
{
	const std::string caps[] = {"log"};
	auto info = ModuleInfo::parse(test::interleaved_imports_module()).value();
	auto r = check_module(info, caps, 1 << 20);
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().code == ErrorCode::PermissionDenied);
	CHECK(r.error().message ==
	      "the module imports what plugins may not have: env.memory (memory import), "
	      "env.table (table import), env.counter (global import), env.memory64 (memory import)");
}

TEST_CASE("a_host_function_imported_with_the_wrong_type_is_refused")
{
	using B = test::ModuleBuilder;
	Bytes types = {0x60, 0x01, 0x7f, 0x00}; // (i32) -> ()
	Bytes imports;
	B::name(imports, "bulkhead");
	B::name(imports, "reply_ok");
	imports.insert(imports.end(), {0x00, 0x00});
	B m;
	m.section(1, 1, types).section(2, 1, imports);
	auto r = check_module(ModuleInfo::parse(m.bytes()).value(), {}, 1 << 20);
	REQUIRE_FALSE(r.has_value());
	CHECK(r.error().message.find("bulkhead.reply_ok (type (i32) -> (), the host ABI has "
				     "(i32, i32) -> ())") != std::string::npos);
}

TEST_CASE("malformed_modules_are_refused_with_the_offset")
{
	Bytes m = test::interleaved_imports_module();
	for (std::size_t cut : {std::size_t{3}, std::size_t{9}, m.size() / 2, m.size() - 1}) {
		CAPTURE(cut);
		auto r = ModuleInfo::parse(ByteView(m).first(cut));
		REQUIRE_FALSE(r.has_value());
		CHECK(r.error().code == ErrorCode::InvalidArgument);
		CHECK(r.error().message.find("malformed WebAssembly module at offset") != std::string::npos);
	}
	Bytes elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
	CHECK_FALSE(ModuleInfo::parse(elf).has_value());
}

TEST_CASE("sdk_guests_pass_the_check_and_metering_adds_the_fuel_export")
{
	const std::string caps[] = {"log"};
	for (const char *name : {"echo", "compute", "spin", "hog"}) {
		CAPTURE(name);
		const Bytes bytes = read(guest(name));
		REQUIRE(bytes.size() > 8);
		auto info = ModuleInfo::parse(bytes);
		REQUIRE(info.has_value());
		CHECK(check_module(info.value(), caps, 256 << 20).has_value());
		auto metered = meter(bytes);
		REQUIRE_MESSAGE(metered.has_value(), metered.error().to_string());
		auto after = ModuleInfo::parse(metered.value()).value();
		const Export *fuel = after.find_export("__bulkhead_fuel");
		REQUIRE(fuel);
		CHECK(fuel->kind == ExternKind::Global);
		// The metered module is what the check refuses from a plugin.
		CHECK(check_module(after, caps, 256 << 20).error().message.find("reserves") !=
		      std::string::npos);
	}
}

int main(int argc, char **argv)
{
	if (std::strlen(BULKHEAD_TEST_WASM_SKIP) > 0) {
		std::printf("SKIP: %s\n", BULKHEAD_TEST_WASM_SKIP);
		return 77;
	}
	doctest::Context context(argc, argv);
	return context.run();
}

// SPDX-License-Identifier: Apache-2.0
// A few lines of WebAssembly binary encoding for tests that need modules no
// compiler would emit: imports of every kind, interleaved.
#pragma once

#include <string_view>

#include <bulkhead/bytes.hpp>

namespace bulkhead::test {

class ModuleBuilder {
public:
	ModuleBuilder() : bytes_{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00} {}

	static void leb(Bytes &out, std::uint64_t v)
	{
		do {
			std::uint8_t b = v & 0x7f;
			v >>= 7;
			out.push_back(v ? b | 0x80 : b);
		} while (v);
	}
	static void name(Bytes &out, std::string_view s)
	{
		leb(out, s.size());
		out.insert(out.end(), s.begin(), s.end());
	}
	// Appends a section with `count` entries already encoded in `body`.
	ModuleBuilder &section(std::uint8_t id, std::uint32_t count, const Bytes &body)
	{
		Bytes content;
		leb(content, count);
		content.insert(content.end(), body.begin(), body.end());
		bytes_.push_back(id);
		leb(bytes_, content.size());
		bytes_.insert(bytes_.end(), content.begin(), content.end());
		return *this;
	}
	const Bytes &bytes() const { return bytes_; }

private:
	Bytes bytes_;
};

// Types: 0 = (i32, i32) -> (), 1 = (i32, i32, i32) -> (). Imports, in this
// order: bulkhead.reply_ok (func), env.memory (memory 1..2 pages, with max),
// bulkhead.log (func), env.table (funcref table, 1 entry), env.counter
// (mutable i64 global), env.memory64 (memory, 64-bit limits, no max),
// bulkhead.reply_error (func).
inline Bytes interleaved_imports_module()
{
	using B = ModuleBuilder;
	Bytes types;
	types.insert(types.end(), {0x60, 0x02, 0x7f, 0x7f, 0x00});
	types.insert(types.end(), {0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00});
	Bytes imports;
	auto func = [&](std::string_view m, std::string_view n, std::uint8_t type) {
		B::name(imports, m);
		B::name(imports, n);
		imports.insert(imports.end(), {0x00, type});
	};
	func("bulkhead", "reply_ok", 0);
	B::name(imports, "env");
	B::name(imports, "memory");
	imports.insert(imports.end(), {0x02, 0x01, 0x01, 0x02});
	func("bulkhead", "log", 1);
	B::name(imports, "env");
	B::name(imports, "table");
	imports.insert(imports.end(), {0x01, 0x70, 0x00, 0x01});
	B::name(imports, "env");
	B::name(imports, "counter");
	imports.insert(imports.end(), {0x03, 0x7e, 0x01});
	B::name(imports, "env");
	B::name(imports, "memory64");
	imports.insert(imports.end(), {0x02, 0x04, 0x80, 0x01}); // 128 pages, LEB over 2 bytes
	func("bulkhead", "reply_error", 1);
	ModuleBuilder m;
	m.section(1, 2, types).section(2, 7, imports);
	return m.bytes();
}

} // namespace bulkhead::test

// SPDX-License-Identifier: Apache-2.0
// Reading a WebAssembly binary's type, import, function, memory and export
// sections. Every length is bounded by the bytes that remain.
#include <bulkhead/wasm/module_info.hpp>

#include <cstring>

#include <fmt/format.h>

namespace bulkhead::wasm {

namespace {

enum Section : std::uint8_t {
	kType = 1,
	kImport = 2,
	kFunction = 3,
	kMemory = 5,
	kExport = 7,
};

class Reader {
public:
	explicit Reader(ByteView bytes, std::size_t base = 0) : bytes_(bytes), base_(base) {}

	bool done() const { return pos_ == bytes_.size(); }
	std::size_t offset() const { return base_ + pos_; }

	Result<std::uint8_t> byte()
	{
		if (pos_ >= bytes_.size())
			return fail("unexpected end");
		return bytes_[pos_++];
	}
	// Unsigned LEB128 of at most `bits` bits.
	Result<std::uint64_t> leb(unsigned bits = 32)
	{
		std::uint64_t v = 0;
		for (unsigned shift = 0;; shift += 7) {
			if (shift >= bits + 7 || shift >= 64)
				return fail("integer too long");
			const std::uint8_t b = TRY(byte());
			v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
		if (bits < 64 && v >> bits)
			return fail("integer too large");
		return v;
	}
	Result<std::uint32_t> u32() { return static_cast<std::uint32_t>(TRY(leb(32))); }
	Result<ByteView> take(std::uint64_t n)
	{
		if (n > bytes_.size() - pos_)
			return fail("length past the end");
		ByteView v = bytes_.subspan(pos_, n);
		pos_ += n;
		return v;
	}
	Result<std::string> name()
	{
		ByteView v = TRY(take(TRY(u32())));
		return std::string(as_string(v));
	}
	Result<Limits> limits()
	{
		const std::uint8_t flags = TRY(byte());
		if (flags > 7)
			return fail("bad limits flags");
		const unsigned bits = flags & 4 ? 64 : 32;
		Limits l;
		l.initial = TRY(leb(bits));
		if (flags & 1)
			l.max = TRY(leb(bits));
		return l;
	}
	Unexpected<Error> fail(std::string_view what) const
	{
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("malformed WebAssembly module at offset {}: {}", offset(), what));
	}

private:
	ByteView bytes_;
	std::size_t base_;
	std::size_t pos_ = 0;
};

Result<void> read_types(Reader &r, ModuleInfo &m)
{
	for (std::uint32_t n = TRY(r.u32()); n > 0; --n) {
		if (TRY(r.byte()) != 0x60)
			return r.fail("type is not a function type");
		FuncType t;
		for (std::uint32_t k = TRY(r.u32()); k > 0; --k)
			t.params.push_back(TRY(r.byte()));
		for (std::uint32_t k = TRY(r.u32()); k > 0; --k)
			t.results.push_back(TRY(r.byte()));
		m.types.push_back(std::move(t));
	}
	return {};
}

Result<void> read_imports(Reader &r, ModuleInfo &m)
{
	for (std::uint32_t n = TRY(r.u32()); n > 0; --n) {
		Import i;
		i.module = TRY(r.name());
		i.name = TRY(r.name());
		const std::uint8_t kind = TRY(r.byte());
		switch (kind) {
		case 0: // function: a type index
			i.type_index = TRY(r.u32());
			break;
		case 1: // table: reference type, limits
			(void)TRY(r.byte());
			i.limits = TRY(r.limits());
			break;
		case 2: // memory: limits
			i.limits = TRY(r.limits());
			break;
		case 3: // global: value type, mutability
			(void)TRY(r.byte());
			(void)TRY(r.byte());
			break;
		case 4: // tag: attribute, type index
			(void)TRY(r.byte());
			(void)TRY(r.u32());
			break;
		default:
			return r.fail(fmt::format("unknown import kind {}", kind));
		}
		i.kind = static_cast<ExternKind>(kind);
		m.imports.push_back(std::move(i));
	}
	return {};
}

Result<void> read_section(std::uint8_t id, Reader &r, ModuleInfo &m)
{
	switch (id) {
	case kType:
		return read_types(r, m);
	case kImport:
		return read_imports(r, m);
	case kFunction:
		for (std::uint32_t n = TRY(r.u32()); n > 0; --n)
			m.function_types.push_back(TRY(r.u32()));
		return {};
	case kMemory:
		for (std::uint32_t n = TRY(r.u32()); n > 0; --n)
			m.memories.push_back(TRY(r.limits()));
		return {};
	case kExport:
		for (std::uint32_t n = TRY(r.u32()); n > 0; --n) {
			Export e;
			e.name = TRY(r.name());
			const std::uint8_t kind = TRY(r.byte());
			if (kind > 4)
				return r.fail(fmt::format("unknown export kind {}", kind));
			e.kind = static_cast<ExternKind>(kind);
			e.index = TRY(r.u32());
			m.exports.push_back(std::move(e));
		}
		return {};
	default:
		return {};
	}
}

} // namespace

bool is_wasm(ByteView bytes)
{
	return bytes.size() >= 4 && std::memcmp(bytes.data(), kWasmMagic, 4) == 0;
}

std::string_view to_string(ExternKind kind)
{
	switch (kind) {
	case ExternKind::Func:
		return "function";
	case ExternKind::Table:
		return "table";
	case ExternKind::Memory:
		return "memory";
	case ExternKind::Global:
		return "global";
	case ExternKind::Tag:
		return "tag";
	}
	return "unknown";
}

std::string describe(const FuncType &type)
{
	auto names = [](const std::vector<std::uint8_t> &v) {
		std::string s;
		for (auto t : v) {
			if (!s.empty())
				s += ", ";
			switch (t) {
			case 0x7f: s += "i32"; break;
			case 0x7e: s += "i64"; break;
			case 0x7d: s += "f32"; break;
			case 0x7c: s += "f64"; break;
			default: s += fmt::format("0x{:02x}", t);
			}
		}
		return s;
	};
	return fmt::format("({}) -> ({})", names(type.params), names(type.results));
}

Result<ModuleInfo> ModuleInfo::parse(ByteView bytes)
{
	Reader r(bytes);
	if (!is_wasm(bytes))
		return r.fail("no \\0asm magic");
	ByteView version = TRY(r.take(8)).subspan(4);
	if (version[0] != 1 || version[1] || version[2] || version[3])
		return r.fail("not binary format version 1");
	ModuleInfo m;
	while (!r.done()) {
		const std::uint8_t id = TRY(r.byte());
		const std::size_t at = r.offset();
		ByteView body = TRY(r.take(TRY(r.u32())));
		Reader section(body, at);
		TRY(read_section(id, section, m));
		const bool parsed = id == kType || id == kImport || id == kFunction || id == kMemory ||
				    id == kExport;
		if (parsed && !section.done())
			return section.fail(fmt::format("section {} has trailing bytes", id));
	}
	for (auto t : m.function_types)
		if (t >= m.types.size())
			return r.fail("function type index out of range");
	for (const auto &i : m.imports)
		if (i.kind == ExternKind::Func && i.type_index >= m.types.size())
			return r.fail(fmt::format("import {}.{} has no type", i.module, i.name));
	return m;
}

std::uint32_t ModuleInfo::imported_functions() const
{
	std::uint32_t n = 0;
	for (const auto &i : imports)
		n += i.kind == ExternKind::Func;
	return n;
}

const FuncType *ModuleInfo::function_type(std::uint32_t index) const
{
	std::uint32_t f = 0;
	for (const auto &i : imports)
		if (i.kind == ExternKind::Func && f++ == index)
			return &types[i.type_index];
	index -= f;
	return index < function_types.size() ? &types[function_types[index]] : nullptr;
}

const Export *ModuleInfo::find_export(std::string_view name) const
{
	for (const auto &e : exports)
		if (e.name == name)
			return &e;
	return nullptr;
}

} // namespace bulkhead::wasm

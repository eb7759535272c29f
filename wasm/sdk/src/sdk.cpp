// SPDX-License-Identifier: Apache-2.0
// The guest SDK's library: the input buffer the host writes into.
#include <stdlib.h>

#include <bulkhead/wasm_sdk/plugin.hpp>

namespace {
uint8_t *buffer = nullptr;
uint32_t capacity = 0;
} // namespace

// Grows the input buffer to `size` bytes and returns it (0 if out of
// memory). The host writes a call's input there, then calls in.
extern "C" __attribute__((export_name("bulkhead_buffer"))) uint32_t bulkhead_buffer(uint32_t size)
{
	if (size > capacity || !buffer) {
		void *p = realloc(buffer, size ? size : 1);
		if (!p)
			return 0;
		buffer = static_cast<uint8_t *>(p);
		capacity = size;
	}
	return reinterpret_cast<uintptr_t>(buffer);
}

// The linker puts the shadow stack right below the heap (the SDK never
// links with --stack-first), so its top, where the stack pointer stands
// between calls, is __heap_base.
extern "C" unsigned char __heap_base;

extern "C" __attribute__((export_name("bulkhead_reset"))) void bulkhead_reset(void)
{
	const uint32_t top = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&__heap_base));
	__asm__(".globaltype __stack_pointer, i32\n\t"
		"local.get %0\n\t"
		"global.set __stack_pointer" ::"r"(top));
}

namespace bulkhead::wasm_sdk::detail {

ByteView input(uint32_t size)
{
	return ByteView{buffer, size <= capacity ? size : 0};
}

} // namespace bulkhead::wasm_sdk::detail

/* SPDX-License-Identifier: Apache-2.0 */
/* The WebAssembly plugin ABI: what a guest module exports and the host
 * functions it may import. Plain C, shared by the guest SDK and the host's
 * import validator, so both sides name the same things.
 *
 * A guest is a wasm32 reactor module. The host calls `_initialize` once,
 * reads `bulkhead_describe()`, then for init and every call copies the
 * input into the buffer `bulkhead_buffer(size)` returns and calls
 * `bulkhead_init(size)` or `bulkhead_call(op, size)`. The guest answers
 * through the imported `bulkhead.reply_ok` / `bulkhead.reply_error`; no
 * answer means an empty success. All pointers are offsets in the guest's
 * exported `memory`; the host bounds every one. */
#ifndef BULKHEAD_WASM_SDK_ABI_H
#define BULKHEAD_WASM_SDK_ABI_H

#include <stdint.h>

#define BULKHEAD_WASM_ABI_VERSION 1u

/* Import module of every host function. */
#define BULKHEAD_WASM_IMPORT_MODULE "bulkhead"

/* Exports every guest has. */
#define BULKHEAD_WASM_EXPORT_DESCRIBE "bulkhead_describe" /* () -> i32 */
#define BULKHEAD_WASM_EXPORT_BUFFER "bulkhead_buffer"     /* (i32 size) -> i32 */
#define BULKHEAD_WASM_EXPORT_INIT "bulkhead_init"         /* (i32 size) -> () */
#define BULKHEAD_WASM_EXPORT_CALL "bulkhead_call"         /* (i32 op, i32 size) -> () */
#define BULKHEAD_WASM_EXPORT_SHUTDOWN "bulkhead_shutdown" /* () -> () */
#define BULKHEAD_WASM_EXPORT_INITIALIZE "_initialize"     /* () -> () */
#define BULKHEAD_WASM_EXPORT_MEMORY "memory"
/* Optional: () -> (). Called by the host after a trap, with no guest frame
 * live, to undo what the trap left half done (the SDK resets its shadow
 * stack pointer, which a trapped call leaves lowered). */
#define BULKHEAD_WASM_EXPORT_RESET "bulkhead_reset"

/* Reserved: the fuel counter the host's metering pass adds. A module that
 * exports it itself is refused. */
#define BULKHEAD_WASM_EXPORT_FUEL "__bulkhead_fuel"

/* What bulkhead_describe() points at, in guest memory. Strings are
 * NUL-terminated; `operations` points at `operation_count` string offsets. */
typedef struct bulkhead_wasm_descriptor {
	uint32_t abi_version; /* BULKHEAD_WASM_ABI_VERSION */
	uint32_t name;
	uint32_t version;
	uint32_t operation_count;
	uint32_t operations;
} bulkhead_wasm_descriptor;

#endif /* BULKHEAD_WASM_SDK_ABI_H */

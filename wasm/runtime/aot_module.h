/* SPDX-License-Identifier: Apache-2.0 */
/* The table an AOT-compiled module exports as `bulkhead_aot`: the
 * shim's view of the glue that src/aot_glue.cpp generates. Keep the two
 * layouts identical; `version` and `size` catch a mismatch. */
#ifndef BULKHEAD_WASM_AOT_MODULE_H
#define BULKHEAD_WASM_AOT_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include <wasm-rt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BULKHEAD_AOT_SYMBOL "bulkhead_aot"

typedef struct bulkhead_aot_module {
	uint32_t version; /* kAotGlueVersion */
	uint32_t size;    /* sizeof(bulkhead_aot_module) */
	size_t instance_size;
	void (*init_module)(void);
	void (*instantiate)(void *instance);
	void (*free)(void *instance);
	wasm_rt_memory_t *(*memory)(void *instance);
	uint64_t *(*fuel)(void *instance);    /* NULL unless metered */
	void (*initialize)(void *instance);   /* NULL when no _initialize */
	uint32_t (*describe)(void *instance);
	uint32_t (*buffer)(void *instance, uint32_t size);
	void (*init)(void *instance, uint32_t size);
	void (*call)(void *instance, uint32_t op, uint32_t size);
	void (*shutdown)(void *instance);
	void (*reset)(void *instance);        /* NULL when no bulkhead_reset */
} bulkhead_aot_module;

#ifdef __cplusplus
}
#endif

#endif /* BULKHEAD_WASM_AOT_MODULE_H */

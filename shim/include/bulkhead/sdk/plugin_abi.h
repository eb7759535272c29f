/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin ABI: one extern "C" entry returning a versioned descriptor.
 * Plain C so any language can implement it; the C++ layer in plugin.hpp
 * writes this for you. Everything here is called in the shim process, on
 * the shim's serving thread, never concurrently. */
#ifndef BULKHEAD_SDK_PLUGIN_ABI_H
#define BULKHEAD_SDK_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BULKHEAD_PLUGIN_ABI_VERSION 1u
#define BULKHEAD_PLUGIN_ENTRY "bulkhead_plugin_entry"

/* Error codes a plugin may answer with; the values of bulkhead::ErrorCode. */
enum bulkhead_status {
	BULKHEAD_INVALID_ARGUMENT = 1,
	BULKHEAD_NOT_FOUND = 2,
	BULKHEAD_DEADLINE_EXCEEDED = 3,
	BULKHEAD_RESOURCE_EXHAUSTED = 4,
	BULKHEAD_PLUGIN_FAILED = 5,
	BULKHEAD_PERMISSION_DENIED = 9,
	BULKHEAD_FAILED_PRECONDITION = 10,
	BULKHEAD_INTERNAL = 11,
};

/* Where a call's answer goes; owned by the shim, valid during the call. */
typedef struct bulkhead_reply bulkhead_reply;

/* Services the shim passes in; a plugin never looks them up as globals. */
typedef struct bulkhead_host_api {
	uint32_t version; /* BULKHEAD_PLUGIN_ABI_VERSION */
	/* Answer with bytes (copied). The last answer given wins. */
	void (*reply_ok)(bulkhead_reply *reply, const uint8_t *data, size_t size);
	/* Answer with an error code from enum bulkhead_status and a message. */
	void (*reply_error)(bulkhead_reply *reply, uint16_t code, const char *message,
			    size_t size);
	/* Log a line (level 0 debug .. 3 error) to the host, tagged with the plugin. */
	void (*log)(int level, const char *message, size_t size);
} bulkhead_host_api;

typedef struct bulkhead_plugin_descriptor {
	uint32_t abi_version; /* BULKHEAD_PLUGIN_ABI_VERSION, always first */
	uint32_t size;        /* sizeof(bulkhead_plugin_descriptor) */
	const char *name;
	const char *version;  /* semver */
	uint32_t operation_count;
	const char *const *operations; /* operation names; `op` indexes them */
	/* Returns the plugin instance, or NULL on failure. */
	void *(*create)(const bulkhead_host_api *host);
	/* Called once with the host's configuration; answer through `reply`
	 * (no answer means success). */
	void (*init)(void *self, const uint8_t *config, size_t size, bulkhead_reply *reply);
	/* One call of operation `op`; answer through `reply`. */
	void (*call)(void *self, uint32_t op, const uint8_t *input, size_t size,
		     bulkhead_reply *reply);
	void (*shutdown)(void *self);
	void (*destroy)(void *self);
	/* State hand-off at a reload. Optional: NULL, or absent when `size`
	 * ends before them (BULKHEAD_DESCRIPTOR_MIN_SIZE). */
	/* On the version being replaced, between calls: answer with opaque
	 * state bytes for the new version (reply_ok), or with nothing. */
	void (*export_state)(void *self, bulkhead_reply *reply);
	/* Called instead of init when set: also gives the state the replaced
	 * version exported (state_size 0: none, as on a first load). */
	void (*init_with_state)(void *self, const uint8_t *config, size_t config_size,
				const uint8_t *state, size_t state_size, bulkhead_reply *reply);
} bulkhead_plugin_descriptor;

/* The smallest descriptor a shim accepts: up to `destroy`. */
#define BULKHEAD_DESCRIPTOR_MIN_SIZE offsetof(bulkhead_plugin_descriptor, export_state)

typedef const bulkhead_plugin_descriptor *(*bulkhead_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* BULKHEAD_SDK_PLUGIN_ABI_H */

// SPDX-License-Identifier: Apache-2.0
// A shared object that is not a plugin: it has no bulkhead_plugin_entry.
extern "C" __attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }

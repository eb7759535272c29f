// SPDX-License-Identifier: Apache-2.0
// Registry: every extension the host runs, by name. Lookup is O(1) and
// lock-free: readers load one pointer to an immutable open-addressing table
// and probe it; writers (add, remove: rare) build a new table under a mutex
// and publish it.
//
// Lifetime: an Entry, and every table ever published, stays allocated
// until the Registry is destroyed, so a pointer find() returned stays valid
// however the registry changes meanwhile (a removed entry's calls fail with
// Unavailable once its plugin is unloaded). The cost is memory per add or
// remove, bounded by how often extensions change — a handful per reload.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <bulkhead/ext/endpoint.hpp>
#include <bulkhead/ext/storage.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::ext {

struct ExtensionInfo {
	std::string name;
	std::string version;
	std::string description;
	std::string author;
	std::vector<std::string> categories;   // "storage", "index", ...
	std::vector<std::string> capabilities; // as the manifest requests them
	Placement placement = Placement::Isolated;
};

class Registry {
public:
	struct Entry {
		ExtensionInfo info;
		std::shared_ptr<Endpoint> endpoint;
		bool in_category(std::string_view category) const;
	};

	Registry();
	~Registry();
	Registry(const Registry &) = delete;
	Registry &operator=(const Registry &) = delete;

	// InvalidArgument for an empty name or a null endpoint; a name taken
	// already is FailedPrecondition naming both versions.
	Result<const Entry *> add(ExtensionInfo info, std::shared_ptr<Endpoint> endpoint);
	// NotFound naming the extension. Clears the active storage if it was it.
	Result<void> remove(std::string_view name);

	// O(1), lock-free, wait-free for readers; null when absent.
	const Entry *find(std::string_view name) const noexcept;

	// Sorted by name.
	std::vector<ExtensionInfo> list() const;
	// In registration order.
	std::vector<const Entry *> in_category(std::string_view category) const;
	std::size_t size() const;

	// The storage backend the database uses now: NotFound for a name not
	// registered, FailedPrecondition for one that is not a storage plugin.
	Result<void> set_active_storage(std::string_view name);
	// FailedPrecondition when none is chosen.
	Result<Storage> active_storage() const;
	std::string active_storage_name() const;

private:
	struct Table;
	void publish(); // under mutex_: a new table from entries_

	std::atomic<const Table *> table_;
	mutable std::mutex mutex_;
	std::vector<const Entry *> entries_;            // registered now, in order
	std::vector<std::unique_ptr<Entry>> all_;       // every entry ever added
	std::vector<std::unique_ptr<const Table>> tables_; // every table published
	std::string active_storage_;
};

// The hash find() uses (FNV-1a, 64 bits).
std::uint64_t registry_hash(std::string_view name) noexcept;

} // namespace bulkhead::ext

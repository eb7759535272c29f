// SPDX-License-Identifier: Apache-2.0
#include <bulkhead/ext/registry.hpp>

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace bulkhead::ext {

// Open addressing, linear probing, at most half full; never written once
// published.
struct Registry::Table {
	struct Slot {
		std::uint64_t hash = 0;
		const Entry *entry = nullptr; // null: empty
	};
	std::vector<Slot> slots; // a power of two
	std::size_t mask = 0;
};

std::uint64_t registry_hash(std::string_view name) noexcept
{
	std::uint64_t h = 0xcbf29ce484222325ull;
	for (unsigned char c : name) {
		h ^= c;
		h *= 0x100000001b3ull;
	}
	return h;
}

bool Registry::Entry::in_category(std::string_view category) const
{
	return std::find(info.categories.begin(), info.categories.end(), category) != info.categories.end();
}

Registry::Registry() : table_(nullptr)
{
	std::lock_guard lock(mutex_);
	publish();
}

Registry::~Registry() = default;

void Registry::publish()
{
	auto t = std::make_unique<Table>();
	const std::size_t size = std::bit_ceil(std::max<std::size_t>(16, entries_.size() * 2));
	t->slots.resize(size);
	t->mask = size - 1;
	for (const Entry *e : entries_) {
		const auto h = registry_hash(e->info.name);
		std::size_t i = h & t->mask;
		while (t->slots[i].entry)
			i = (i + 1) & t->mask;
		t->slots[i] = {h, e};
	}
	// SYNC POINT: release pairs with find()'s acquire: a reader that sees
	// the table sees its slots and the entries they point to, complete.
	table_.store(t.get(), std::memory_order_release);
	tables_.push_back(std::move(t));
}

const Registry::Entry *Registry::find(std::string_view name) const noexcept
{
	const Table *t = table_.load(std::memory_order_acquire);
	const auto h = registry_hash(name);
	for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const auto &slot = t->slots[i];
		if (!slot.entry)
			return nullptr;
		if (slot.hash == h && slot.entry->info.name == name)
			return slot.entry;
	}
}

Result<const Registry::Entry *> Registry::add(ExtensionInfo info, std::shared_ptr<Endpoint> endpoint)
{
	if (info.name.empty())
		return make_error(ErrorCode::InvalidArgument, "an extension needs a name");
	if (!endpoint)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("extension {} has no endpoint to call", info.name));
	std::lock_guard lock(mutex_);
	for (const Entry *e : entries_)
		if (e->info.name == info.name)
			return make_error(ErrorCode::FailedPrecondition,
					  fmt::format("extension name {} is taken: {} {} is registered, {} {} refused",
						      info.name, e->info.name, e->info.version, info.name, info.version));
	all_.push_back(std::make_unique<Entry>(Entry{std::move(info), std::move(endpoint)}));
	entries_.push_back(all_.back().get());
	publish();
	return all_.back().get();
}

Result<void> Registry::remove(std::string_view name)
{
	std::lock_guard lock(mutex_);
	auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry *e) { return e->info.name == name; });
	if (it == entries_.end())
		return make_error(ErrorCode::NotFound, fmt::format("no extension named {} is registered", name));
	entries_.erase(it);
	if (active_storage_ == name)
		active_storage_.clear();
	publish();
	return {};
}

std::vector<ExtensionInfo> Registry::list() const
{
	std::vector<ExtensionInfo> out;
	{
		std::lock_guard lock(mutex_);
		for (const Entry *e : entries_)
			out.push_back(e->info);
	}
	std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
	return out;
}

std::vector<const Registry::Entry *> Registry::in_category(std::string_view category) const
{
	std::vector<const Entry *> out;
	std::lock_guard lock(mutex_);
	for (const Entry *e : entries_)
		if (e->in_category(category))
			out.push_back(e);
	return out;
}

std::size_t Registry::size() const
{
	std::lock_guard lock(mutex_);
	return entries_.size();
}

Result<void> Registry::set_active_storage(std::string_view name)
{
	const Entry *e = find(name);
	if (!e)
		return make_error(ErrorCode::NotFound,
				  fmt::format("no extension named {} is registered to be the storage backend", name));
	if (!e->in_category("storage"))
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("extension {} is not a storage plugin (its categories: {})", name,
					      e->info.categories.empty() ? std::string("none")
									 : fmt::format("{}", fmt::join(e->info.categories, ", "))));
	std::lock_guard lock(mutex_);
	active_storage_ = std::string(name);
	return {};
}

Result<Storage> Registry::active_storage() const
{
	std::string name = active_storage_name();
	if (name.empty())
		return make_error(ErrorCode::FailedPrecondition, "no storage backend is active (set_active_storage)");
	const Entry *e = find(name);
	if (!e)
		return make_error(ErrorCode::FailedPrecondition,
				  fmt::format("the active storage backend {} is no longer registered", name));
	return Storage(e->endpoint);
}

std::string Registry::active_storage_name() const
{
	std::lock_guard lock(mutex_);
	return active_storage_;
}

} // namespace bulkhead::ext

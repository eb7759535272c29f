// SPDX-License-Identifier: Apache-2.0
// Example storage plugin: an ordered in-memory map (std::map, keys bytewise).
// Nothing is durable: flush() and compact() have nothing to do. A hot reload
// keeps the data: export_state() writes every entry out and the new
// version's init() reads them back (format below).
#include <cstring>
#include <map>
#include <string>

#include <bulkhead/sdk/storage.hpp>

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;
using bulkhead::ErrorCode;
using bulkhead::Result;
using bulkhead::sdk::fail;
namespace ext = bulkhead::ext;

// The handed state: kMagic, a u64 entry count, then per entry a u32 key
// length, the key, a u32 value length, the value; little-endian, in key order.
constexpr char kMagic[8] = {'B', 'H', 'M', 'E', 'M', 'K', 'V', '1'};

void put_u32(Bytes &out, std::uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_u64(Bytes &out, std::uint64_t v)
{
	for (int i = 0; i < 8; ++i)
		out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Reads the handed state, bounding every length by what is left.
class Reader {
public:
	explicit Reader(ByteView in) : in_(in) {}
	bool done() const { return pos_ == in_.size(); }
	bool take(std::size_t n, ByteView &out)
	{
		if (n > in_.size() - pos_)
			return false;
		out = in_.subspan(pos_, n);
		pos_ += n;
		return true;
	}
	bool u32(std::uint32_t &v) { return uint(4, v); }
	bool u64(std::uint64_t &v) { return uint(8, v); }

private:
	template<typename T> bool uint(std::size_t n, T &v)
	{
		ByteView b;
		if (!take(n, b))
			return false;
		v = 0;
		for (std::size_t i = 0; i < n; ++i)
			v |= T(b[i]) << (8 * i);
		return true;
	}
	ByteView in_;
	std::size_t pos_ = 0;
};

class MemoryStorage final : public bulkhead::sdk::StoragePlugin {
public:
	Result<void> init(ByteView) override
	{
		if (!handed_state().empty())
			TRY(restore(handed_state()));
		return {};
	}

	Result<std::optional<Bytes>> get(ByteView key) override
	{
		auto it = map_.find(Bytes(key.begin(), key.end()));
		if (it == map_.end())
			return std::optional<Bytes>{};
		return std::optional<Bytes>(it->second);
	}

	Result<void> put(ByteView key, ByteView value) override
	{
		auto [it, inserted] = map_.try_emplace(Bytes(key.begin(), key.end()));
		if (inserted)
			bytes_ += key.size();
		else
			bytes_ -= it->second.size();
		it->second.assign(value.begin(), value.end());
		bytes_ += value.size();
		return {};
	}

	Result<bool> remove(ByteView key) override
	{
		auto it = map_.find(Bytes(key.begin(), key.end()));
		if (it == map_.end())
			return false;
		bytes_ -= it->first.size() + it->second.size();
		map_.erase(it);
		return true;
	}

	Result<ext::ScanResult> scan(const ext::KeyRange &range) override
	{
		ext::ScanResult out;
		for (auto it = map_.lower_bound(range.start); it != map_.end(); ++it) {
			if (range.end && !(it->first < *range.end))
				break;
			if (range.limit != 0 && out.entries.size() == range.limit) {
				out.more = true;
				break;
			}
			out.entries.push_back({it->first, it->second});
		}
		return out;
	}

	Result<ext::StorageStats> stats() override
	{
		return ext::StorageStats{map_.size(), bytes_, "memory", "std::map, not durable"};
	}

	Result<Bytes> export_state() override
	{
		Bytes out;
		out.reserve(sizeof(kMagic) + 8 + 8 * map_.size() + bytes_);
		out.insert(out.end(), kMagic, kMagic + sizeof(kMagic));
		put_u64(out, map_.size());
		for (const auto &[k, v] : map_) {
			put_u32(out, static_cast<std::uint32_t>(k.size()));
			out.insert(out.end(), k.begin(), k.end());
			put_u32(out, static_cast<std::uint32_t>(v.size()));
			out.insert(out.end(), v.begin(), v.end());
		}
		return out;
	}

private:
	// All or nothing: bytes that are not this plugin's format refuse the
	// init (and so the reload) rather than start with part of the data.
	Result<void> restore(ByteView state)
	{
		auto bad = [&](const char *why) {
			return fail(ErrorCode::FailedPrecondition,
				    std::string("memory-storage: the handed state (") +
					    std::to_string(state.size()) +
					    " bytes) is not this plugin's: " + why);
		};
		Reader r(state);
		ByteView magic;
		if (!r.take(sizeof(kMagic), magic) ||
		    std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0)
			return bad("no magic");
		std::uint64_t count = 0;
		if (!r.u64(count))
			return bad("no entry count");
		std::map<Bytes, Bytes> map;
		std::uint64_t bytes = 0;
		for (std::uint64_t i = 0; i < count; ++i) {
			std::uint32_t kn = 0, vn = 0;
			ByteView k, v;
			if (!r.u32(kn) || !r.take(kn, k) || !r.u32(vn) || !r.take(vn, v))
				return bad("an entry runs past the end");
			map.emplace_hint(map.end(), Bytes(k.begin(), k.end()),
					 Bytes(v.begin(), v.end()));
			bytes += kn + vn;
		}
		if (!r.done())
			return bad("bytes after the last entry");
		if (map.size() != count)
			return bad("duplicate keys");
		map_ = std::move(map);
		bytes_ = bytes;
		return {};
	}

	std::map<Bytes, Bytes> map_;
	std::uint64_t bytes_ = 0; // keys and values
};

} // namespace

BULKHEAD_PLUGIN(MemoryStorage, "memory-storage", "1.0.0", BULKHEAD_STORAGE_OPS)

// SPDX-License-Identifier: Apache-2.0
// Mapping: the single owner of one mmap()ed range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <bulkhead/result.hpp>

namespace bulkhead {

enum class Access : std::uint8_t { ReadOnly, ReadWrite };

class Mapping {
public:
	Mapping() = default;
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	Mapping(Mapping &&other) noexcept
		: data_(std::exchange(other.data_, nullptr)),
		  size_(std::exchange(other.size_, 0)) {}
	Mapping &operator=(Mapping &&other) noexcept;
	~Mapping();

	// Maps `size` bytes of `fd` from offset 0, shared.
	static Result<Mapping> map(int fd, std::size_t size, Access access);

	std::byte *data() const { return data_; }
	std::size_t size() const { return size_; }

private:
	Mapping(std::byte *data, std::size_t size) : data_(data), size_(size) {}
	std::byte *data_ = nullptr;
	std::size_t size_ = 0;
};

} // namespace bulkhead

// SPDX-License-Identifier: Apache-2.0
// Result<T, E>: a value or an error, with std::expected's member names so it
// can become an alias of std::expected once the toolchain has it.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include <bulkhead/error.hpp>

namespace bulkhead {

template<typename E>
class Unexpected {
public:
	explicit Unexpected(E e) : error_(std::move(e)) {}
	E &error() & { return error_; }
	E &&error() && { return std::move(error_); }

private:
	E error_;
};

template<typename E>
Unexpected(E) -> Unexpected<E>;

inline Unexpected<Error> make_error(ErrorCode code, std::string message)
{
	return Unexpected<Error>(Error(code, std::move(message)));
}

template<typename T, typename E = Error>
class [[nodiscard]] Result {
public:
	using value_type = T;
	using error_type = E;

	template<typename U = T,
		 typename = std::enable_if_t<std::is_constructible_v<T, U &&>>>
	Result(U &&value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
	template<typename G>
	Result(Unexpected<G> e) : v_(std::in_place_index<1>, std::move(e).error()) {}

	bool has_value() const { return v_.index() == 0; }
	T &value() & { assert(has_value()); return std::get<0>(v_); }
	const T &value() const & { assert(has_value()); return std::get<0>(v_); }
	T &&value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
	E &error() & { assert(!has_value()); return std::get<1>(v_); }
	const E &error() const & { assert(!has_value()); return std::get<1>(v_); }
	E &&error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	T &operator*() & { return value(); }
	const T &operator*() const & { return value(); }

	template<typename F>
	auto and_then(F &&f) &&
	{
		using R = std::invoke_result_t<F, T &&>;
		if (has_value())
			return std::forward<F>(f)(std::move(*this).value());
		return R(Unexpected<E>(std::move(*this).error()));
	}

	template<typename F>
	auto transform(F &&f) &&
	{
		using U = std::invoke_result_t<F, T &&>;
		if (has_value())
			return Result<U, E>(std::forward<F>(f)(std::move(*this).value()));
		return Result<U, E>(Unexpected<E>(std::move(*this).error()));
	}

private:
	std::variant<T, E> v_;
};

template<typename E>
class [[nodiscard]] Result<void, E> {
public:
	using value_type = void;
	using error_type = E;

	Result() = default;
	template<typename G>
	Result(Unexpected<G> e) : error_(std::move(e).error()), ok_(false) {}

	bool has_value() const { return ok_; }
	void value() const { assert(ok_); }
	E &error() & { assert(!ok_); return error_; }
	const E &error() const & { assert(!ok_); return error_; }
	E &&error() && { assert(!ok_); return std::move(error_); }

private:
	E error_{};
	bool ok_ = true;
};

} // namespace bulkhead

// TRY(expr): evaluate a Result; on error return it from the enclosing
// function. Yields the value (GNU statement expression, as SerenityOS AK).
#define BULKHEAD_TRY(expr)                                                     \
	({                                                                     \
		auto _bh_result = (expr);                                      \
		if (!_bh_result.has_value())                                   \
			return ::bulkhead::Unexpected(                         \
				std::move(_bh_result).error());                \
		std::move(_bh_result).value();                                 \
	})
#define TRY BULKHEAD_TRY

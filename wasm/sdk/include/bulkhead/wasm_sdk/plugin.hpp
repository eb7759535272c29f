// SPDX-License-Identifier: Apache-2.0
// The WebAssembly guest SDK: the native SDK's plugin shape for wasm32.
//   class MyPlugin { Answer init(ByteView); Answer call(Name op, ByteView);
//                    void shutdown(); };
//   BULKHEAD_WASM_PLUGIN(MyPlugin, "name", "1.0.0", "op1", "op2")
// Freestanding C++ over wasi-libc (no libc++, no exceptions): build with
// clang --target=wasm32-wasi -mexec-model=reactor -fno-exceptions and link
// bulkhead-wasm-sdk.o. One instance, called on one thread, never
// concurrently; memory it allocates stays its own.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bulkhead/wasm_sdk/abi.h>

extern "C" {
__attribute__((import_module("bulkhead"), import_name("reply_ok"))) void
bulkhead_import_reply_ok(const void *data, uint32_t size);
__attribute__((import_module("bulkhead"), import_name("reply_error"))) void
bulkhead_import_reply_error(uint32_t code, const char *message, uint32_t size);
// Needs the "log" capability: a module that logs is refused without it.
__attribute__((import_module("bulkhead"), import_name("log"))) void
bulkhead_import_log(int32_t level, const char *message, uint32_t size);
}

namespace bulkhead::wasm_sdk {

// The values of bulkhead::ErrorCode a plugin may answer with.
enum class Status : uint16_t {
	InvalidArgument = 1,
	NotFound = 2,
	ResourceExhausted = 4,
	PluginFailed = 5,
	PermissionDenied = 9,
	FailedPrecondition = 10,
	Internal = 11,
};

// Borrowed bytes, valid for the call that passed them.
struct ByteView {
	const uint8_t *data = nullptr;
	size_t size = 0;
	const uint8_t *begin() const { return data; }
	const uint8_t *end() const { return data + size; }
	uint8_t operator[](size_t i) const { return data[i]; }
	bool empty() const { return size == 0; }
};

// An operation's name, as declared in the registration macro.
struct Name {
	const char *text;
	bool operator==(const char *other) const { return strcmp(text, other) == 0; }
};

// Owned bytes on the guest heap.
class Bytes {
public:
	Bytes() = default;
	explicit Bytes(size_t size) : data_(static_cast<uint8_t *>(calloc(size ? size : 1, 1))), size_(data_ ? size : 0) {}
	explicit Bytes(ByteView v) : Bytes(v.size) { if (data_) memcpy(data_, v.data, size_); }
	Bytes(Bytes &&o) : data_(o.data_), size_(o.size_) { o.data_ = nullptr; o.size_ = 0; }
	Bytes &operator=(Bytes &&o) { if (this != &o) { free(data_); data_ = o.data_; size_ = o.size_; o.data_ = nullptr; o.size_ = 0; } return *this; }
	Bytes(const Bytes &) = delete;
	Bytes &operator=(const Bytes &) = delete;
	~Bytes() { free(data_); }
	uint8_t *data() { return data_; }
	const uint8_t *data() const { return data_; }
	size_t size() const { return size_; }
	uint8_t &operator[](size_t i) { return data_[i]; }
	ByteView view() const { return {data_, size_}; }

private:
	uint8_t *data_ = nullptr;
	size_t size_ = 0;
};

// What init() and call() return: bytes, or an error code with a message.
class Answer {
public:
	static Answer ok() { return Answer(); }
	static Answer ok(Bytes bytes) { Answer a; a.bytes_ = static_cast<Bytes &&>(bytes); return a; }
	static Answer ok(ByteView view) { return ok(Bytes(view)); }
	static Answer fail(Status code, const char *message)
	{
		Answer a;
		a.failed_ = true;
		a.code_ = code;
		a.message_ = message;
		return a;
	}
	// Hands the answer to the host (which copies it).
	void send() const
	{
		if (failed_)
			bulkhead_import_reply_error(static_cast<uint32_t>(code_), message_,
						    static_cast<uint32_t>(strlen(message_)));
		else
			bulkhead_import_reply_ok(bytes_.data(), static_cast<uint32_t>(bytes_.size()));
	}

private:
	Bytes bytes_;
	bool failed_ = false;
	Status code_ = Status::PluginFailed;
	const char *message_ = "";
};

// Logs a line to the host (level 0 debug .. 3 error). Needs "log".
inline void log(int level, const char *message)
{
	bulkhead_import_log(level, message, static_cast<uint32_t>(strlen(message)));
}

namespace detail {
// The input buffer bulkhead_buffer() last handed to the host.
ByteView input(uint32_t size);
} // namespace detail

} // namespace bulkhead::wasm_sdk

// Defines the module's exports for `Class`. Operation names follow the
// version. Use it once per module.
#define BULKHEAD_WASM_PLUGIN(Class, Name_, Version, ...)                                 \
	namespace {                                                                      \
	const char *const bulkhead_ops_[] = {__VA_ARGS__};                               \
	Class &bulkhead_self_()                                                          \
	{                                                                                \
		static Class self;                                                       \
		return self;                                                             \
	}                                                                                \
	}                                                                                \
	extern "C" __attribute__((export_name("bulkhead_describe"))) uint32_t            \
	bulkhead_describe(void)                                                          \
	{                                                                                \
		static bulkhead_wasm_descriptor d;                                       \
		d.abi_version = BULKHEAD_WASM_ABI_VERSION;                               \
		d.name = reinterpret_cast<uintptr_t>(Name_);                             \
		d.version = reinterpret_cast<uintptr_t>(Version);                        \
		d.operation_count = sizeof(bulkhead_ops_) / sizeof(bulkhead_ops_[0]);    \
		d.operations = reinterpret_cast<uintptr_t>(bulkhead_ops_);               \
		return reinterpret_cast<uintptr_t>(&d);                                  \
	}                                                                                \
	extern "C" __attribute__((export_name("bulkhead_init"))) void                    \
	bulkhead_init(uint32_t size)                                                     \
	{                                                                                \
		bulkhead_self_().init(::bulkhead::wasm_sdk::detail::input(size)).send(); \
	}                                                                                \
	extern "C" __attribute__((export_name("bulkhead_call"))) void                    \
	bulkhead_call(uint32_t op, uint32_t size)                                        \
	{                                                                                \
		bulkhead_self_()                                                         \
			.call(::bulkhead::wasm_sdk::Name{bulkhead_ops_[op]},             \
			      ::bulkhead::wasm_sdk::detail::input(size))                 \
			.send();                                                         \
	}                                                                                \
	extern "C" __attribute__((export_name("bulkhead_shutdown"))) void                \
	bulkhead_shutdown(void)                                                          \
	{                                                                                \
		bulkhead_self_().shutdown();                                             \
	}

// SPDX-License-Identifier: Apache-2.0
// The C++ plugin SDK: derive from bulkhead::sdk::Plugin, then
//   BULKHEAD_PLUGIN(MyPlugin, "name", "1.0.0", "op1", "op2")
// in one .cpp file of the shared object. A call's exception becomes an
// error answer (PluginFailed), never a dead shim.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>
#include <bulkhead/sdk/plugin_abi.h>

namespace bulkhead::sdk {

class Plugin {
public:
	virtual ~Plugin() = default;
	// Once, before any call, with the host's configuration bytes.
	virtual Result<void> init(ByteView config) { (void)config; return {}; }
	// One call of the operation named `op` (one of the declared names).
	virtual Result<Bytes> call(std::string_view op, ByteView input) = 0;
	// Once, before the shim exits on the host's request.
	virtual void shutdown() {}
	// At a reload, on the version being replaced (between calls): opaque
	// bytes the new version's init() finds in handed_state(). The old
	// version keeps serving until the swap; what changes meanwhile is not
	// in the bytes. Empty (the default): nothing to hand over.
	virtual Result<Bytes> export_state() { return Bytes{}; }

	// During init(): the state the replaced version exported; empty on a
	// first load, a restart, or when it had none.
	ByteView handed_state() const { return handed_state_; }

	// Logs a line to the host's logger (level 0 debug .. 3 error).
	void log(int level, std::string_view message) const
	{
		if (host_ && host_->log)
			host_->log(level, message.data(), message.size());
	}

	// Set by the SDK before init().
	void attach(const bulkhead_host_api *host) { host_ = host; }
	void hand_state(ByteView state) { handed_state_ = state; }

private:
	const bulkhead_host_api *host_ = nullptr;
	ByteView handed_state_;
};

inline Unexpected<Error> fail(ErrorCode code, std::string message)
{
	return make_error(code, std::move(message));
}

namespace detail {

inline void answer_error(const bulkhead_host_api *host, bulkhead_reply *reply,
			 const Error &e)
{
	host->reply_error(reply, static_cast<std::uint16_t>(e.code), e.message.data(),
			  e.message.size());
}

template<typename Fn>
void guarded(const bulkhead_host_api *host, bulkhead_reply *reply, Fn &&fn)
{
	try {
		fn();
	} catch (const std::exception &e) {
		std::string m = std::string("the plugin threw: ") + e.what();
		host->reply_error(reply, BULKHEAD_PLUGIN_FAILED, m.data(), m.size());
	} catch (...) {
		static constexpr std::string_view m = "the plugin threw a non-standard exception";
		host->reply_error(reply, BULKHEAD_PLUGIN_FAILED, m.data(), m.size());
	}
}

template<typename T>
void *create(const bulkhead_host_api *host)
{
	try {
		auto *p = new T();
		p->attach(host);
		return p;
	} catch (...) {
		return nullptr;
	}
}

template<typename T>
void init(void *self, const std::uint8_t *config, std::size_t size, bulkhead_reply *reply,
	  const bulkhead_host_api *host)
{
	guarded(host, reply, [&] {
		auto r = static_cast<T *>(self)->init(ByteView(config, size));
		if (!r.has_value())
			answer_error(host, reply, r.error());
	});
}

template<typename T>
void init_with_state(void *self, const std::uint8_t *config, std::size_t size, const std::uint8_t *state,
		     std::size_t state_size, bulkhead_reply *reply, const bulkhead_host_api *host)
{
	auto *p = static_cast<T *>(self);
	p->hand_state(ByteView(state, state_size));
	init<T>(self, config, size, reply, host);
	p->hand_state({});
}

template<typename T>
void export_state(void *self, bulkhead_reply *reply, const bulkhead_host_api *host)
{
	guarded(host, reply, [&] {
		auto r = static_cast<T *>(self)->export_state();
		if (r.has_value())
			host->reply_ok(reply, r.value().data(), r.value().size());
		else
			answer_error(host, reply, r.error());
	});
}

template<typename T>
void call(void *self, std::string_view op, const std::uint8_t *input, std::size_t size,
	  bulkhead_reply *reply, const bulkhead_host_api *host)
{
	guarded(host, reply, [&] {
		auto r = static_cast<T *>(self)->call(op, ByteView(input, size));
		if (r.has_value())
			host->reply_ok(reply, r.value().data(), r.value().size());
		else
			answer_error(host, reply, r.error());
	});
}

} // namespace detail
} // namespace bulkhead::sdk

// Defines the plugin's entry point. Operation names follow the version.
#define BULKHEAD_PLUGIN(Class, Name, Version, ...)                                        \
	namespace {                                                                       \
	const char *const bulkhead_ops_[] = {__VA_ARGS__};                                \
	const bulkhead_host_api *bulkhead_host_ = nullptr;                                \
	void *bulkhead_create_(const bulkhead_host_api *host)                             \
	{                                                                                 \
		bulkhead_host_ = host;                                                    \
		return ::bulkhead::sdk::detail::create<Class>(host);                      \
	}                                                                                 \
	void bulkhead_init_(void *self, const uint8_t *c, size_t n, bulkhead_reply *r)    \
	{                                                                                 \
		::bulkhead::sdk::detail::init<Class>(self, c, n, r, bulkhead_host_);      \
	}                                                                                 \
	void bulkhead_call_(void *self, uint32_t op, const uint8_t *in, size_t n,         \
			    bulkhead_reply *r)                                            \
	{                                                                                 \
		::bulkhead::sdk::detail::call<Class>(self, bulkhead_ops_[op], in, n, r,   \
						     bulkhead_host_);                     \
	}                                                                                 \
	void bulkhead_shutdown_(void *self)                                               \
	{                                                                                 \
		try {                                                                     \
			static_cast<Class *>(self)->shutdown();                           \
		} catch (...) {                                                           \
		}                                                                         \
	}                                                                                 \
	void bulkhead_destroy_(void *self) { delete static_cast<Class *>(self); }         \
	void bulkhead_export_state_(void *self, bulkhead_reply *r)                        \
	{                                                                                 \
		::bulkhead::sdk::detail::export_state<Class>(self, r, bulkhead_host_);    \
	}                                                                                 \
	void bulkhead_init_with_state_(void *self, const uint8_t *c, size_t n,            \
				       const uint8_t *s, size_t sn, bulkhead_reply *r)    \
	{                                                                                 \
		::bulkhead::sdk::detail::init_with_state<Class>(self, c, n, s, sn, r,     \
								bulkhead_host_);  \
	}                                                                                 \
	const bulkhead_plugin_descriptor bulkhead_descriptor_ = {                         \
		BULKHEAD_PLUGIN_ABI_VERSION,                                              \
		sizeof(bulkhead_plugin_descriptor),                                       \
		Name,                                                                     \
		Version,                                                                  \
		sizeof(bulkhead_ops_) / sizeof(bulkhead_ops_[0]),                         \
		bulkhead_ops_,                                                            \
		bulkhead_create_,                                                         \
		bulkhead_init_,                                                           \
		bulkhead_call_,                                                           \
		bulkhead_shutdown_,                                                       \
		bulkhead_destroy_,                                                        \
		bulkhead_export_state_,                                                   \
		bulkhead_init_with_state_,                                                \
	};                                                                                \
	}                                                                                 \
	extern "C" __attribute__((visibility("default"))) const bulkhead_plugin_descriptor \
		*bulkhead_plugin_entry(void)                                              \
	{                                                                                 \
		return &bulkhead_descriptor_;                                             \
	}

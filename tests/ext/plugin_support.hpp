// SPDX-License-Identifier: Apache-2.0
// Shared by the example plugins' end-to-end tests: a development-mode Host
// on the build's shim, the build's plugin files, and calls that encode with
// the extension codec and require an answer (or an error).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <bulkhead/ext/codec.hpp>
#include <bulkhead/ext/op_names.hpp>
#include <bulkhead/host.hpp>

namespace bulkhead::test {

namespace codec = ext::codec;
namespace op = ext::op;

// The example plugins are built in shim/, the test ones in tests/plugins.
inline std::string plugin_file(std::string_view name)
{
	const std::string dir =
		name == "ordered-index" ? BULKHEAD_TEST_TEST_PLUGIN_DIR : BULKHEAD_TEST_PLUGIN_DIR;
	return dir + "/bulkhead-plugin-" + std::string(name) + ".so";
}

inline HostOptions options()
{
	HostOptions o;
	o.shim_path = BULKHEAD_TEST_SHIM;
	o.development_mode = true; // these tests load bare .so files
	o.restart.enabled = false; // a death must show, not be repaired
	o.reload_grace = std::chrono::milliseconds(50);
	// Room for whole scans and 50 KB blocks (the default cell is 4 KiB).
	o.geometry = {8, 256u << 10};
	return o;
}

// A failed Result's error, for an assertion's message. doctest may build
// the message of a passing assertion too (-s), so it must not touch error().
template<typename T> std::string why(const Result<T> &r)
{
	return r.has_value() ? std::string() : r.error().to_string();
}

inline std::unique_ptr<Host> make_host(HostOptions o = options())
{
	auto host = Host::create(std::move(o));
	REQUIRE_MESSAGE(host.has_value(), why(host));
	return std::move(host).value();
}

inline Plugin load(Host &host, std::string_view name)
{
	auto p = host.load(plugin_file(name));
	REQUIRE_MESSAGE(p.has_value(), why(p));
	return std::move(p).value();
}

inline Deadline soon()
{
	return Deadline::after(std::chrono::seconds(10));
}

// The answer of a call that must succeed.
inline Bytes ok(const Plugin &p, std::string_view operation, ByteView in = {})
{
	auto r = p.call(operation, in, soon());
	REQUIRE_MESSAGE(r.has_value(), (std::string(operation) + ": " + why(r)));
	return std::move(r).value();
}

// The error of a call that must fail.
inline Error refused(const Plugin &p, std::string_view operation, ByteView in = {})
{
	auto r = p.call(operation, in, soon());
	REQUIRE_MESSAGE(!r.has_value(), (std::string(operation) + " succeeded"));
	return std::move(r).error();
}

// A decoded answer, which must decode.
template<typename T> T decoded(Result<T> r)
{
	REQUIRE_MESSAGE(r.has_value(), why(r));
	return std::move(r).value();
}

inline bool mentions(const Error &e, std::string_view text)
{
	return e.message.find(text) != std::string::npos;
}

inline Bytes bytes(std::string_view s)
{
	return Bytes(s.begin(), s.end());
}

} // namespace bulkhead::test

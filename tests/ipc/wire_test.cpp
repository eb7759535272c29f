// SPDX-License-Identifier: Apache-2.0
// The direct encoders produce flatbuffers the generated Verifier accepts and
// the generated accessors read back field for field.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../../ipc/src/wire_encode.hpp"

using namespace bulkhead;
namespace fw = bulkhead::wire;

namespace {

Bytes pattern(std::size_t n)
{
	Bytes b(n);
	for (std::size_t i = 0; i < n; ++i)
		b[i] = static_cast<std::uint8_t>(i * 7 + 1);
	return b;
}

} // namespace

TEST_CASE("encoded_requests_verify_and_read_back")
{
	for (std::size_t n : {0, 1, 3, 4, 5, 64, 1000}) {
		alignas(8) std::uint8_t buf[2048];
		std::memset(buf, 0xee, sizeof buf);
		const Bytes payload = pattern(n);
		std::size_t size = ipc::wire::encode_request(buf, 0x1122334455667788ull, 63, 0xfffffffeu,
							     7, -5, payload);
		CHECK(size == ipc::wire::request_size(n));
		flatbuffers::Verifier v(buf, size);
		REQUIRE_MESSAGE(v.VerifyBuffer<fw::Request>(nullptr), "payload " << n);
		const auto *r = flatbuffers::GetRoot<fw::Request>(buf);
		CHECK(r->call_id() == 0x1122334455667788ull);
		CHECK(r->slot() == 63);
		CHECK(r->generation() == 0xfffffffeu);
		CHECK(r->op() == 7);
		CHECK(r->deadline_ns() == -5);
		REQUIRE(r->payload());
		CHECK(Bytes(r->payload()->begin(), r->payload()->end()) == payload);
	}
}

TEST_CASE("encoded_completions_verify_and_read_back")
{
	for (std::size_t n : {0, 1, 2, 3, 4, 64, 1000}) {
		alignas(8) std::uint8_t buf[2048];
		const Bytes payload = pattern(n);
		std::size_t size = ipc::wire::encode_completion(buf, 42, 1, 2, fw::Status::Ok, payload, {});
		CHECK(size == ipc::wire::completion_size(n, 0, true));
		flatbuffers::Verifier v(buf, size);
		REQUIRE(v.VerifyBuffer<fw::Completion>(nullptr));
		const auto *c = flatbuffers::GetRoot<fw::Completion>(buf);
		CHECK(c->call_id() == 42);
		CHECK(c->slot() == 1);
		CHECK(c->generation() == 2);
		CHECK(c->status() == fw::Status::Ok);
		REQUIRE(c->payload());
		CHECK(Bytes(c->payload()->begin(), c->payload()->end()) == payload);
		CHECK(c->message() == nullptr);
	}
	for (std::string m : {"", "x", "abc", "abcd", "the plugin threw: std::bad_alloc"}) {
		alignas(8) std::uint8_t buf[256];
		std::size_t size = ipc::wire::encode_completion(buf, 9, 3, 4, fw::Status::PluginFailed, {}, m);
		CHECK(size == ipc::wire::completion_size(0, m.size(), false));
		CHECK(size % 4 == 0);
		flatbuffers::Verifier v(buf, size);
		REQUIRE_MESSAGE(v.VerifyBuffer<fw::Completion>(nullptr), "message '" << m << "'");
		const auto *c = flatbuffers::GetRoot<fw::Completion>(buf);
		CHECK(c->status() == fw::Status::PluginFailed);
		CHECK(c->payload() == nullptr);
		REQUIRE(c->message());
		CHECK(c->message()->str() == m);
	}
}

TEST_CASE("a_truncated_encoding_fails_verification")
{
	alignas(8) std::uint8_t buf[256];
	const Bytes payload = pattern(40);
	std::size_t size = ipc::wire::encode_completion(buf, 1, 2, 3, fw::Status::Ok, payload, {});
	for (std::size_t cut = 0; cut < size; cut += 3) {
		flatbuffers::Verifier v(buf, cut);
		CHECK_FALSE(v.VerifyBuffer<fw::Completion>(nullptr));
	}
}

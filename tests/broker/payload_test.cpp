// SPDX-License-Identifier: Apache-2.0
// SealedPayload: the bytes a shim runs are sealed before it starts, and the
// descriptor it receives can neither write nor grow them.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bulkhead/broker/payload.hpp>

using namespace bulkhead;
using bulkhead::broker::PayloadKind;
using bulkhead::broker::SealedPayload;

TEST_CASE("a_sealed_payload_refuses_every_change")
{
	const std::uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
	auto p = SealedPayload::seal(ByteView(elf, sizeof elf), "test.so");
	REQUIRE(p.has_value());
	CHECK(p->kind() == PayloadKind::Native);
	CHECK(p->size() == sizeof elf);
	CHECK(p->label() == "test.so");

	int seals = ::fcntl(p->fd(), F_GET_SEALS);
	CHECK((seals & F_SEAL_WRITE) != 0);
	CHECK((seals & F_SEAL_GROW) != 0);
	CHECK((seals & F_SEAL_SHRINK) != 0);
	CHECK((seals & F_SEAL_SEAL) != 0);
	CHECK(::pwrite(p->fd(), "x", 1, 0) < 0);
	CHECK(::ftruncate(p->fd(), 0) != 0);
	CHECK(::mmap(nullptr, 8, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd(), 0) == MAP_FAILED);

	auto ro = p->read_only();
	REQUIRE(ro.has_value());
	CHECK((::fcntl(ro->get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
	std::uint8_t back[8] = {};
	CHECK(::pread(ro->get(), back, sizeof back, 0) == static_cast<ssize_t>(sizeof back));
	CHECK(std::equal(back, back + 8, elf));
}

TEST_CASE("payload_kinds_come_from_the_magic_bytes")
{
	const std::uint8_t wasm[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	const std::uint8_t text[] = {'h', 'e', 'l', 'l', 'o'};
	CHECK(broker::payload_kind(ByteView(wasm, sizeof wasm)) == PayloadKind::Wasm);
	CHECK(broker::payload_kind(ByteView(text, sizeof text)) == PayloadKind::Unknown);
	CHECK(broker::payload_kind(ByteView()) == PayloadKind::Unknown);
}

TEST_CASE("reading_a_payload_names_what_was_wrong_with_the_path")
{
	auto missing = SealedPayload::read_file("/nonexistent/x.so");
	REQUIRE_FALSE(missing.has_value());
	CHECK(missing.error().code == ErrorCode::NotFound);
	CHECK(missing.error().message.find("/nonexistent/x.so") != std::string::npos);

	auto dir = SealedPayload::read_file("/tmp");
	REQUIRE_FALSE(dir.has_value());
	CHECK(dir.error().message.find("not a regular file") != std::string::npos);

	auto nul = SealedPayload::read_file(std::string("a\0b", 3));
	REQUIRE_FALSE(nul.has_value());
	CHECK(nul.error().code == ErrorCode::InvalidArgument);

	int before = ::fcntl(0, F_DUPFD, 0);
	::close(before);
	{
		auto ok = SealedPayload::read_file("/etc/hostname");
		REQUIRE(ok.has_value());
		CHECK(ok->kind() == PayloadKind::Unknown);
	}
	int after = ::fcntl(0, F_DUPFD, 0);
	::close(after);
	CHECK(before == after);
}

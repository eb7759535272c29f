// SPDX-License-Identifier: Apache-2.0
// The shared-memory channel's regions: what the seals and the read-only
// descriptor forbid the shim, geometry checks, and descriptor hygiene.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bulkhead/ipc/layout.hpp>
#include <bulkhead/ipc/shm_channel.hpp>
#include <bulkhead/unique_fd.hpp>

using namespace bulkhead;
using namespace bulkhead::ipc;

namespace {

constexpr Geometry kGeometry{8, 256};

std::unique_ptr<ShmCallChannel> make_channel(Geometry geometry = kGeometry)
{
	auto ch = ShmCallChannel::create(geometry);
	if (!ch.has_value())
		FAIL("ShmCallChannel::create: " << ch.error().to_string());
	return std::move(ch).value();
}

std::size_t file_size(int fd)
{
	struct stat st {};
	REQUIRE(::fstat(fd, &st) == 0);
	return static_cast<std::size_t>(st.st_size);
}

// Another open file description of the same memfd, as a shim could get by
// opening its descriptor through /proc.
UniqueFd reopen(int fd, int flags)
{
	std::string path = "/proc/self/fd/" + std::to_string(fd);
	return UniqueFd(::open(path.c_str(), flags | O_CLOEXEC));
}

// mmap() that reports errno, unmapping on success.
int try_map(int fd, std::size_t size, int prot, int flags)
{
	void *p = ::mmap(nullptr, size, prot, flags, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	::munmap(p, size);
	return 0;
}

std::size_t open_fd_count()
{
	DIR *dir = ::opendir("/proc/self/fd");
	REQUIRE(dir != nullptr);
	std::size_t n = 0;
	while (const dirent *e = ::readdir(dir))
		if (e->d_name[0] != '.')
			++n;
	::closedir(dir);
	return n - 1; // the directory's own descriptor
}

} // namespace

TEST_CASE("the shim's host-region descriptor cannot be mapped writable and shared")
{
	auto ch = make_channel();
	const int fd = ch->peer_fds().host_region;
	const std::size_t size = file_size(fd);
	REQUIRE(size == region_bytes(kGeometry));

	CHECK(try_map(fd, size, PROT_READ | PROT_WRITE, MAP_SHARED) == EACCES);
	// Read-only sharing is what the shim is meant to do.
	CHECK(try_map(fd, size, PROT_READ, MAP_SHARED) == 0);
}

TEST_CASE("a read-only mapping of the host region cannot be made writable")
{
	auto ch = make_channel();
	const int fd = ch->peer_fds().host_region;
	const std::size_t size = file_size(fd);
	void *p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(p != MAP_FAILED);
	const auto *hdr = static_cast<const RegionHeader *>(p);
	CHECK(hdr->magic == kRegionMagic);
	CHECK(hdr->cells == kGeometry.cells);
	CHECK(hdr->cell_bytes == kGeometry.cell_bytes);
	CHECK(::mprotect(p, size, PROT_READ | PROT_WRITE) != 0);
	CHECK(errno == EACCES);
	::munmap(p, size);
}

TEST_CASE("reopening the host region read-write through proc still cannot write it")
{
	auto ch = make_channel();
	const int fd = ch->peer_fds().host_region;
	const std::size_t size = file_size(fd);

	UniqueFd rw = reopen(fd, O_RDWR);
	REQUIRE_MESSAGE(rw.valid(), "open O_RDWR: " << std::strerror(errno));
	// F_SEAL_FUTURE_WRITE: no new writable shared mapping, no write().
	CHECK(try_map(rw.get(), size, PROT_READ | PROT_WRITE, MAP_SHARED) == EPERM);
	const std::uint32_t forged = 0;
	errno = 0;
	CHECK(::pwrite(rw.get(), &forged, sizeof(forged), 0) == -1);
	CHECK(errno == EPERM);
	errno = 0;
	CHECK(::write(rw.get(), &forged, sizeof(forged)) == -1);
	CHECK(errno == EPERM);

	// The header the host wrote is intact.
	std::uint32_t magic = 0;
	REQUIRE(::pread(fd, &magic, sizeof(magic), 0) == sizeof(magic));
	CHECK(magic == kRegionMagic);
}

TEST_CASE("neither region can be resized")
{
	auto ch = make_channel();
	const PeerFds fds = ch->peer_fds();
	const off_t size = static_cast<off_t>(region_bytes(kGeometry));

	UniqueFd host_rw = reopen(fds.host_region, O_RDWR);
	REQUIRE(host_rw.valid());
	for (int fd : {host_rw.get(), fds.shim_region}) {
		CAPTURE(fd);
		errno = 0;
		CHECK(::ftruncate(fd, size * 2) == -1);
		CHECK(errno == EPERM);
		errno = 0;
		CHECK(::ftruncate(fd, size / 2) == -1);
		CHECK(errno == EPERM);
		errno = 0;
		CHECK(::ftruncate(fd, 0) == -1);
		CHECK(errno == EPERM);
		CHECK(file_size(fd) == static_cast<std::size_t>(size));
	}
	// The shim region stays writable through the shim's own descriptor.
	CHECK(try_map(fds.shim_region, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE,
		      MAP_SHARED) == 0);
}

TEST_CASE("the regions carry exactly the expected seals, and no more can be added or removed")
{
	auto ch = make_channel();
	const PeerFds fds = ch->peer_fds();

	const int host_seals = ::fcntl(fds.host_region, F_GET_SEALS);
	const int shim_seals = ::fcntl(fds.shim_region, F_GET_SEALS);
	CHECK(host_seals == (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL));
	CHECK(shim_seals == (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL));

	// F_SEAL_SEAL: a shim cannot seal the host out of its own region.
	errno = 0;
	CHECK(::fcntl(fds.shim_region, F_ADD_SEALS, F_SEAL_WRITE) == -1);
	CHECK(errno == EPERM);
	CHECK(::fcntl(fds.shim_region, F_GET_SEALS) == shim_seals);
}

TEST_CASE("an invalid geometry is refused as an invalid argument naming the numbers")
{
	struct Bad {
		Geometry geometry;
		const char *cells;
		const char *cell_bytes;
	};
	const Bad bad[] = {
		{{3, 4096}, "3", "4096"},         // not a power of two
		{{1, 4096}, "1", "4096"},         // too few cells
		{{8192, 4096}, "8192", "4096"},   // too many cells
		{{64, 100}, "64", "100"},         // not a multiple of 64
		{{64, 64}, "64", "64"},           // too small
		{{64, 2u << 20}, "64", "2097152"},// too large
	};
	for (const Bad &b : bad) {
		CAPTURE(b.geometry.cells);
		CAPTURE(b.geometry.cell_bytes);
		auto ch = ShmCallChannel::create(b.geometry);
		REQUIRE_FALSE(ch.has_value());
		CHECK(ch.error().code == ErrorCode::InvalidArgument);
		const std::string &m = ch.error().message;
		CAPTURE(m);
		CHECK(m.find(b.cells) != std::string::npos);
		CHECK(m.find(b.cell_bytes) != std::string::npos);
	}
}

TEST_CASE("creating and destroying channels and their peers leaks no descriptor")
{
	// Warm up once: the first channel may open things that stay open
	// for the process's lifetime (none today, but not a leak).
	{
		auto ch = make_channel();
	}
	const std::size_t before = open_fd_count();
	for (int i = 0; i < 50; ++i) {
		auto ch = make_channel();
		const PeerFds fds = ch->peer_fds();
		auto peer = ShmPeerChannel::open(UniqueFd(::dup(fds.host_region)),
						 UniqueFd(::dup(fds.shim_region)),
						 UniqueFd(::dup(fds.notify)));
		REQUIRE(peer.has_value());
		if (i % 2)
			ch->release_peer_fds();
	}
	CHECK(open_fd_count() == before);
}

TEST_CASE("every descriptor the channel creates is close-on-exec")
{
	auto ch = make_channel();
	const PeerFds fds = ch->peer_fds();
	for (int fd : {fds.host_region, fds.shim_region, fds.notify, ch->notify_fd()}) {
		CAPTURE(fd);
		const int flags = ::fcntl(fd, F_GETFD);
		REQUIRE(flags >= 0);
		CHECK((flags & FD_CLOEXEC) != 0);
	}
}

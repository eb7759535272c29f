// SPDX-License-Identifier: Apache-2.0
// Filesystem and network escapes: the host's files, other processes' roots,
// symlinks, file handles, writes, and the loopback network.
#define DOCTEST_CONFIG_IMPLEMENT
#include "sandbox_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace bulkhead;
using namespace std::chrono_literals;

TEST_CASE("host_files_are_out_of_reach")
{
	test::Sandboxed s;
	// Not in the plugin's root at all, or refused by Landlock.
	for (const char *path : {"/etc/passwd", "/etc/shadow", "/proc/1/root/etc/passwd",
				 "/proc/self/root/etc/passwd", "/proc/1/environ",
				 "/proc/1/cwd/../etc/passwd", "/../../etc/passwd",
				 "/sys/kernel/notes", "/work"}) {
		INFO(std::string(path));
		const std::string r = s.call("open", path);
		CHECK(r.starts_with("errno:"));
	}
	// The libraries are readable: that is what the root is for.
	CHECK(s.call("open", "/usr/lib/os-release").starts_with("ok:"));
	CHECK(s.call("open", "/proc/self/status").starts_with("ok:"));
	s.finish();
}

TEST_CASE("nothing_is_writable")
{
	test::Sandboxed s;
	for (const char *path : {"/evil", "/usr/evil", "/proc/self/evil", "/tmp/evil",
				 "/proc/self/mem"}) {
		INFO(std::string(path));
		CHECK(s.call("write", path).starts_with("errno:"));
	}
	CHECK(::access("/usr/evil", F_OK) != 0);
	s.finish();
}

TEST_CASE("symlinks_and_file_handles_are_violations")
{
	test::Sandboxed a;
	test::check_violation(a.plugin->call("syscall", as_bytes("symlink"), Deadline::after(10s)),
			*a.plugin, "symlink");
	a.finish();
	test::Sandboxed b;
	test::check_violation(b.plugin->call("syscall", as_bytes("open_by_handle_at"),
				       Deadline::after(10s)),
			*b.plugin, "open_by_handle_at");
	b.finish();
}

TEST_CASE("the_network_is_out_of_reach")
{
	// A listener on the host's loopback that the plugin must not reach.
	int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	REQUIRE(listener >= 0);
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
	REQUIRE(::listen(listener, 1) == 0);
	{
		test::Sandboxed s;
		test::check_violation(s.plugin->call("syscall", as_bytes("socket"), Deadline::after(10s)),
				*s.plugin, "socket");
		s.finish();
	}
	sockaddr_in got{};
	socklen_t len = sizeof got;
	CHECK(::accept4(listener, reinterpret_cast<sockaddr *>(&got), &len, SOCK_CLOEXEC) < 0);
	CHECK(errno == EAGAIN); // nobody ever connected
	::close(listener);
}

int main(int argc, char **argv) { return bulkhead::test::run_suite(argc, argv); }

// SPDX-License-Identifier: Apache-2.0
// Hostile test plugin whose ELF constructor opens a socket: code that runs
// inside dlopen, before the shim can look at the plugin at all.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bulkhead/sdk/plugin.hpp>

namespace {

__attribute__((constructor)) void grab_a_socket()
{
	::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

class Constructor final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<bulkhead::Bytes> call(std::string_view, bulkhead::ByteView in) override
	{
		return bulkhead::Bytes(in.begin(), in.end());
	}
};

} // namespace

BULKHEAD_PLUGIN(Constructor, "hostile-constructor", "0.1.0", "ok")

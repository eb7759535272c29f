// SPDX-License-Identifier: Apache-2.0
// Test plugin that misbehaves on request: each operation is one way a plugin
// can go wrong. Used by the crash-isolation tests and the demo.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>

#include <bulkhead/sdk/plugin.hpp>

namespace {

// Finds the shim's writable channel region in /proc/self/maps and fills it
// with garbage: the worst a plugin can do to the channel.
void scribble_on_channel()
{
	std::ifstream maps("/proc/self/maps");
	std::string line;
	while (std::getline(maps, line)) {
		if (line.find("bulkhead-shim-region") == std::string::npos)
			continue;
		unsigned long lo = 0, hi = 0;
		char perms[5] = {};
		if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) != 3 ||
		    perms[1] != 'w')
			continue;
		auto *p = reinterpret_cast<unsigned char *>(lo);
		for (unsigned long i = 0; i < hi - lo; ++i)
			p[i] = static_cast<unsigned char>(0xA5 ^ (i * 131));
	}
}

class Faulty final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		if (op == "ok")
			return bulkhead::Bytes(in.begin(), in.end());
		if (op == "segfault") {
			volatile int *p = nullptr;
			*p = 1;
		}
		if (op == "abort")
			std::abort();
		if (op == "exit")
			::_exit(3);
		if (op == "loop")
			for (;;)
				asm volatile("" ::: "memory");
		if (op == "alloc_huge") {
			// Reserve 1 TiB at a time, untouched, until the address
			// space or the overcommit policy says no: new throws
			// bad_alloc, the SDK answers an error, the shim lives.
			// (malloc + throw, as operator new does: ASan's operator
			// new aborts on exhaustion instead of throwing.)
			struct Free {
				void operator()(void *p) const { std::free(p); }
			};
			std::vector<std::unique_ptr<void, Free>> hoard;
			for (int i = 0; i < 1024; ++i) {
				void *p = std::malloc(1ull << 40);
				if (!p)
					throw std::bad_alloc();
				hoard.emplace_back(p);
			}
			return bulkhead::sdk::fail(bulkhead::ErrorCode::Internal,
						   "1 PiB of address space was granted");
		}
		if (op == "crash_later") {
			::usleep(in.empty() ? 1000 : in[0] * 1000u);
			volatile int *p = nullptr;
			*p = 1;
		}
		if (op == "throw")
			throw std::runtime_error("faulty threw on purpose");
		if (op == "scribble") {
			scribble_on_channel();
			return bulkhead::Bytes{1};
		}
		if (op == "close_fds") {
			::close_range(0, ~0u, 0);
			return bulkhead::Bytes{1};
		}
		if (op == "sleep") {
			::usleep(in.empty() ? 1000 : in[0] * 1000u);
			return bulkhead::Bytes(in.begin(), in.end());
		}
		return bulkhead::sdk::fail(bulkhead::ErrorCode::NotFound, "unreachable");
	}
};

} // namespace

BULKHEAD_PLUGIN(Faulty, "faulty", "0.1.0", "ok", "segfault", "abort", "exit", "loop",
		"alloc_huge", "throw", "scribble", "close_fds", "sleep", "crash_later")

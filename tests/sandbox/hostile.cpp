// SPDX-License-Identifier: Apache-2.0
// Hostile test plugin: each operation is one attempt to get out of the
// sandbox or to exhaust the host, selected by name. An operation that is
// stopped softly answers what happened ("errno:EACCES"); one that is
// stopped hard never answers (the broker kills the plugin).
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <map>
#include <netinet/in.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <bulkhead/sdk/plugin.hpp>

extern char **environ;

namespace {

using bulkhead::Bytes;
using bulkhead::ByteView;

Bytes text(const std::string &s) { return Bytes(s.begin(), s.end()); }

std::string outcome(long rc)
{
	if (rc >= 0)
		return "ok:" + std::to_string(rc);
	const char *name = strerrorname_np(errno);
	return std::string("errno:") + (name ? name : "?");
}

// "name" or "name:arg" from the payload.
std::pair<std::string, std::string> split(ByteView in)
{
	std::string s(in.begin(), in.end());
	auto colon = s.find(':');
	if (colon == std::string::npos)
		return {s, ""};
	return {s.substr(0, colon), s.substr(colon + 1)};
}

// One forbidden call per name, with harmless arguments: the sandbox must
// stop the call itself, whatever it would have done.
long forbidden(const std::string &name, const std::string &arg)
{
	const long target = arg.empty() ? 1 : std::atol(arg.c_str());
	static char *const no_args[] = {nullptr};
	if (name == "socket")
		return ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (name == "ptrace")
		return ::syscall(SYS_ptrace, PTRACE_ATTACH, target, 0, 0);
	if (name == "kill")
		return ::syscall(SYS_kill, target, SIGKILL);
	if (name == "tgkill")
		return ::syscall(SYS_tgkill, target, target, SIGKILL);
	if (name == "process_vm_writev")
		return ::syscall(SYS_process_vm_writev, target, 0, 0, 0, 0, 0);
	if (name == "bpf")
		return ::syscall(SYS_bpf, 0, 0, 0);
	if (name == "perf_event_open")
		return ::syscall(SYS_perf_event_open, 0, 0, -1, -1, 0);
	if (name == "userfaultfd")
		return ::syscall(SYS_userfaultfd, 0);
	if (name == "keyctl")
		return ::syscall(SYS_keyctl, 0, 0, 0, 0, 0);
	if (name == "mount")
		return ::syscall(SYS_mount, "none", "/", "tmpfs", 0, 0);
	if (name == "unshare")
		return ::syscall(SYS_unshare, CLONE_NEWUSER);
	if (name == "setns")
		return ::syscall(SYS_setns, 0, 0);
	if (name == "execve")
		return ::syscall(SYS_execve, "/bin/sh", no_args, no_args);
	if (name == "personality")
		return ::syscall(SYS_personality, 0xffffffffUL);
	if (name == "chroot")
		return ::syscall(SYS_chroot, "/");
	if (name == "init_module")
		return ::syscall(SYS_init_module, nullptr, 0, "");
	if (name == "open_by_handle_at") {
		alignas(8) unsigned char handle[128] = {};
		return ::syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_RDONLY);
	}
	if (name == "io_uring_setup") {
		struct io_uring_params params = {};
		return ::syscall(SYS_io_uring_setup, 4, &params);
	}
	if (name == "seccomp") {
		// A second, permissive filter: were it loaded, it still could
		// not loosen the first.
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = {1, &allow};
		return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	}
	if (name == "fork")
		return ::fork(); // glibc: clone(SIGCHLD)
	if (name == "vfork")
		return ::syscall(SYS_vfork);
	if (name == "clone_newuser")
		return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (name == "clone_thread_and_newns")
		return ::syscall(SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_NEWNS, 0,
				 0, 0, 0);
	if (name == "symlink")
		return ::syscall(SYS_symlink, "/etc/passwd", "/escape");
	if (name == "memfd_exec")
		return ::syscall(SYS_execveat, 0, "", no_args, no_args, AT_EMPTY_PATH);
	errno = ENOSYS;
	return -2;
}

// i386 getpid through int 0x80: a foreign ABI in a 64-bit process.
long int80_getpid()
{
	long rc;
	asm volatile("int $0x80" : "=a"(rc) : "a"(20) : "memory");
	return rc;
}

// getpid with the x32 bit: the other foreign ABI.
long x32_getpid() { return ::syscall(0x40000000 | SYS_getpid); }

std::string list_fds()
{
	std::string out;
	DIR *d = ::opendir("/proc/self/fd");
	if (!d)
		return outcome(-1);
	const int own = ::dirfd(d);
	while (const dirent *e = ::readdir(d)) {
		if (e->d_name[0] == '.' || std::atoi(e->d_name) == own)
			continue;
		out += (out.empty() ? "" : ",") + std::string(e->d_name);
	}
	::closedir(d);
	return out;
}

std::string read_file(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return outcome(-1);
	std::string out;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(fd, buf, sizeof buf)) > 0)
		out.append(buf, static_cast<std::size_t>(n));
	::close(fd);
	return "ok:" + out;
}

// Touches `mib` MiB a megabyte at a time through `get`.
[[noreturn]] void bomb(const std::function<char *(std::size_t)> &get)
{
	for (;;) {
		char *p = get(1 << 20);
		if (p)
			std::memset(p, 0x5a, 1 << 20);
	}
}

class Hostile final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<Bytes> call(std::string_view op, ByteView in) override
	{
		auto [name, arg] = split(in);
		if (op == "ok")
			return Bytes(in.begin(), in.end());
		if (op == "syscall")
			return text(outcome(forbidden(name, arg)));
		if (op == "syscall_in_thread") {
			std::string r;
			std::thread t([&, n = name, a = arg] { r = outcome(forbidden(n, a)); });
			t.join();
			return text(r);
		}
		if (op == "syscall_after_sigsys_handler") {
			struct sigaction sa = {};
			sa.sa_handler = [](int) {};
			::sigaction(SIGSYS, &sa, nullptr);
			return text(outcome(forbidden(name, arg)));
		}
		if (op == "int80")
			return text(outcome(int80_getpid()));
		if (op == "x32")
			return text(outcome(x32_getpid()));
		if (op == "clone3") {
			struct { std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal,
				 stack, stack_size, tls; } args = {0, 0, 0, 0, SIGCHLD, 0, 0, 0};
			return text(outcome(::syscall(SYS_clone3, &args, sizeof args)));
		}
		if (op == "threads") {
			std::atomic<int> ran{0};
			std::vector<std::thread> ts;
			for (int i = 0; i < 4; ++i)
				ts.emplace_back([&] { ran.fetch_add(1); });
			for (auto &t : ts)
				t.join();
			return text(std::to_string(ran.load()));
		}
		if (op == "open")
			return text(read_file(name + (arg.empty() ? "" : ":" + arg)).substr(0, 64));
		if (op == "write")
			return text(outcome(::open(name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
		if (op == "tiocsti") {
			char c = 'x';
			return text(outcome(::ioctl(2, TIOCSTI, &c)));
		}
		if (op == "fds")
			return text(list_fds());
		if (op == "dup_high")
			return text(outcome(::dup2(0, 1000)));
		if (op == "environ") {
			std::string out;
			for (char **e = environ; e && *e; ++e)
				out += std::string(*e) + "\n";
			return text(out + "proc:" + read_file("/proc/self/environ"));
		}
		if (op == "status")
			return text(read_file("/proc/self/status"));
		if (op == "malloc_bomb")
			bomb([](std::size_t n) { return static_cast<char *>(std::malloc(n)); });
		if (op == "mmap_bomb")
			bomb([](std::size_t n) {
				void *p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
				return p == MAP_FAILED ? nullptr : static_cast<char *>(p);
			});
		if (op == "memfd_bomb") {
			// Shared memory the plugin maps and touches: page cache,
			// not its heap, and still charged to its cgroup. 8 MiB
			// files, under RLIMIT_FSIZE, one after another.
			for (;;) {
				int fd = ::memfd_create("bomb", MFD_CLOEXEC);
				if (fd < 0 || ::ftruncate(fd, 8 << 20) != 0)
					return text(outcome(-1));
				void *p = ::mmap(nullptr, 8 << 20, PROT_READ | PROT_WRITE, MAP_SHARED,
						 fd, 0);
				::close(fd);
				if (p == MAP_FAILED)
					return text(outcome(-1));
				for (std::size_t i = 0; i < (8 << 20); i += 4096)
					static_cast<volatile char *>(p)[i] = 1;
			}
		}
		if (op == "thread_memory_bomb") {
			for (int i = 0; i < 4; ++i)
				std::thread([] {
					bomb([](std::size_t n) {
						return static_cast<char *>(std::malloc(n));
					});
				}).detach();
			for (;;)
				::pause();
		}
		if (op == "helper_memory_bomb") {
			// A helper process that allocates: denied at the fork.
			pid_t pid = ::fork();
			if (pid == 0)
				bomb([](std::size_t n) { return static_cast<char *>(std::malloc(n)); });
			return text(outcome(pid));
		}
		if (op == "fork_bomb") {
			for (;;)
				::fork();
		}
		if (op == "thread_bomb") {
			// Threads until the task cap says no; they stay asleep.
			int made = 0;
			for (;; ++made) {
				pthread_t t;
				pthread_attr_t attr;
				pthread_attr_init(&attr);
				pthread_attr_setstacksize(&attr, 64 << 10);
				int rc = pthread_create(&t, &attr, [](void *) -> void * {
					for (;;)
						::pause();
				}, nullptr);
				pthread_attr_destroy(&attr);
				if (rc != 0)
					break;
				pthread_detach(t);
			}
			return text(std::to_string(made));
		}
		if (op == "loop")
			for (;;)
				asm volatile("" ::: "memory");
		if (op == "burn") {
			// Spins for `name` ms of wall time; answers "<cpu ms> <wall ms>".
			const auto now = [](clockid_t c) {
				timespec t{};
				::clock_gettime(c, &t);
				return t.tv_sec * 1000L + t.tv_nsec / 1000000;
			};
			const long start = now(CLOCK_MONOTONIC), cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
			const long ms = std::atol(name.c_str());
			while (now(CLOCK_MONOTONIC) - start < ms)
				asm volatile("" ::: "memory");
			return text(std::to_string(now(CLOCK_PROCESS_CPUTIME_ID) - cpu0) + " " +
				    std::to_string(now(CLOCK_MONOTONIC) - start));
		}
		return bulkhead::sdk::fail(bulkhead::ErrorCode::NotFound, "no such attempt");
	}
};

} // namespace

BULKHEAD_PLUGIN(Hostile, "hostile", "0.1.0", "ok", "syscall", "syscall_in_thread",
		"syscall_after_sigsys_handler", "int80", "x32", "clone3", "threads", "open", "write",
		"tiocsti", "fds", "dup_high", "environ", "status", "malloc_bomb", "mmap_bomb",
		"memfd_bomb", "thread_memory_bomb", "helper_memory_bomb", "fork_bomb", "thread_bomb",
		"loop", "burn")

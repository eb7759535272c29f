// SPDX-License-Identifier: Apache-2.0
// The plugin process's seccomp policy: an allowlist over named syscall sets.
// Anything else notifies the broker, which kills the whole plugin and names
// the call. A foreign ABI (i386 int 0x80, x32) kills the process outright.
#include <bulkhead/sandbox/confine.hpp>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <initializer_list>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/read_exact.hpp>

#include "steps.hpp"

namespace bulkhead::sandbox {

namespace {

using Set = std::initializer_list<int>;

// Reading and writing descriptors the process already holds.
const Set kBasicIo = {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		      SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
		      SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close),
		      SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(close_range)};
// Opening and inspecting files. What they can reach is bounded by the
// read-only root and Landlock; the loader needs them after lockdown
// (dlopen runs under the filter, so ELF constructors do too).
const Set kFileQuery = {SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
			SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statfs), SCMP_SYS(fstatfs),
			SCMP_SYS(getcwd), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
			SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
			SCMP_SYS(getdents64), SCMP_SYS(fadvise64)};
// Memory, including anonymous files: the memory cgroup caps them all.
const Set kMemory = {SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
		     SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(msync), SCMP_SYS(mincore),
		     SCMP_SYS(memfd_create), SCMP_SYS(ftruncate), SCMP_SYS(fallocate)};
const Set kTime = {SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
		   SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
		   SCMP_SYS(pause)};
// POSIX timers: a timer signals only its own process's threads (the kernel
// refuses another thread group). The WebAssembly runner's per-call
// deadline is one.
const Set kTimers = {SCMP_SYS(timer_create), SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
		     SCMP_SYS(timer_getoverrun), SCMP_SYS(timer_delete)};
// Threads and the channel's waits (futex doorbells, eventfd via read/write,
// poll on the control socket and the lifeline).
const Set kThreadsAndSync = {SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
			     SCMP_SYS(getcpu), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
			     SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(poll),
			     SCMP_SYS(ppoll)};
const Set kSignals = {SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
		      SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(rt_sigpending)};
const Set kIdentity = {SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
		       SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
		       SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups),
		       SCMP_SYS(uname), SCMP_SYS(getrlimit), SCMP_SYS(sysinfo),
		       SCMP_SYS(getrusage), SCMP_SYS(getpgrp), SCMP_SYS(getsid),
		       SCMP_SYS(getrandom), SCMP_SYS(exit), SCMP_SYS(exit_group)};
// Granted with the network capability only: the host's network namespace
// is kept, and sockets may be made and used.
const Set kNetwork = {SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
		      SCMP_SYS(accept4), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		      SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(shutdown),
		      SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg)};
#if defined(__SANITIZE_ADDRESS__)
// ASan's runtime in the shim: it opens /proc/self/maps with the legacy
// open(2), and its accessible-memory probe writes through a pipe it makes
// on the spot.
const Set kSanitizer = {SCMP_SYS(open), SCMP_SYS(pipe2), SCMP_SYS(pipe)};
#else
const Set kSanitizer = {};
#endif

// glibc's pthread_create, exactly: no fork, no namespace, no vfork flags.
constexpr unsigned long kThreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					    CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
					    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

// fcntl commands on descriptors already held; no owner or lease games.
constexpr int kFcntlCommands[] = {F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC,
				  F_GET_SEALS};

class Policy {
public:
	Policy() : ctx_(::seccomp_init(SCMP_ACT_NOTIFY)) {}
	~Policy()
	{
		if (ctx_)
			::seccomp_release(ctx_);
	}
	Policy(const Policy &) = delete;
	Policy &operator=(const Policy &) = delete;

	void allow(Set set)
	{
		for (int nr : set)
			check(::seccomp_rule_add(ctx_, SCMP_ACT_ALLOW, nr, 0));
	}
	void answer(int nr, int err) { check(::seccomp_rule_add(ctx_, SCMP_ACT_ERRNO(err), nr, 0)); }
	template<typename... Cmp>
	void allow_if(int nr, Cmp... cmp)
	{
		check(::seccomp_rule_add(ctx_, SCMP_ACT_ALLOW, nr, sizeof...(cmp), cmp...));
	}

	scmp_filter_ctx get() const { return ctx_; }
	int error() const { return error_; }

private:
	void check(int rc)
	{
		if (rc < 0 && error_ == 0)
			error_ = -rc;
	}
	scmp_filter_ctx ctx_;
	int error_ = 0;
};

// A whole BPF program from `fd`: whole instructions, at least one, no more
// than the kernel takes.
Result<Bytes> read_program(int fd, std::string_view what)
{
	struct stat st;
	if (::fstat(fd, &st) != 0)
		return Unexpected(detail::os_error(fmt::format("reading {}", what), errno));
	const auto size = static_cast<std::size_t>(st.st_size);
	if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return make_error(ErrorCode::Internal,
				  fmt::format("sandbox: {} is {} bytes, not a whole BPF program", what,
					      size));
	return read_exact(fd, size, 0, what);
}

} // namespace

Result<Bytes> compile_seccomp(const ShimSandboxConfig &config, int control_fd)
{
	Policy p;
	if (!p.get())
		return make_error(ErrorCode::Internal, "sandbox: seccomp_init failed");
	if (::seccomp_attr_set(p.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
		return make_error(ErrorCode::Internal, "sandbox: cannot make a foreign ABI fatal");
	p.allow(kBasicIo);
	p.allow(kFileQuery);
	p.allow(kMemory);
	p.allow(kTime);
	p.allow(kTimers);
	p.allow(kThreadsAndSync);
	p.allow(kSignals);
	p.allow(kIdentity);
	p.allow(kSanitizer);

	p.allow_if(SCMP_SYS(clone), SCMP_A0(SCMP_CMP_EQ, kThreadCloneFlags));
	// ENOSYS, not EPERM: glibc then falls back to clone (checked above);
	// clone3's flags sit behind a pointer seccomp cannot read.
	p.answer(SCMP_SYS(clone3), ENOSYS);
	// No terminal tricks (TIOCSTI); isatty() just says no.
	p.answer(SCMP_SYS(ioctl), ENOTTY);
	// abort() and raise() signal the process itself, and nothing else.
	p.allow_if(SCMP_SYS(tgkill), SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(kPluginPid)));
	// Reading its own limits, never raising them.
	p.allow_if(SCMP_SYS(prlimit64), SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0));
	for (int cmd : kFcntlCommands)
		p.allow_if(SCMP_SYS(fcntl), SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd)));
	if (config.network) {
		p.allow(kNetwork);
	} else {
		// Socket calls only on the control socket the broker gave it.
		const auto control = static_cast<scmp_datum_t>(control_fd);
		for (int nr : {SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
			       SCMP_SYS(recvmsg)})
			p.allow_if(nr, SCMP_A0(SCMP_CMP_EQ, control));
	}
	if (p.error() != 0)
		return Unexpected(detail::os_error("building the seccomp policy", p.error()));

	// libseccomp 2.5 exports to a descriptor only.
	UniqueFd out(::memfd_create("bulkhead-seccomp", MFD_CLOEXEC));
	if (!out.valid())
		return Unexpected(detail::os_error("memfd_create", errno));
	if (int rc = ::seccomp_export_bpf(p.get(), out.get()); rc < 0)
		return Unexpected(detail::os_error("seccomp_export_bpf", -rc));
	return read_program(out.get(), "the exported seccomp program");
}

Result<UniqueFd> install_seccomp(const ShimSandboxConfig &config, const EnterContext &context,
				 SandboxReport &report)
{
	auto program = read_program(context.seccomp_fd, "the broker's seccomp program");
	::close(context.seccomp_fd);
	if (!program.has_value())
		return Unexpected(std::move(program).error());
	const Bytes &code = program.value();
	if (::getpid() != kPluginPid)
		return make_error(ErrorCode::Internal,
				  fmt::format("sandbox: the seccomp program is for pid {}, this is pid {}",
					      kPluginPid, ::getpid()));
	struct sock_fprog fprog = {};
	fprog.len = static_cast<unsigned short>(code.size() / sizeof(struct sock_filter));
	fprog.filter = reinterpret_cast<struct sock_filter *>(const_cast<std::uint8_t *>(code.data()));
	// drop_privileges() set no_new_privs, which an unprivileged filter needs.
	UniqueFd listener(static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
						     SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog)));
	if (!listener.valid())
		return Unexpected(detail::os_error("loading the seccomp filter", errno));
	report.add("seccomp", LayerState::Enforced,
		   fmt::format("allowlist{}; other calls notify the broker (plugin killed, call "
			       "named); clone only for threads, clone3 ENOSYS, ioctl ENOTTY, "
			       "io_uring never; i386/x32 kill the process",
			       config.network ? " + sockets (network granted)" : ""));
	return listener;
}

std::string syscall_name(std::uint32_t arch, int nr)
{
	char *name = ::seccomp_syscall_resolve_num_arch(arch, nr);
	if (!name)
		return fmt::format("#{}", nr);
	std::string out(name);
	std::free(name);
	return out;
}

} // namespace bulkhead::sandbox

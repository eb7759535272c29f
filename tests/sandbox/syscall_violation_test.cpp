// SPDX-License-Identifier: Apache-2.0
// Forbidden system calls, from the plugin's main thread, a second thread and
// an ELF constructor; foreign ABIs; process creation. Each kills the whole
// plugin with a verdict naming the call, and leaves nothing behind.
#define DOCTEST_CONFIG_IMPLEMENT
#include "sandbox_support.hpp"

#include <linux/filter.h>
#include <sys/mman.h>
#include <thread>

#include <bulkhead/sandbox/confine.hpp>

using namespace bulkhead;
using namespace std::chrono_literals;

namespace {

struct Forbidden {
	const char *attempt; // the hostile plugin's name for it
	const char *syscall; // the verdict must name this call
};

// Every call here is outside the allowlist; the arguments are harmless, so
// only the sandbox can be what stops them.
const Forbidden kForbidden[] = {
	{"socket", "socket"},
	{"bpf", "bpf"},
	{"perf_event_open", "perf_event_open"},
	{"userfaultfd", "userfaultfd"},
	{"keyctl", "keyctl"},
	{"mount", "mount"},
	{"unshare", "unshare"},
	{"setns", "setns"},
	{"execve", "execve"},
	{"memfd_exec", "execveat"},
	{"personality", "personality"},
	{"chroot", "chroot"},
	{"init_module", "init_module"},
	{"process_vm_writev", "process_vm_writev"},
	{"io_uring_setup", "io_uring_setup"},
	{"seccomp", "seccomp"},
	{"fork", "clone"},
	{"vfork", "vfork"},
	{"clone_newuser", "clone"},
	{"clone_thread_and_newns", "clone"},
};

void violate(std::string_view op, std::string_view attempt, std::string_view syscall)
{
	test::Sandboxed s;
	auto r = s.plugin->call(op, as_bytes(attempt), Deadline::after(10s));
	test::check_violation(r, *s.plugin, syscall);
	s.finish();
}

} // namespace

TEST_CASE("forbidden_calls_from_the_main_thread_kill_the_plugin_and_are_named")
{
	for (const auto &f : kForbidden) {
		INFO(std::string(f.attempt));
		violate("syscall", f.attempt, f.syscall);
	}
}

TEST_CASE("forbidden_calls_from_a_second_thread_kill_the_whole_process")
{
	for (const auto &f : kForbidden) {
		INFO(std::string(f.attempt));
		violate("syscall_in_thread", f.attempt, f.syscall);
	}
}

TEST_CASE("a_sigsys_handler_does_not_save_a_violating_plugin")
{
	violate("syscall_after_sigsys_handler", "socket", "socket");
}

TEST_CASE("an_elf_constructor_runs_confined_and_its_violation_fails_the_load")
{
	test::Leaks leaks;
	sandbox::SandboxReport none;
	{
		auto host = std::move(Host::create(test::options()).value());
		auto p = host->load(test::hostile("hostile_constructor"));
		REQUIRE_FALSE(p.has_value());
		INFO(p.error().to_string());
		CHECK(p.error().code == ErrorCode::PluginCrashed);
		CHECK(p.error().termination == Termination::SandboxViolation);
		CHECK(p.error().syscall == "socket");
		CHECK(host->plugins().empty());
	}
	leaks.check(none);
	// Its cgroups are gone too: none of this host's remain.
	const std::string mine = std::to_string(::getpid()) + "-";
	if (DIR *d = ::opendir("/sys/fs/cgroup/memory/bulkhead")) {
		while (const dirent *e = ::readdir(d))
			CHECK_FALSE(std::string(e->d_name).starts_with(mine));
		::closedir(d);
	}
}

namespace {

// Whether this kernel runs i386 system calls at all (CONFIG_IA32_EMULATION,
// ia32_emulation=): probed unsandboxed, in a child, as the plugin would.
bool kernel_runs_int80()
{
	const pid_t pid = ::fork();
	if (pid == 0) {
		long rc;
		asm volatile("int $0x80" : "=a"(rc) : "a"(20) : "memory"); // i386 getpid
		::_exit(rc == ::getpid() ? 0 : 1);
	}
	int status = 0;
	::waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void foreign_abi_kills_the_process(const char *op)
{
	test::Sandboxed s;
	auto r = s.plugin->call(op, {}, Deadline::after(10s));
	test::check_violation(r, *s.plugin, "foreign-abi");
	CHECK(s.plugin->exit_error()->signal == SIGSYS);
	s.finish();
}

} // namespace

TEST_CASE("i386_system_calls_kill_the_process")
{
	if (!kernel_runs_int80())
		SANDBOX_SKIP("this kernel does not run i386 system calls (int 0x80 faults even "
			     "unsandboxed): no IA32 emulation, so there is no foreign ABI to refuse");
	foreign_abi_kills_the_process("int80");
}

TEST_CASE("x32_system_calls_kill_the_process")
{
	foreign_abi_kills_the_process("x32");
}

TEST_CASE("clone3_says_enosys_and_threads_still_work")
{
	test::Sandboxed s;
	CHECK(s.call("threads") == "4");
	CHECK(s.call("clone3") == "errno:ENOSYS");
	CHECK(s.call("threads") == "4");
	CHECK(s.call("tiocsti") == "errno:ENOTTY");
	CHECK(s.plugin->alive());
	s.finish();
}

TEST_CASE("signals_to_the_host_are_violations")
{
	const std::string host = std::to_string(::getpid());
	violate("syscall", "kill:" + host, "kill");
	violate("syscall", "tgkill:" + host, "tgkill");
	CHECK(::getpid() > 0); // and we are still here
}

TEST_CASE("ptrace_of_the_host_or_of_another_plugin_is_a_violation")
{
	violate("syscall", "ptrace:" + std::to_string(::getpid()), "ptrace");
	// Two plugins of one host: the attacker aims at its neighbour.
	test::Sandboxed victim;
	auto attacker = victim.host->load(test::hostile());
	REQUIRE(attacker.has_value());
	auto r = attacker->call("syscall",
				as_bytes("ptrace:" + std::to_string(victim.plugin->info().pid)),
				Deadline::after(10s));
	test::check_violation(r, attacker.value(), "ptrace");
	CHECK(victim.call("ok", "alive") == "alive");
	const auto attacker_report = attacker->sandbox();
	attacker = Unexpected(Error());
	victim.finish();
	victim.leaks.check(attacker_report);
}

// The broker compiles the filter once per policy; the shim only loads it.
// What reaches install_seccomp that is not a whole program for pid 2 is
// refused before anything is loaded (so these checks run in this process).
TEST_CASE("the_brokers_compiled_filter_is_whole_bpf_and_a_malformed_one_is_refused_unloaded")
{
	sandbox::ShimSandboxConfig config;
	auto plain = sandbox::compile_seccomp(config, 3);
	REQUIRE(plain.has_value());
	CHECK(plain->size() % sizeof(struct sock_filter) == 0);
	CHECK(plain->size() / sizeof(struct sock_filter) > 100);
	config.network = true;
	auto network = sandbox::compile_seccomp(config, 3);
	REQUIRE(network.has_value());
	CHECK(network.value() != plain.value()); // the grant is in the program

	auto install = [](ByteView bytes) {
		int fd = ::memfd_create("program", MFD_CLOEXEC);
		REQUIRE(fd >= 0);
		REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
		sandbox::EnterContext context;
		context.seccomp_fd = fd;
		sandbox::SandboxReport report;
		auto r = sandbox::install_seccomp({}, context, report);
		CHECK(::fcntl(fd, F_GETFD) == -1); // closed on every path
		REQUIRE_FALSE(r.has_value());
		CHECK(report.layers.empty());
		return r.error().message;
	};
	CHECK(install(as_bytes("")) == "sandbox: the broker's seccomp program is 0 bytes, not a whole BPF program");
	CHECK(install(as_bytes("12345")) ==
	      "sandbox: the broker's seccomp program is 5 bytes, not a whole BPF program");
	CHECK(install(Bytes(8 * 4097, 0)) ==
	      "sandbox: the broker's seccomp program is 32776 bytes, not a whole BPF program");
	// A whole program, but this process is not the plugin process.
	CHECK(install(plain.value()) ==
	      "sandbox: the seccomp program is for pid 2, this is pid " + std::to_string(::getpid()));
}

int main(int argc, char **argv) { return bulkhead::test::run_suite(argc, argv); }

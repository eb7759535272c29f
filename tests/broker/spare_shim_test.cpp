// SPDX-License-Identifier: Apache-2.0
// Spare shims with real processes: a host that has started a plugin keeps
// one idle shim for the next start, the next start runs in it, a spare that
// died idle is replaced without failing a start, a spare refuses an Assign
// it cannot honour, and nothing of a spare outlives its host. And what any
// spawn hands over: the descriptors it names, nothing else of the host's.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bulkhead/broker/spare_shim.hpp>
#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>

#include "test_support.hpp"

using namespace bulkhead;
using namespace std::chrono_literals;
namespace sp = ipc::shim_protocol;

namespace {

// The host's one idle spare, once it has spawned it; 0 if none came.
pid_t the_spare()
{
	pid_t found = 0;
	test::eventually([&] {
		for (pid_t pid : test::children())
			if (test::idle_spare(pid))
				found = pid;
		return found != 0;
	});
	return found;
}

// The process the broker started for `p`: a sandboxed plugin runs in a
// child of it (docs/sandbox.md), which PluginInfo::pid names.
pid_t started_process(const Plugin &p)
{
	const pid_t pid = p.info().pid;
	const std::string ppid = test::field(test::slurp("/proc/" + std::to_string(pid) + "/status"), "PPid");
	if (ppid.empty())
		return 0;
	const pid_t parent = std::atoi(ppid.c_str());
	return parent == ::getpid() ? pid : parent;
}

// The network namespace process `pid` is in.
std::string network_of(pid_t pid)
{
	char target[64] = {};
	const std::string link = "/proc/" + std::to_string(pid) + "/ns/net";
	return ::readlink(link.c_str(), target, sizeof target - 1) > 0 ? target : "";
}

// Each layer's name and state, in order.
std::vector<std::pair<std::string, sandbox::LayerState>> layers(const Plugin &p)
{
	std::vector<std::pair<std::string, sandbox::LayerState>> out;
	for (const auto &l : p.sandbox().layers)
		out.emplace_back(l.name, l.state);
	return out;
}

bool answers(Plugin &p)
{
	auto r = p.call("echo", as_bytes("spare"), Deadline::after(5s));
	return r.has_value() && std::string(r->begin(), r->end()) == "spare";
}

} // namespace

TEST_CASE("the_next_start_runs_in_the_spare_and_a_new_spare_follows")
{
	{
		auto host = std::move(Host::create(test::options()).value());
		// None before the first start: a host that loads nothing costs nothing.
		CHECK(test::children().empty());
		auto first = host->load(test::plugin("echo"));
		REQUIRE_MESSAGE(first.has_value(), first.error().to_string());
		const pid_t spare = the_spare();
		REQUIRE(spare != 0);

		auto second = host->load(test::plugin("echo"));
		REQUIRE_MESSAGE(second.has_value(), second.error().to_string());
		CHECK(started_process(second.value()) == spare);
		CHECK(answers(second.value()));
		CHECK_FALSE(test::idle_spare(spare)); // it holds a channel now

		// A reload starts in the next one.
		const pid_t next = the_spare();
		REQUIRE(next != 0);
		CHECK(next != spare);
		REQUIRE(host->reload(first.value(), test::plugin("echo")).has_value());
		CHECK(started_process(first.value()) == next);
		CHECK(answers(first.value()));
		CHECK(the_spare() != 0);
	}
	// The host is gone and the spare with it, reaped.
	CHECK(test::no_children());
}

TEST_CASE("a_start_in_a_spare_is_sandboxed_as_a_spawned_one_is")
{
	// The hostile suite starts each plugin in a new host, so spawned;
	// here the same layers must hold for a start in a spare.
	const std::string host_network = network_of(::getpid());
	REQUIRE_FALSE(host_network.empty());
	{
		auto host = std::move(Host::create(test::options()).value());
		auto spawned = host->load(test::plugin("echo"));
		REQUIRE(spawned.has_value());
		const pid_t spare = the_spare();
		REQUIRE(spare != 0);
		auto in_spare = host->load(test::plugin("echo"));
		REQUIRE(in_spare.has_value());
		REQUIRE(started_process(in_spare.value()) == spare);

		CHECK(layers(in_spare.value()) == layers(spawned.value()));
		const sandbox::SandboxReport report = in_spare->sandbox(); // a copy: keep it
		const auto *seccomp = report.find("seccomp");
		REQUIRE(seccomp != nullptr);
		CHECK(seccomp->state == sandbox::LayerState::Enforced);
		const std::string own = network_of(in_spare->info().pid);
		CHECK_FALSE(own.empty());
		CHECK(own != host_network);
		CHECK(own != network_of(spawned->info().pid));
		CHECK(answers(in_spare.value()));
	}
	CHECK(test::no_children());
}

TEST_CASE("a_spare_that_died_idle_is_replaced_and_the_start_spawns_afresh")
{
	{
		auto host = std::move(Host::create(test::options()).value());
		auto first = host->load(test::plugin("echo"));
		REQUIRE(first.has_value());
		const pid_t spare = the_spare();
		REQUIRE(spare != 0);
		REQUIRE(::kill(spare, SIGKILL) == 0);
		// Dead, not yet reaped: the start finds out and spawns.
		REQUIRE(test::eventually([&] { return !test::idle_spare(spare); }));

		auto second = host->load(test::plugin("echo"));
		REQUIRE_MESSAGE(second.has_value(), second.error().to_string());
		CHECK(started_process(second.value()) != spare);
		CHECK(answers(second.value()));
		const pid_t next = the_spare();
		CHECK(next != 0);
		CHECK(next != spare);
	}
	CHECK(test::no_children());
}

TEST_CASE("with_spare_shim_off_no_process_waits_between_starts")
{
	HostOptions o = test::options();
	o.spare_shim = false;
	auto host = std::move(Host::create(std::move(o)).value());
	auto plugin = host->load(test::plugin("echo"));
	REQUIRE(plugin.has_value());
	CHECK(test::children().size() == 1);
	host->unload(plugin.value());
	CHECK(test::eventually([] { return test::no_children(); }));
}

TEST_CASE("a_spare_refuses_an_assign_it_cannot_honour_and_names_why")
{
	const int fds_before = test::open_fds();
	// A descriptor number the broker keeps for itself: refused before
	// anything is sent, and the spare is reaped.
	{
		auto spare = broker::SpareShim::spawn(BULKHEAD_TEST_SHIM);
		REQUIRE_MESSAGE(spare.has_value(), spare.error().to_string());
		broker::SpawnSpec spec;
		spec.argv = {BULKHEAD_TEST_SHIM, sp::kPluginFlag, "x"};
		spec.fds = {{STDIN_FILENO, sp::kControlFd}};
		auto started = broker::SpareShim::assign(std::move(spare).value(), spec);
		REQUIRE_FALSE(started.has_value());
		CHECK(started.error().message == "a spare shim already has descriptor 3");
	}
	CHECK(test::no_children());

	// A number past those a shim is given: the spare says so and exits.
	{
		auto spare = broker::SpareShim::spawn(BULKHEAD_TEST_SHIM);
		REQUIRE(spare.has_value());
		broker::SpawnSpec spec;
		spec.argv = {BULKHEAD_TEST_SHIM, sp::kPluginFlag, "x"};
		spec.fds = {{STDIN_FILENO, 150}};
		auto started = broker::SpareShim::assign(std::move(spare).value(), spec);
		REQUIRE_MESSAGE(started.has_value(), started.error().to_string());
		auto fatal = ipc::control::receive(started->control.get(), Deadline::after(10s));
		REQUIRE_MESSAGE(fatal.has_value(), fatal.error().to_string());
		const auto *m = ipc::control::root(fatal.value());
		REQUIRE(m->body_type() == control::Body::Fatal);
		CHECK(m->body_as_Fatal()->message()->str() == "an Assign asks for descriptor number 150");
		const broker::ExitStatus status = started->process.reap();
		CHECK_FALSE(status.signaled);
		CHECK(status.status == sp::kExitStartFailed);
	}
	CHECK(test::no_children());
	CHECK(test::open_fds() == fds_before);
}

namespace {

// How many of `pid`'s descriptors are the read end of the pipe `read_end`
// (here) reads: the same "pipe:[inode]" opened for reading.
int pipe_read_ends(pid_t pid, int read_end)
{
	struct stat st {};
	REQUIRE(::fstat(read_end, &st) == 0);
	const std::string pipe = "pipe:[" + std::to_string(st.st_ino) + "]";
	const std::string dir = "/proc/" + std::to_string(pid);
	int n = 0;
	for (int fd : test::open_fds_of(pid)) {
		char link[64] = {};
		const auto path = dir + "/fd/" + std::to_string(fd);
		if (::readlink(path.c_str(), link, sizeof link - 1) <= 0 || pipe != link)
			continue;
		// "flags:\t0100000" and the like, octal: the access mode is the low bits.
		const std::string flags = test::field(test::slurp(dir + "/fdinfo/" + std::to_string(fd)), "flags");
		n += (std::stoul(flags, nullptr, 8) & O_ACCMODE) == O_RDONLY;
	}
	return n;
}

} // namespace

TEST_CASE("a_spawned_process_gets_only_the_descriptors_it_names")
{
	// A host descriptor without close-on-exec at 9, a number below the
	// highest the spawn maps (10) that it does not name.
	REQUIRE(::fcntl(9, F_GETFD) < 0);
	int p[2];
	REQUIRE(::pipe(p) == 0);
	REQUIRE(::dup2(p[0], 9) == 9);
	{
		broker::SpawnSpec spec;
		spec.executable = "/bin/sleep";
		spec.argv = {"sleep", "30"};
		spec.fds = {{p[1], 10}};
		auto child = broker::ShimProcess::spawn(spec);
		REQUIRE_MESSAGE(child.has_value(), child.error().to_string());
		// posix_spawn returns once the child has exec'd; its dynamic
		// loader may still hold a file of its own at the lowest free
		// number, so the host's pipe is looked for by what it is.
		const std::set<int> fds = test::open_fds_of(child->pid());
		CHECK(fds.count(10) == 1);
		CHECK(fds.count(9) == 0);
		CHECK(pipe_read_ends(child->pid(), p[0]) == 0);
		CHECK(*fds.rbegin() == 10);
	} // killed and reaped
	::close(9);
	::close(p[0]);
	::close(p[1]);
	CHECK(test::no_children());
}

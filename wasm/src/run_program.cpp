// SPDX-License-Identifier: Apache-2.0
// posix_spawn of build tools with output captured in a memfd.
#include "run_program.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bulkhead/unique_fd.hpp>

namespace bulkhead::wasm {

namespace {

constexpr std::size_t kOutputTail = 4096;

std::string read_tail(int fd)
{
	const off_t size = ::lseek(fd, 0, SEEK_END);
	if (size <= 0)
		return {};
	const off_t from = size > static_cast<off_t>(kOutputTail) ? size - static_cast<off_t>(kOutputTail) : 0;
	std::string out(static_cast<std::size_t>(size - from), '\0');
	const ssize_t n = ::pread(fd, out.data(), out.size(), from);
	out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
	while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
		out.pop_back();
	return out;
}

} // namespace

Result<ProgramResult> run_program(const std::vector<std::string> &argv, const std::string &cwd)
{
	UniqueFd out(::memfd_create("bulkhead-build-output", MFD_CLOEXEC));
	if (!out.valid())
		return Unexpected(errno_error("memfd_create", errno));
	UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (!null.valid())
		return Unexpected(errno_error("open /dev/null", errno));

	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
	posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
	posix_spawn_file_actions_adddup2(&actions, out.get(), 2);
	posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	// gcc finds as and ld through PATH; nothing else from our environment.
	char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char lang[] = "LC_ALL=C";
	char *env[] = {path, lang, nullptr};

	pid_t pid = -1;
	const int err = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), env);
	posix_spawn_file_actions_destroy(&actions);
	if (err != 0)
		return Unexpected(errno_error("posix_spawn " + argv[0], err));
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return Unexpected(errno_error("waitpid " + argv[0], errno));
	ProgramResult r;
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r.output = read_tail(out.get());
	return r;
}

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// Spare shims: spawned ahead of need, given a start over the control socket.
#include <bulkhead/broker/spare_shim.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/ipc/control.hpp>
#include <bulkhead/ipc/shim_protocol.hpp>

namespace bulkhead::broker {

namespace sp = ipc::shim_protocol;
namespace ctl = bulkhead::control;

namespace {

// An Assign is one datagram on a socket the spare reads at once.
constexpr auto kAssignDeadline = std::chrono::seconds(1);

} // namespace

Result<SpareShim> SpareShim::spawn(const std::string &executable)
{
	ShimLinks links = TRY(ShimLinks::create());
	// Until it is given a start a spare has nothing to say: its stdio
	// leads nowhere, and the Assign brings the output pipe.
	UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
	if (!null.valid())
		return Unexpected(errno_error("open /dev/null", errno));

	SpawnSpec spec;
	spec.executable = executable;
	spec.argv = {executable, sp::kSpareFlag};
	spec.fds = {{null.get(), STDIN_FILENO},
		    {null.get(), STDOUT_FILENO},
		    {null.get(), STDERR_FILENO},
		    {links.shim_control.get(), sp::kControlFd},
		    {links.lifeline_read.get(), sp::kLifelineFd}};
	SpareShim spare;
	spare.executable_ = executable;
	spare.shim_.process = TRY(ShimProcess::spawn(spec));
	spare.shim_.control = std::move(links.control);
	spare.shim_.lifeline = std::move(links.lifeline);
	return spare;
}

bool SpareShim::alive() { return shim_.process.pid() > 0 && !shim_.process.try_reap(); }

Result<StartedShim> SpareShim::assign(SpareShim spare, const SpawnSpec &spec)
{
	flatbuffers::FlatBufferBuilder fbb;
	std::vector<flatbuffers::Offset<flatbuffers::String>> argv;
	for (const auto &a : spec.argv)
		argv.push_back(fbb.CreateString(a));
	std::vector<int> passed, numbers;
	for (auto [from, to] : spec.fds) {
		if (to == sp::kControlFd || to == sp::kLifelineFd)
			return make_error(ErrorCode::Internal,
					  fmt::format("a spare shim already has descriptor {}", to));
		passed.push_back(from);
		numbers.push_back(to);
	}
	auto argv_vector = fbb.CreateVector(argv);
	auto numbers_vector = fbb.CreateVector(numbers);
	fbb.Finish(ctl::CreateMessage(fbb, ctl::Body::Assign,
				      ctl::CreateAssign(fbb, argv_vector, numbers_vector).Union()));
	// A spare that died idle (killed, or out of memory) refuses the
	// datagram; the caller spawns afresh. Destroying `spare` reaps it.
	TRY(ipc::control::send(spare.shim_.control.get(), {fbb.GetBufferPointer(), fbb.GetSize()},
			       Deadline::after(kAssignDeadline), passed));
	return std::move(spare.shim_);
}

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// The shim's sandbox configuration on its command line.
#include <bulkhead/sandbox/shim_config.hpp>

#include <charconv>
#include <string_view>

#include <fmt/format.h>

namespace bulkhead::sandbox {

namespace {

template<typename T>
Result<T> number(std::string_view key, std::string_view text)
{
	T value{};
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (ec != std::errc() || end != text.data() + text.size())
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("sandbox option {}: '{}' is not a number", key, text));
	return value;
}

} // namespace

void ShimSandboxConfig::append_to(std::vector<std::string> &argv) const
{
	if (!enabled)
		return;
	auto add = [&](std::string_view key, const auto &value) {
		argv.emplace_back(kSandboxFlag);
		argv.push_back(fmt::format("{}={}", key, value));
	};
	add("uid", uid);
	add("gid", gid);
	add("as", address_space);
	add("tasks", max_tasks);
	add("nofile", max_open_files);
	add("fsize", max_file_size);
	add("net", network ? 1 : 0);
	for (const auto &p : read_paths)
		add("read", p);
	for (int fd : cgroup_fds)
		add("cgroup-fd", fd);
}

Result<bool> ShimSandboxConfig::parse(int argc, char **argv, int &i)
{
	if (std::string_view(argv[i]) != kSandboxFlag)
		return false;
	if (i + 1 >= argc)
		return make_error(ErrorCode::InvalidArgument, "--sandbox needs key=value");
	std::string_view kv = argv[++i];
	const auto eq = kv.find('=');
	if (eq == std::string_view::npos)
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("--sandbox '{}' is not key=value", kv));
	const std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
	enabled = true;
	if (key == "uid")
		uid = TRY(number<uid_t>(key, value));
	else if (key == "gid")
		gid = TRY(number<gid_t>(key, value));
	else if (key == "as")
		address_space = TRY(number<std::uint64_t>(key, value));
	else if (key == "tasks")
		max_tasks = TRY(number<std::uint32_t>(key, value));
	else if (key == "nofile")
		max_open_files = TRY(number<std::uint32_t>(key, value));
	else if (key == "fsize")
		max_file_size = TRY(number<std::uint64_t>(key, value));
	else if (key == "net")
		network = TRY(number<int>(key, value)) != 0;
	else if (key == "read")
		read_paths.emplace_back(value);
	else if (key == "cgroup-fd")
		cgroup_fds.push_back(TRY(number<int>(key, value)));
	else
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("unknown sandbox option '{}'", key));
	return true;
}

} // namespace bulkhead::sandbox

// SPDX-License-Identifier: Apache-2.0
// Finding the cgroup hierarchies in /proc/self/mountinfo.
#include "cgroup_layout.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace bulkhead::sandbox::detail {

namespace {

bool has_option(const std::string &options, const std::string &name)
{
	std::stringstream s(options);
	std::string item;
	while (std::getline(s, item, ','))
		if (item == name)
			return true;
	return false;
}

CgroupLayout detect()
{
	CgroupLayout l;
	std::ifstream in("/proc/self/mountinfo");
	std::string line;
	while (std::getline(in, line)) {
		// "<id> <parent> <dev> <root> <mount point> <opts> ... - <type> <src> <super opts>"
		std::istringstream s(line);
		std::vector<std::string> f;
		std::string w;
		while (s >> w)
			f.push_back(w);
		std::size_t dash = 0;
		while (dash < f.size() && f[dash] != "-")
			++dash;
		if (f.size() < 5 || dash + 1 >= f.size())
			continue;
		const std::string &mount_point = f[4], &type = f[dash + 1];
		const std::string super = dash + 3 < f.size() ? f[dash + 3] : "";
		if (type == "cgroup2" && l.unified.empty()) {
			l.unified = mount_point;
		} else if (type == "cgroup") {
			if (has_option(super, "memory") && l.memory.empty())
				l.memory = mount_point;
			if (has_option(super, "pids") && l.pids.empty())
				l.pids = mount_point;
			if (has_option(super, "cpu") && l.cpu.empty())
				l.cpu = mount_point;
		}
	}
	if (!l.unified.empty()) {
		const std::string c = " " + read_text(l.unified + "/cgroup.controllers") + " ";
		l.unified_controllers = c.find(" memory ") != std::string::npos &&
					c.find(" pids ") != std::string::npos &&
					c.find(" cpu ") != std::string::npos;
	}
	return l;
}

} // namespace

std::string read_text(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	std::string t = s.str();
	for (auto &c : t)
		if (c == '\n')
			c = ' ';
	while (!t.empty() && t.back() == ' ')
		t.pop_back();
	return t;
}

const CgroupLayout &cgroup_layout()
{
	static const CgroupLayout layout = detect();
	return layout;
}

} // namespace bulkhead::sandbox::detail

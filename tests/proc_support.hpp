// SPDX-License-Identifier: Apache-2.0
// Reading /proc in tests: a file whole, one field of a status file, and a
// process's state and parent.
// Shared by the broker and sandbox test helpers.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace bulkhead::test {

inline std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

// "Name:\tvalue..." of a /proc/<pid>/status text.
inline std::string field(const std::string &status, const std::string &name)
{
	std::istringstream in(status);
	std::string line;
	while (std::getline(in, line))
		if (line.starts_with(name + ":")) {
			auto v = line.substr(name.size() + 1);
			return v.substr(v.find_first_not_of(" \t"));
		}
	return "";
}

// The fields of /proc/<pid>/stat after the command name (whose
// parentheses may hold anything): [0] is the state, [1] the parent.
inline std::istringstream stat_fields(int pid)
{
	const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
	const auto close = stat.rfind(')');
	return std::istringstream(close == std::string::npos ? "" : stat.substr(close + 1));
}

// A process's state letter ('R', 'S', 'Z'...), or 0 once it is gone.
inline char state_of(int pid)
{
	char state = 0;
	stat_fields(pid) >> state;
	return state;
}

inline int parent_of(int pid)
{
	char state = 0;
	int parent = 0;
	stat_fields(pid) >> state >> parent;
	return parent;
}

} // namespace bulkhead::test

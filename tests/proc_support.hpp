// SPDX-License-Identifier: Apache-2.0
// Reading /proc in tests: a file whole, and one field of a status file.
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

} // namespace bulkhead::test

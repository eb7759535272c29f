// SPDX-License-Identifier: Apache-2.0
// A plugin that talks: to stdout, to stderr and through the SDK's log call,
// in long lines, in floods, with terminal escapes, and last words before an
// abort. For the plugin output tests.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <bulkhead/sdk/plugin.hpp>

namespace {

class Chatty final : public bulkhead::sdk::Plugin {
public:
	bulkhead::Result<bulkhead::Bytes> call(std::string_view op, bulkhead::ByteView in) override
	{
		const std::string text(bulkhead::as_string(in));
		if (op == "stdout") {
			std::printf("%s\n", text.c_str());
		} else if (op == "stdout_unended") {
			std::printf("%s", text.c_str()); // no newline: held until the line ends
			std::fflush(stdout);
		} else if (op == "stderr") {
			std::fprintf(stderr, "%s\n", text.c_str());
		} else if (op == "log_error") {
			log(3, text);
		} else if (op == "long") {
			// One line of the given length, of a repeating alphabet.
			std::string line(std::stoul(text), ' ');
			for (std::size_t i = 0; i < line.size(); ++i)
				line[i] = static_cast<char>('a' + i % 26);
			std::fprintf(stderr, "%s\n", line.c_str());
		} else if (op == "flood") {
			for (unsigned long i = 0, n = std::stoul(text); i < n; ++i)
				std::fprintf(stderr, "flood line %lu\n", i);
		} else if (op == "last_words") {
			std::fprintf(stderr, "%s\n", text.c_str());
			std::abort();
		}
		return bulkhead::Bytes{};
	}
};

} // namespace

BULKHEAD_PLUGIN(Chatty, "chatty", "1.0.0", "stdout", "stdout_unended", "stderr", "log_error", "long",
		"flood", "last_words")

// SPDX-License-Identifier: Apache-2.0
// A shim's stdout and stderr, read by the broker and turned into the host's
// log lines tagged with plugin and instance (OutputLines does the cutting
// and the rate limit). Everything here runs on the supervisor thread.
#include <bulkhead/broker/instance.hpp>

#include <array>
#include <cerrno>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <bulkhead/broker/output_lines.hpp>
#include <bulkhead/log.hpp>

namespace bulkhead::broker {

namespace asio = boost::asio;

namespace {

struct Prefix {
	std::string_view text;
	log::Level level;
};

// What the shim's SDK log call writes before the message.
constexpr Prefix kPrefixes[] = {{"[debug] ", log::Level::Debug},
				{"[info] ", log::Level::Info},
				{"[warning] ", log::Level::Warning},
				{"[error] ", log::Level::Error}};

// Control characters would let a plugin rewrite the operator's terminal.
std::string printable(std::string_view s)
{
	std::string out(s);
	for (char &c : out)
		if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
	return out;
}

} // namespace

struct Instance::OutputPump {
	OutputPump(asio::io_context &io, UniqueFd fd, const OutputLimits &limits, std::string tag_)
		: pipe(io, fd.release()), tag(std::move(tag_)),
		  lines(limits, [this](std::string_view line, bool continued) { emit(line, continued); }) {}

	void emit(std::string_view line, bool continued)
	{
		log::Level level = log::Level::Info;
		for (const auto &p : kPrefixes)
			if (line.starts_with(p.text)) {
				level = p.level;
				line.remove_prefix(p.text.size());
				break;
			}
		if (log::enabled(level))
			log::write(level, fmt::format("plugin {}: {}{}", tag, printable(line),
						      continued ? " [continues]" : ""));
	}

	// Reads what is there without waiting; false at the end of the stream.
	bool drain()
	{
		for (;;) {
			ssize_t n = ::read(pipe.native_handle(), buffer.data(), buffer.size());
			if (n > 0) {
				lines.feed({buffer.data(), static_cast<std::size_t>(n)});
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			return n < 0 && errno == EAGAIN;
		}
	}

	void close()
	{
		if (!pipe.is_open())
			return;
		lines.finish();
		boost::system::error_code ignored;
		pipe.close(ignored);
	}

	asio::posix::stream_descriptor pipe;
	std::string tag; // "echo#3"
	OutputLines lines;
	std::array<char, 16384> buffer;
};

void Instance::watch_output(UniqueFd read_end)
{
	output_ = std::make_shared<OutputPump>(supervisor_->io(), std::move(read_end), options_.output,
					       fmt::format("{}#{}", name_, id_));
	output_->pipe.non_blocking(true);
	struct Loop {
		std::shared_ptr<OutputPump> pump;
		void operator()(boost::system::error_code ec) const
		{
			if (ec || !pump->pipe.is_open())
				return;
			if (!pump->drain()) {
				pump->close();
				return;
			}
			pump->pipe.async_wait(asio::posix::stream_descriptor::wait_read, *this);
		}
	};
	asio::post(supervisor_->io(), [pump = output_] {
		pump->pipe.async_wait(asio::posix::stream_descriptor::wait_read, Loop{pump});
	});
}

void Instance::name_output()
{
	if (output_)
		asio::post(supervisor_->io(), [pump = output_, tag = fmt::format("{}#{}", name_, id_)] {
			pump->tag = tag;
		});
}

void Instance::end_output()
{
	// The process and its group are gone: what they wrote is in the pipe.
	if (output_) {
		output_->drain();
		output_->close();
	}
}

} // namespace bulkhead::broker

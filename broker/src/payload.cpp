// SPDX-License-Identifier: Apache-2.0
// Sealing plugin payloads into memfds.
#include <bulkhead/broker/payload.hpp>
#include <bulkhead/broker/plugin_root.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace bulkhead::broker {

namespace {

// Every seal: the contents, the size and the seal set are all final.
constexpr int kAllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

Result<void> write_all(int fd, ByteView bytes)
{
	std::size_t done = 0;
	while (done < bytes.size()) {
		ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return Unexpected(errno_error("write to the payload memfd", n < 0 ? errno : EIO));
		done += static_cast<std::size_t>(n);
	}
	return {};
}

} // namespace

const char *to_string(PayloadKind kind)
{
	switch (kind) {
	case PayloadKind::Native: return "native";
	case PayloadKind::Wasm: return "wasm";
	case PayloadKind::Unknown: break;
	}
	return "unknown";
}

PayloadKind payload_kind(ByteView head)
{
	static constexpr std::uint8_t kElf[] = {0x7f, 'E', 'L', 'F'};
	static constexpr std::uint8_t kWasm[] = {0x00, 'a', 's', 'm'};
	if (head.size() >= 4 && std::memcmp(head.data(), kElf, 4) == 0)
		return PayloadKind::Native;
	if (head.size() >= 4 && std::memcmp(head.data(), kWasm, 4) == 0)
		return PayloadKind::Wasm;
	return PayloadKind::Unknown;
}

Result<SealedPayload> SealedPayload::seal(ByteView bytes, std::string label)
{
	SealedPayload p;
	p.fd_ = UniqueFd(::memfd_create("bulkhead-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!p.fd_.valid())
		return Unexpected(errno_error("memfd_create", errno));
	TRY(write_all(p.fd_.get(), bytes));
	if (::fcntl(p.fd_.get(), F_ADD_SEALS, kAllSeals) != 0)
		return Unexpected(errno_error("sealing the payload memfd", errno));
	p.size_ = bytes.size();
	p.kind_ = payload_kind(bytes);
	p.label_ = std::move(label);
	return p;
}

Result<SealedPayload> SealedPayload::read_file(const std::string &path)
{
	if (path.empty() || path.find('\0') != std::string::npos)
		return make_error(ErrorCode::InvalidArgument, "the plugin path is empty or holds a NUL byte");
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
	if (!fd.valid())
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("plugin {}: {}", path, strerrordesc_np(errno)));
	struct stat st;
	if (::fstat(fd.get(), &st) != 0)
		return Unexpected(errno_error("fstat " + path, errno));
	if (!S_ISREG(st.st_mode))
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("plugin {} is not a regular file", path));
	Bytes bytes = TRY(read_whole(fd.get(), path));
	return seal(bytes, path);
}

Result<UniqueFd> SealedPayload::read_only() const
{
	auto proc = fmt::format("/proc/self/fd/{}", fd_.get());
	UniqueFd ro(::open(proc.c_str(), O_RDONLY | O_CLOEXEC));
	if (!ro.valid())
		return Unexpected(errno_error("re-open the payload memfd read-only", errno));
	return ro;
}

} // namespace bulkhead::broker

// SPDX-License-Identifier: Apache-2.0
// Host::install and Host::discover: bundles in the plugin root.
#include <bulkhead/host.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/broker/bundle_verifier.hpp>
#include <bulkhead/log.hpp>

#include "host_audit.hpp"

namespace bulkhead {

namespace {

Result<void> write_all(int fd, ByteView bytes, const std::string &label)
{
	std::size_t done = 0;
	while (done < bytes.size()) {
		ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return Unexpected(errno_error("write " + label, errno));
		done += static_cast<std::size_t>(n);
	}
	return {};
}

} // namespace

Result<std::string> Host::install(const std::string &source)
{
	if (!root_)
		return make_error(ErrorCode::FailedPrecondition,
				  "install needs a plugin root (HostOptions::plugin_root)");
	if (source.empty() || source.find('\0') != std::string::npos)
		return make_error(ErrorCode::InvalidArgument, "the bundle path is empty or holds a NUL byte");
	UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
	if (!in.valid())
		return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
				  fmt::format("bundle {}: {}", source, strerrordesc_np(errno)));
	const Bytes file = TRY(broker::read_whole(in.get(), source));
	if (!broker::looks_like_bundle(file))
		return make_error(ErrorCode::InvalidArgument, fmt::format("{} is not a bundle", source));
	broker::VerifyPolicy policy{&options_.trust, options_.development_mode, broker::kHostPlatform};
	auto verified = broker::verify_bundle(file, policy, broker::VerifyDepth::AllPayloads);
	if (!verified.has_value()) {
		Error e = std::move(verified).error();
		e.message = fmt::format("{}: {}", source, e.message);
		detail::audit_or_log(audit_, {broker::AuditEvent::Install, source.substr(source.rfind('/') + 1), "", "",
					      "", 0, "refused", e.message});
		return Unexpected(std::move(e));
	}
	const broker::AuditRecord base{broker::AuditEvent::Verify, verified->manifest.name,
				       verified->manifest.version.to_string(), verified->key_id,
				       verified->payload_hash, 0, verified->is_signed() ? "ok" : "unsigned",
				       "every payload checked, from " + source};
	TRY(detail::audit(audit_, base));
	const std::string target = fmt::format("{}-{}{}", verified->manifest.name,
					       verified->manifest.version.to_string(), broker::kBundleSuffix);

	// An unnamed file, written and synced, then linked in: a reader sees
	// the whole bundle or none of it, and a crash leaves nothing behind.
	auto written = [&]() -> Result<void> {
		UniqueFd out(::openat(root_->fd(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
		if (!out.valid())
			return Unexpected(errno_error("create a file in " + root_->path(), errno));
		TRY(write_all(out.get(), file, target));
		if (::fsync(out.get()) != 0)
			return Unexpected(errno_error("fsync " + target, errno));
		const std::string self = fmt::format("/proc/self/fd/{}", out.get());
		if (::linkat(AT_FDCWD, self.c_str(), root_->fd(), target.c_str(), AT_SYMLINK_FOLLOW) != 0) {
			if (errno == EEXIST)
				return make_error(ErrorCode::InvalidArgument,
						  fmt::format("{} is already installed in {}", target, root_->path()));
			return Unexpected(errno_error(fmt::format("link {} into {}", target, root_->path()), errno));
		}
		UniqueFd dir(::openat(root_->fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (dir.valid())
			::fsync(dir.get());
		return {};
	}();
	broker::AuditRecord installed = base;
	installed.event = broker::AuditEvent::Install;
	installed.outcome = written.has_value() ? "ok" : "failed";
	installed.detail = written.has_value() ? fmt::format("{} into {}", target, root_->path())
					       : written.error().message;
	if (!written.has_value()) {
		detail::audit_or_log(audit_, installed);
		return Unexpected(std::move(written).error());
	}
	TRY(detail::audit(audit_, installed));
	log::info("installed {} {} from {} (key {})", verified->manifest.name,
		  verified->manifest.version.to_string(), source,
		  verified->is_signed() ? verified->key_id : "none: UNSIGNED");
	return target;
}

Result<std::vector<DiscoveredBundle>> Host::discover() const
{
	if (!root_)
		return make_error(ErrorCode::FailedPrecondition,
				  "discovery needs a plugin root (HostOptions::plugin_root)");
	std::vector<DiscoveredBundle> out;
	broker::VerifyPolicy policy{&options_.trust, options_.development_mode, broker::kHostPlatform};
	for (auto &name : TRY(root_->list(broker::kBundleSuffix))) {
		DiscoveredBundle d;
		d.file = name;
		auto v = [&]() -> Result<broker::VerifiedBundle> {
			UniqueFd fd = TRY(root_->open_file(name));
			struct stat st;
			if (::fstat(fd.get(), &st) != 0)
				return Unexpected(errno_error("fstat " + name, errno));
			Bytes head = TRY(broker::read_bundle_head(fd.get(), name));
			return broker::verify_bundle(head, policy, broker::VerifyDepth::Manifest,
						     static_cast<std::uint64_t>(st.st_size));
		}();
		if (v.has_value()) {
			d.key_id = v->key_id;
			d.manifest = std::move(v->manifest);
		} else {
			d.refused = std::move(v).error();
		}
		out.push_back(std::move(d));
	}
	return out;
}

} // namespace bulkhead

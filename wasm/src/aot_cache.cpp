// SPDX-License-Identifier: Apache-2.0
// Tier A's build pipeline and its cache directory.
#include <bulkhead/wasm/aot_cache.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bulkhead/read_exact.hpp>
#include <bulkhead/unique_fd.hpp>

#include "aot_glue.hpp"
#include "run_program.hpp"

namespace bulkhead::wasm {

namespace {

namespace fs = std::filesystem;

// -O1 builds in half the time of -O2 and ran within noise of it
// (research/wasm.md §6). Guard pages need no bounds checks in the code,
// except in sanitizer builds, whose runtime is built with them (docs/wasm.md).
#ifdef BULKHEAD_WASM_BOUNDS_CHECKS
constexpr std::string_view kCflags = "-O2 -fPIC -shared -fvisibility=hidden -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0";
#else
constexpr std::string_view kCflags = "-O2 -fPIC -shared -fvisibility=hidden";
#endif

std::string find_program(const std::string &given, std::string_view name)
{
	if (!given.empty())
		return ::access(given.c_str(), X_OK) == 0 ? given : std::string();
	for (std::string_view dir : {"/usr/local/bin/", "/usr/bin/"}) {
		std::string p = std::string(dir) + std::string(name);
		if (::access(p.c_str(), X_OK) == 0)
			return p;
	}
	return {};
}

std::string version_of(const std::string &program)
{
	// A tool that cannot say its version still gets a stable fingerprint;
	// a real failure shows up when it is asked to build.
	auto r = run_program({program, "--version"}, "/");
	return r.has_value() ? fmt::format("{}:{}:{}", program, r.value().status, r.value().output)
			     : program;
}

Result<void> write_file(const std::string &path, ByteView bytes)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.valid())
		return Unexpected(errno_error("create " + path, errno));
	std::size_t done = 0;
	while (done < bytes.size()) {
		ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return Unexpected(errno_error("write " + path, n < 0 ? errno : EIO));
		done += static_cast<std::size_t>(n);
	}
	return {};
}

// Removes the private build directory on every path.
struct BuildDir {
	std::string path;
	~BuildDir()
	{
		std::error_code ec;
		if (!path.empty())
			fs::remove_all(path, ec);
	}
};

Result<void> step(const std::vector<std::string> &argv, const std::string &cwd,
		  std::string_view what)
{
	ProgramResult r = TRY(run_program(argv, cwd));
	if (r.status == 0)
		return {};
	std::string command;
	for (const auto &a : argv)
		command += (command.empty() ? "" : " ") + a;
	return make_error(ErrorCode::FailedPrecondition,
			  fmt::format("{} failed (status {}): `{}`: {}", what, r.status, command,
				      r.output.empty() ? "(no output)" : r.output));
}

} // namespace

std::string_view aot_cflags() { return kCflags; }

Result<Toolchain> find_toolchain(const std::string &wasm2c, const std::string &cc)
{
	static std::mutex mutex;
	static std::map<std::pair<std::string, std::string>, Toolchain> found;
	Toolchain tc;
	tc.wasm2c = find_program(wasm2c, "wasm2c");
	tc.cc = find_program(cc, "gcc");
	if (tc.wasm2c.empty())
		return make_error(ErrorCode::NotFound,
				  wasm2c.empty() ? "wasm2c is not installed (Debian package wabt)"
						 : fmt::format("wasm2c '{}' is not executable", wasm2c));
	if (tc.cc.empty())
		return make_error(ErrorCode::NotFound,
				  cc.empty() ? "no C compiler (gcc) is installed"
					     : fmt::format("C compiler '{}' is not executable", cc));
	std::lock_guard lock(mutex);
	auto it = found.find({tc.wasm2c, tc.cc});
	if (it != found.end())
		return it->second;
	tc.fingerprint = version_of(tc.wasm2c) + "\n" + version_of(tc.cc);
	found[{tc.wasm2c, tc.cc}] = tc;
	return tc;
}

std::string default_cache_dir()
{
	if (::geteuid() == 0)
		return "/var/cache/bulkhead/wasm";
	if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
		return std::string(xdg) + "/bulkhead/wasm";
	if (const char *home = std::getenv("HOME"); home && *home == '/')
		return std::string(home) + "/.cache/bulkhead/wasm";
	if (const passwd *pw = ::getpwuid(::geteuid()); pw && pw->pw_dir)
		return std::string(pw->pw_dir) + "/.cache/bulkhead/wasm";
	return "/tmp/bulkhead-wasm-" + std::to_string(::geteuid());
}

Result<AotCache> AotCache::open(std::string dir)
{
	if (dir.empty() || dir[0] != '/')
		return make_error(ErrorCode::InvalidArgument,
				  fmt::format("the wasm cache directory '{}' is not an absolute path", dir));
	std::error_code ec;
	fs::create_directories(dir, ec);
	if (ec)
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("cannot create the wasm cache {}: {}", dir, ec.message()));
	::chmod(dir.c_str(), 0700); // ours to set when we created it; checked next
	struct stat st;
	if (::lstat(dir.c_str(), &st) != 0)
		return Unexpected(errno_error("stat " + dir, errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022))
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("the wasm cache {} must be a directory owned by uid {} "
					      "that no one else can write",
					      dir, ::geteuid()));
	return AotCache(std::move(dir));
}

std::string AotCache::key(ByteView module, const Toolchain &tc, bool metered) const
{
	crypto_generichash_state state;
	crypto_generichash_init(&state, nullptr, 0, 32);
	auto add = [&](std::string_view s) {
		crypto_generichash_update(&state, reinterpret_cast<const unsigned char *>(s.data()), s.size());
		crypto_generichash_update(&state, reinterpret_cast<const unsigned char *>("\0"), 1);
	};
	crypto_generichash_update(&state, module.data(), module.size());
	add(tc.fingerprint);
	add(kCflags);
	add(metered ? "metered" : "plain");
	add(fmt::format("glue {}", kAotGlueVersion));
	unsigned char digest[32];
	crypto_generichash_final(&state, digest, sizeof digest);
	std::string hex;
	for (unsigned char b : digest)
		hex += fmt::format("{:02x}", b);
	return hex;
}

Result<std::optional<Bytes>> AotCache::find(const std::string &key) const
{
	const std::string path = fmt::format("{}/{}.so", dir_, key);
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
	if (!fd.valid()) {
		if (errno == ENOENT)
			return std::optional<Bytes>();
		return Unexpected(errno_error("open " + path, errno));
	}
	struct stat st;
	if (::fstat(fd.get(), &st) != 0)
		return Unexpected(errno_error("fstat " + path, errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022))
		return make_error(ErrorCode::PermissionDenied,
				  fmt::format("cached object {} is not a private regular file", path));
	return std::optional<Bytes>(TRY(read_exact(fd.get(), static_cast<std::size_t>(st.st_size), 0, path)));
}

Result<Bytes> AotCache::get(ByteView module, const AotShape &shape, bool metered,
			    const Toolchain &tc, const Progress &progress) const
{
	auto say = [&](std::string_view s) {
		if (progress)
			progress(s);
	};
	const std::string k = key(module, tc, metered);
	if (auto hit = TRY(find(k)); hit) {
		say("using the cached native code");
		return std::move(*hit);
	}

	std::string tmpl = dir_ + "/build.XXXXXX";
	if (!::mkdtemp(tmpl.data()))
		return Unexpected(errno_error("mkdtemp in " + dir_, errno));
	BuildDir build{tmpl};
	TRY(write_file(build.path + "/plugin.wasm", module));
	say("translating with wasm2c");
	TRY(step({tc.wasm2c, "plugin.wasm", "-n", "plugin", "-o", "plugin.c"}, build.path, "wasm2c"));
	const std::string glue = aot_glue(shape.import_modules, metered, shape.has_initialize,
					  shape.has_reset);
	TRY(write_file(build.path + "/glue.c", as_bytes(glue)));
	say(fmt::format("compiling with {} (takes seconds, once per module)", tc.cc));
	std::vector<std::string> cc = {tc.cc};
	for (std::string_view rest = kCflags; !rest.empty();) {
		const auto sp = rest.find(' ');
		cc.emplace_back(rest.substr(0, sp));
		rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
	}
	for (const char *a : {"-I.", "plugin.c", "glue.c", "-o", "plugin.so", "-lm"})
		cc.emplace_back(a);
	TRY(step(cc, build.path, "compiling the module"));
	const std::string final_path = fmt::format("{}/{}.so", dir_, k);
	if (::chmod((build.path + "/plugin.so").c_str(), 0600) != 0 ||
	    ::rename((build.path + "/plugin.so").c_str(), final_path.c_str()) != 0)
		return Unexpected(errno_error("store " + final_path, errno));
	say("cached");
	auto stored = TRY(find(k));
	if (!stored)
		return make_error(ErrorCode::Internal, "the cached object vanished: " + final_path);
	return std::move(*stored);
}

} // namespace bulkhead::wasm

// SPDX-License-Identifier: Apache-2.0
// AotCache: tier A's build and cache. Translates a module with wasm2c,
// compiles it with the C compiler into a shared object (argv arrays, never a
// shell) and keeps it in a directory only this user can write, keyed by the
// module's hash, the toolchain's versions and the flags. The broker runs it
// before spawning the shim; the shim never compiles.
//
// Threads: any; two builds of one module race harmlessly (atomic rename).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <bulkhead/bytes.hpp>
#include <bulkhead/result.hpp>

namespace bulkhead::wasm {

struct Toolchain {
	std::string wasm2c; // absolute paths
	std::string cc;
	std::string fingerprint; // versions of both, in the cache key
};

// Where the toolchain is: the given paths, else wasm2c and gcc from
// /usr/bin and /usr/local/bin. NotFound when either is missing (the host
// then falls back to the interpreter, or fails when AOT was required).
Result<Toolchain> find_toolchain(const std::string &wasm2c, const std::string &cc);

// $XDG_CACHE_HOME/bulkhead/wasm, else ~/.cache/bulkhead/wasm; for root
// /var/cache/bulkhead/wasm.
std::string default_cache_dir();

using Progress = std::function<void(std::string_view)>;

// What the glue must know of a module.
struct AotShape {
	std::size_t import_modules = 0; // distinct import module names
	bool has_initialize = false;    // exports _initialize
	bool has_reset = false;         // exports bulkhead_reset
};

class AotCache {
public:
	// Creates the directory (0700) when missing. PermissionDenied when it
	// is not owned by this user or others can write it.
	static Result<AotCache> open(std::string dir);

	// The cache key: hex BLAKE2b of the module, the toolchain fingerprint,
	// the flags and whether the module is metered.
	std::string key(ByteView module, const Toolchain &tc, bool metered) const;
	// The cached shared object's bytes, if present and trustworthy.
	Result<std::optional<Bytes>> find(const std::string &key) const;
	// find(), else builds and stores it. `module` is what runs (metered
	// already when `metered`). FailedPrecondition naming the command and
	// its output when a step fails.
	Result<Bytes> get(ByteView module, const AotShape &shape, bool metered, const Toolchain &tc,
			  const Progress &progress) const;

	const std::string &dir() const { return dir_; }

private:
	explicit AotCache(std::string dir) : dir_(std::move(dir)) {}
	std::string dir_;
};

// Flags every AOT object is compiled with (part of the key).
std::string_view aot_cflags();

} // namespace bulkhead::wasm

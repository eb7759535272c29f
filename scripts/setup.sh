#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages Bulkhead needs to build and test. Idempotent,
# never prompts: packages already present are not touched.
set -euo pipefail

packages=(
	build-essential g++ clang meson ninja-build pkg-config
	libboost-dev
	libsodium-dev libseccomp-dev
	flatbuffers-compiler libflatbuffers-dev
	libfmt-dev doctest-dev
	# WebAssembly plugins: wasm2c, libwabt.a and the wasm2c runtime; the
	# guest toolchain (clang's wasm32 target, wasi-libc, its builtins, lld);
	# cmake is how meson finds wabt.
	wabt cmake wasi-libc libclang-rt-14-dev-wasm32 lld
	# The example plugins: zstd compression, SQLite storage (and its shell).
	libzstd-dev libsqlite3-dev sqlite3
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs the whole test suite three ways:
# a plain optimised build, ASan+UBSan, and TSan over the lock-free ring code.
# Ends with a smoke run of the benchmarks (figures printed, never
# asserted: the machine is shared and noisy).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
bash scripts/setup.sh

status=0
run_suite() { # <build dir> <meson test args...>
	local dir=$1
	shift
	ninja -C "$dir" -j"$jobs"
	meson test -C "$dir" --print-errorlogs --num-processes 1 "$@" || status=1
}

configure() { # <build dir> <meson setup args...>
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

echo "== plain build (debugoptimized)"
configure build
run_suite build

echo "== ASan + UBSan"
configure build-asan -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite build-asan

echo "== TSan: ring and channel code"
configure build-tsan -Db_sanitize=thread -Db_lundef=false
# Only the ipc suite runs here: TSan cannot follow ordering across
# processes, so the process-level suites are checked by the other builds.
ipc_targets=$(meson introspect build-tsan --tests | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == "ipc" for s in t["suite"]):
        print(os.path.relpath(t["cmd"][0], "build-tsan"))')
# shellcheck disable=SC2086 # one target per word
ninja -C build-tsan -j"$jobs" $ipc_targets
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --no-rebuild --print-errorlogs \
	--num-processes 1 --suite ipc || status=1

echo "== benchmark smoke run"
./build/tools/bulkhead bench call --quick || status=1
./build/tools/bulkhead bench verify --quick || status=1
./build/tools/bulkhead bench discover --quick || status=1
./build/tools/bulkhead bench reload --quick || status=1

# One closing line over the three builds' test logs.
python3 - build build-asan build-tsan <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for d in sys.argv[1:]:
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif r == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status

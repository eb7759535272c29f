#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs the whole test suite three ways:
# a plain optimised build, ASan+UBSan, and TSan over the lock-free ring code;
# then the libFuzzer targets for a bounded time (clang).
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
# At -O0: it compiles about four times faster than -O2 (the ASan build was
# most of this script's time), and the optimiser cannot fold away the
# undefined behaviour UBSan is there to see.
configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=0
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite build-asan

echo "== TSan: ring, channel and registry code"
configure build-tsan -Db_sanitize=thread -Db_lundef=false
# Only the ipc suite and the tsan suite (in-process concurrency: the
# extension registry) run here: TSan cannot follow ordering across
# processes, so the process-level suites are checked by the other builds.
ipc_targets=$(meson introspect build-tsan --tests | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] in ("ipc", "tsan") for s in t["suite"]):
        print(os.path.relpath(t["cmd"][0], "build-tsan"))')
# shellcheck disable=SC2086 # one target per word
ninja -C build-tsan -j"$jobs" $ipc_targets
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --no-rebuild --print-errorlogs \
	--num-processes 1 --suite ipc --suite tsan || status=1

echo "== libFuzzer: manifest and bundle parsing, 30 s each"
# decode_manifest, manifest_from_json and verify_bundle under clang's
# libFuzzer with ASan+UBSan (docs/bundle.md, "Fuzzing"). A build of its own,
# kept small: the broker's bundle and manifest sources and libbulkhead-base.
fuzz_results=build-fuzz/fuzz-results.txt
if command -v clang++ >/dev/null; then
	CXX=clang++ configure build-fuzz -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz -j"$jobs" fuzz/bundle_fuzz fuzz/manifest_fuzz fuzz/corpus
	: >"$fuzz_results"
	for f in bundle manifest; do
		if "build-fuzz/fuzz/${f}_fuzz" -max_total_time=30 "build-fuzz/fuzz/corpus/$f" \
			>"build-fuzz/${f}_fuzz.log" 2>&1; then
			echo "${f}_fuzz: no finding in 30 s ($(grep -o 'Done [0-9]* runs' "build-fuzz/${f}_fuzz.log"))"
			echo "OK ${f}_fuzz" >>"$fuzz_results"
		else
			tail -n 40 "build-fuzz/${f}_fuzz.log"
			echo "FAIL ${f}_fuzz" >>"$fuzz_results"
			status=1
		fi
	done
else
	echo "SKIP: the fuzz targets need clang++, which is not installed"
	mkdir -p build-fuzz
	echo "SKIP fuzz" >"$fuzz_results"
fi

echo "== benchmark smoke run"
./build/tools/bulkhead bench call --quick || status=1
./build/tools/bulkhead bench verify --quick || status=1
./build/tools/bulkhead bench discover --quick || status=1
./build/tools/bulkhead bench reload --quick || status=1
./build/tools/bulkhead bench start --quick || status=1
./build/tools/bulkhead bench registry --quick || status=1

# One closing line over the three builds' test logs and the fuzz runs.
python3 - build build-asan build-tsan <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
try:
    for line in open("build-fuzz/fuzz-results.txt").read().splitlines():
        counts[{"OK": "passed", "SKIP": "skipped"}.get(line.split()[0], "failed")] += 1
except OSError:
    pass
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

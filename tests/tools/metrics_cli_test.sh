#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `bulkhead stats --json` and `bulkhead top` end to end with real shims: the
# host-measured metrics are there, with real values.
# Usage: metrics_cli_test.sh BULKHEAD ECHO_SO
set -uo pipefail
bulkhead=$(realpath "$1") echo_so=$(realpath "$2")
work=$(mktemp -d /tmp/bulkhead-metrics-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$echo_so" echo.so
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# stats --json: every error code by name, a histogram that adds up, and the
# shim's RSS and CPU time after real calls.
if ! "$bulkhead" stats echo.so fail --calls 300 --dev --json >fail.json 2>stats.err; then
	fail "stats fail: $(cat stats.err)"
fi
if ! "$bulkhead" stats echo.so echo --calls 20000 --text x --dev --json >echo.json 2>>stats.err; then
	fail "stats echo: $(cat stats.err)"
fi
python3 - fail.json echo.json <<'PY' || failures=$((failures + 1))
import json, sys
codes = ["invalid-argument", "not-found", "deadline-exceeded", "resource-exhausted", "plugin-failed",
         "plugin-crashed", "protocol-violation", "unavailable", "permission-denied",
         "failed-precondition", "internal"]
failed = json.load(open(sys.argv[1]))
echo = json.load(open(sys.argv[2]))
problems = []
for name, m in (("fail", failed), ("echo", echo)):
    missing = [c for c in codes if c not in m.get("errors_by_code", {})]
    if missing:
        problems.append(f"{name}: errors_by_code lacks {missing}: {m.get('errors_by_code')}")
    if sum(m["latency_histogram_log2_ns"]) != m["calls"]:
        problems.append(f"{name}: the histogram does not add up to {m['calls']} calls")
    for key in ("restarts", "ring_occupancy", "reloads", "pid", "latency_p50_ns", "latency_p99_ns"):
        if key not in m:
            problems.append(f"{name}: no {key}")
if failed["calls"] != 300 or failed["errors"] != 300 or failed["errors_by_code"].get("invalid-argument") != 300:
    problems.append(f"fail: wanted 300 invalid-argument errors: {failed}")
if echo["calls"] != 20000 or echo["errors"] != 0 or any(echo["errors_by_code"].values()):
    problems.append(f"echo: wanted 20000 calls without errors: {echo}")
if echo["rss_bytes"] <= 0 or echo["cpu_user_ns"] + echo["cpu_system_ns"] <= 0 or echo["pid"] <= 0:
    problems.append(f"echo: wanted the shim's rss, cpu time and pid: {echo}")
if not 0 < echo["latency_p50_ns"] <= echo["latency_p99_ns"]:
    problems.append(f"echo: latency quantiles out of order: {echo}")
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
PY

# top: two refreshes, a row each for the plugin, calls moving under --drive.
if ! "$bulkhead" top echo.so --count 2 --interval 100 --drive echo --text x --dev >top.out 2>top.err; then
	fail "top: status $?: $(cat top.err)"
fi
[[ $(grep -c '^bulkhead top: 1 plugin, refresh' top.out) -eq 2 ]] || fail "top: wanted 2 refreshes: $(cat top.out)"
[[ $(grep -c '^NAME  *VERSION  *STATE  *INST  *CALLS  *ERRORS  *P50  *P99  *CALLS/S  *RSS  *CPU%  *RING  *RESTARTS$' top.out) -eq 2 ]] ||
	fail "top: wanted 2 headers: $(cat top.out)"
rows=$(grep -E '^echo +1\.0\.0 +ready +[0-9]+ +[0-9]+ +0 ' top.out)
[[ $(wc -l <<<"$rows") -eq 2 ]] || fail "top: wanted 2 echo rows: $(cat top.out)"
last_calls=$(tail -1 <<<"$rows" | awk '{print $5}')
last_rss=$(tail -1 <<<"$rows" | awk '{print $10}')
[[ ${last_calls:-0} -gt 0 ]] || fail "top: --drive made no calls: $(cat top.out)"
[[ ${last_rss%M} != 0.0 ]] || fail "top: no RSS: $(cat top.out)"

# Without --drive nothing calls the plugin.
"$bulkhead" top echo.so --count 1 --interval 50 --dev >idle.out 2>&1 || fail "top idle: $(cat idle.out)"
grep -Eq '^echo +1\.0\.0 +ready +[0-9]+ +0 +0 ' idle.out || fail "top idle: wanted 0 calls: $(cat idle.out)"

# Without --count it runs until SIGINT, then ends with status 0.
"$bulkhead" top echo.so --interval 50 --dev >int.out 2>&1 &
top_pid=$!
for _ in $(seq 200); do grep -q 'refresh 1 ' int.out && break; sleep 0.05; done
kill -INT "$top_pid"
wait "$top_pid"; status=$?
[[ $status -eq 0 ]] && grep -q '^echo ' int.out || fail "top until SIGINT: status $status: $(cat int.out)"

# Usage and refusal statuses, as for stats.
"$bulkhead" top --help | grep -q "Usage: bulkhead top" || fail "top --help"
"$bulkhead" top echo.so --count 0 --dev >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "top --count 0 is not a usage error"
"$bulkhead" top >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "top without a bundle is not a usage error"
"$bulkhead" top echo.so --count 1 >/dev/null 2>&1; [[ $? -eq 4 ]] || fail "top of a bare .so without --dev is not refused"
"$bulkhead" top missing.so --count 1 --dev >/dev/null 2>&1; [[ $? -eq 3 ]] || fail "top of a missing file is not status 3"

echo "$failures failure(s)"
[[ $failures -eq 0 ]]

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The extension in the real sqlite3 command-line shell: `.load`, a script of
# calls, a plugin that segfaults and one killed mid-session, the shell
# carrying on after each, and no shim left once it exits.
# Usage: shell_test.sh SQLITE3 EXTENSION ECHO_PLUGIN FAULTY_PLUGIN
set -u

sqlite3=$1 ext=$2 echo_so=$3 faulty_so=$4

sanitize=${BULKHEAD_TEST_SANITIZE:-none}
if [ "$sanitize" != none ]; then
	echo "SKIP: the uninstrumented sqlite3 shell cannot load an extension built with -fsanitize=$sanitize"
	exit 77
fi
if [ -z "$sqlite3" ] || [ ! -x "$sqlite3" ]; then
	echo "SKIP: the sqlite3 shell is not installed (Debian package sqlite3)"
	exit 77
fi

fail() {
	echo "FAIL: $*"
	echo "--- stdout"; cat "$work/out"
	echo "--- stderr"; cat "$work/err"
	exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `.load` without the suffix, as docs/sqlite.md shows: SQLite adds ".so".
ext=${ext%.so}
export BULKHEAD_DEVELOPMENT=1
# Long enough that the statement after the kill runs before the restart.
export BULKHEAD_RESTART_BACKOFF_MS=1000

cat > "$work/script.sql" <<SQL
.load $ext
SELECT 'loaded ' || bulkhead_load('$echo_so');
SELECT 'echo ' || CAST(bulkhead_call('echo', 'echo', 'hello from sqlite3') AS TEXT);
SELECT 'first pid ' || (value->>'pid') FROM json_each(bulkhead_plugins());
SELECT 'loaded ' || bulkhead_load('$faulty_so');
SELECT 'segfault ' || hex(bulkhead_call('faulty', 'segfault', x''));
SELECT 'after segfault ' || (6 * 7);
SELECT 'killed ' || (bulkhead_kill('echo') > 0);
SELECT 'dead ' || hex(bulkhead_call('echo', 'echo', 'anyone?'));
CREATE TABLE t(v TEXT);
INSERT INTO t VALUES ('still'), ('here');
SELECT 'table ' || group_concat(v, ' ') FROM t;
SELECT 'ready ' || bulkhead_wait_ready('echo', 30000);
SELECT 'echo again ' || CAST(bulkhead_call('echo', 'echo', 'back') AS TEXT);
SELECT 'restarts ' || (value->>'restarts') FROM json_each(bulkhead_plugins()) WHERE value->>'name' = 'echo';
SELECT 'pids ' || group_concat(value->>'pid', ' ') FROM json_each(bulkhead_plugins());
SQL

"$sqlite3" -batch :memory: < "$work/script.sql" > "$work/out" 2> "$work/err"
status=$?
# Two statements failed: the shell reports that in its exit status, and
# ran every statement after them.
[ "$status" = 1 ] || fail "sqlite3 exited with $status, expected 1"

expected="loaded echo
echo hello from sqlite3
first pid *
loaded faulty
after segfault 42
killed 1
table still here
ready 1
echo again back
restarts 1
pids *"
# shellcheck disable=SC2053 # the * lines are patterns
i=0
while IFS= read -r want; do
	i=$((i + 1))
	got=$(sed -n "${i}p" "$work/out")
	[[ "$got" == $want ]] || fail "line $i of the output is '$got', expected '$want'"
done <<< "$expected"
[ "$(wc -l < "$work/out")" = "$i" ] || fail "more output than expected"

grep -q "Runtime error near line 6: bulkhead_call: plugin-crashed: plugin faulty#[0-9]*: killed by signal 11 (SIGSEGV)" \
	"$work/err" || fail "the segfault is not reported as the crash it is"
grep -q "Runtime error near line 9: bulkhead_call: plugin-crashed: plugin echo#[0-9]*: killed by signal 9 (SIGKILL)" \
	"$work/err" || fail "the call after the kill does not fail naming the crash"

# Closing the database stopped every shim: none outlives the shell.
for pid in $(sed -n 's/^first pid //p; s/^pids //p' "$work/out"); do
	if [ -e "/proc/$pid" ] && grep -qa bulkhead-shim "/proc/$pid/cmdline" 2> /dev/null; then
		fail "shim $pid is still running after the shell exited"
	fi
done
echo "ok: the sqlite3 shell ran the whole script across a segfault and a kill"

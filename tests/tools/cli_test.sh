#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The bundle commands of `bulkhead`, end to end with real shims: keygen,
# pack, sign, verify, inspect and call, their outputs and exit statuses.
# Usage: cli_test.sh BULKHEAD ECHO_SO FAULTY_SO
set -uo pipefail
bulkhead=$(realpath "$1") echo_so=$(realpath "$2") faulty_so=$(realpath "$3")
work=$(mktemp -d /tmp/bulkhead-cli-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0

# expect STATUS PATTERN -- COMMAND...: runs COMMAND, checks its exit status
# and that stdout+stderr match PATTERN (an extended regex).
expect() {
	local want=$1 pattern=$2; shift 3
	local out status
	out=$("$@" 2>&1); status=$?
	if [[ $status -ne $want ]] || ! grep -Eq -- "$pattern" <<<"$out"; then
		echo "FAIL: $* -> status $status (wanted $want), output:"
		echo "$out" | sed 's/^/    /'
		echo "    (wanted a match for: $pattern)"
		failures=$((failures + 1))
	else
		echo "ok: $*"
	fi
}

cp "$echo_so" echo.so
cp "$faulty_so" faulty.so
cat > echo.json <<'JSON'
{
  "name": "echo", "version": "1.0.0", "abi_version": 1,
  "description": "echoes bytes", "author": "tests",
  "categories": ["custom"], "capabilities": [],
  "dependencies": [{"name": "base", "range": "^1.2"}],
  "payloads": [{"platform": "linux-x86_64", "file": "echo.so"}]
}
JSON
sed -e 's/"echo"/"faulty"/' -e 's/1.0.0/0.1.0/' -e 's/echo.so/faulty.so/' echo.json > faulty.json

expect 0 "Usage: bulkhead keygen" -- "$bulkhead" keygen --help
expect 2 "Usage: bulkhead keygen" -- "$bulkhead" keygen
expect 0 "key id [0-9a-f]{16}" -- "$bulkhead" keygen dev --comment "test key"
expect 3 "already exists" -- "$bulkhead" keygen dev
expect 0 "key id" -- "$bulkhead" keygen other
[[ $(stat -c %a dev.key) == 600 ]] || { echo "FAIL: dev.key is not mode 600"; failures=$((failures + 1)); }

expect 0 "UNSIGNED" -- "$bulkhead" pack echo.json -o echo-unsigned.bhb
expect 0 "signed by key" -- "$bulkhead" pack echo.json -o echo.bhb --key dev.key
expect 0 "signed by key" -- "$bulkhead" pack faulty.json -o faulty.bhb --key dev.key
expect 3 "already exists" -- "$bulkhead" pack echo.json -o echo.bhb --key dev.key
expect 2 "unknown option '--bogus'" -- "$bulkhead" pack echo.json -o x.bhb --bogus
expect 1 "verison" -- "$bulkhead" pack <(sed 's/"version"/"verison"/' echo.json) -o typo.bhb
expect 3 "missing.so" -- "$bulkhead" pack <(sed 's/echo.so/missing.so/' echo.json) -o missing.bhb

expect 0 "verified: echo 1.0.0, signed by key" -- "$bulkhead" verify echo.bhb --trust dev.pub
expect 1 "does not trust" -- "$bulkhead" verify echo.bhb --trust other.pub
expect 1 "not signed" -- "$bulkhead" verify echo-unsigned.bhb --trust dev.pub
dev_id=$(cut -d' ' -f2 dev.pub)
expect 1 "revoked" -- "$bulkhead" verify echo.bhb --trust dev.pub --revoke "$dev_id"
echo "$dev_id  # leaked" > revoked.txt
expect 1 "revoked" -- "$bulkhead" verify echo.bhb --trust dev.pub --revocations revoked.txt
expect 1 '"verified":false' -- "$bulkhead" verify echo.bhb echo-unsigned.bhb --trust dev.pub --json
expect 3 "nope.bhb" -- "$bulkhead" verify nope.bhb --trust dev.pub
cp echo.bhb tampered.bhb
offset=$(( $(stat -c %s tampered.bhb) - 50 ))
byte=$(od -An -tu1 -j "$offset" -N1 tampered.bhb)
printf "\\x$(printf %02x $(( byte ^ 0xff )))" | dd of=tampered.bhb bs=1 seek="$offset" conv=notrunc status=none
expect 1 "does not match the hash" -- "$bulkhead" verify tampered.bhb --trust dev.pub

expect 0 "signed by key" -- "$bulkhead" sign echo-unsigned.bhb --key other.key -o resigned.bhb
expect 0 "verified" -- "$bulkhead" verify resigned.bhb --trust other.pub
expect 1 "does not match the hash" -- "$bulkhead" sign tampered.bhb --key dev.key -o never.bhb
[[ ! -e never.bhb ]] || { echo "FAIL: a damaged bundle was signed"; failures=$((failures + 1)); }

expect 0 "name +echo" -- "$bulkhead" inspect echo.bhb
expect 0 "base \^1.2" -- "$bulkhead" inspect echo.bhb
expect 0 "not checked" -- "$bulkhead" inspect echo.bhb
expect 0 "verified: a host" -- "$bulkhead" inspect echo.bhb --trust dev.pub
expect 1 "HASH MISMATCH" -- "$bulkhead" inspect tampered.bhb --trust dev.pub
expect 0 '"name":"echo".*"key_id":"[0-9a-f]{16}"' -- "$bulkhead" inspect echo.bhb --json
expect 1 "malformed" -- "$bulkhead" inspect echo.json
# The layers of a shim really started from the bundle: each one named with
# its state; seccomp is enforced on every kernel this project supports.
expect 0 "sandbox +(every layer enforced|some layers are degraded or off)" -- "$bulkhead" inspect echo.bhb --trust dev.pub --sandbox
expect 0 "seccomp +enforced" -- "$bulkhead" inspect echo.bhb --trust dev.pub --sandbox
expect 0 '"sandbox":\{"fully_enforced":(true|false),"layers":\[\{"name":' -- "$bulkhead" inspect echo.bhb --trust dev.pub --sandbox --json
expect 0 '"sandbox":null' -- "$bulkhead" inspect echo.bhb --json
expect 1 "not signed" -- "$bulkhead" inspect echo-unsigned.bhb --sandbox --trust dev.pub
expect 0 "seccomp +enforced" -- "$bulkhead" inspect echo-unsigned.bhb --sandbox --dev
expect 2 "Usage: bulkhead inspect" -- "$bulkhead" inspect echo.bhb --dev

expect 0 "^hello$" -- "$bulkhead" call echo.bhb echo --text hello --trust dev.pub
echo -n "from stdin" > in.txt
expect 0 "^nidts morf$" -- "$bulkhead" call echo.bhb reverse --input - --trust dev.pub < in.txt
expect 0 "^6869$" -- "$bulkhead" call echo.bhb echo --text hi --hex --trust dev.pub
expect 4 "does not trust" -- "$bulkhead" call echo.bhb echo --text x --trust other.pub
expect 4 "not signed" -- "$bulkhead" call echo-unsigned.bhb echo --text x --trust dev.pub
expect 0 "^x$" -- "$bulkhead" call echo-unsigned.bhb echo --text x --dev
expect 1 "no operation 'nope'" -- "$bulkhead" call echo.bhb nope --trust dev.pub
expect 1 "refuses on purpose" -- "$bulkhead" call echo.bhb fail --text x --trust dev.pub
expect 1 "termination=signal signal=11" -- "$bulkhead" call faulty.bhb segfault --trust dev.pub
expect 3 "no plugin 'missing.bhb'" -- "$bulkhead" call missing.bhb echo --trust dev.pub
head -c 200 echo.bhb > truncated.bhb
expect 4 "malformed" -- "$bulkhead" call truncated.bhb echo --trust dev.pub
ln -s echo.bhb link.bhb
expect 4 "symbolic link" -- "$bulkhead" call link.bhb echo --trust dev.pub
expect 0 '"calls":200,"errors":0' -- "$bulkhead" stats echo.bhb echo --calls 200 --text x --trust dev.pub --json
expect 0 "errors +50 \(invalid-argument: 50\)" -- "$bulkhead" stats echo.bhb fail --calls 50 --trust dev.pub
expect 4 "does not trust" -- "$bulkhead" stats echo.bhb echo --trust other.pub
expect 2 "Usage: bulkhead stats" -- "$bulkhead" stats echo.bhb echo --calls 0
expect 2 "Usage: bulkhead call" -- "$bulkhead" call echo.bhb
expect 0 "Exit status" -- "$bulkhead" call --help
for c in pack sign verify inspect stats; do
	expect 0 "Exit status" -- "$bulkhead" $c --help
done

if [[ $failures -ne 0 ]]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"

#!/usr/bin/env bash
# tests/debuginfod.t - a stripped executable symbolized by a local
# debuginfod -F serving its debug file, and a server that never answers:
# thoth-meta bounded by THOTH_DEBUGINFOD_TIME (no retries, then no more
# queries), 0 turning debuginfod off.  debuginfod listens on every
# address, so the file runs in a network namespace of its own: only its
# loopback exists.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores debuginfod || exit 0
command -v debuginfod >/dev/null || { skip debuginfod "no debuginfod (Debian package debuginfod)"; exit 0; }
if [ -z "${THOTH_NETNS:-}" ]; then
	flags=-n
	[ "$(id -u)" = 0 ] || flags=-rn
	if ! unshare "$flags" true 2>"$T/ns.err"; then
		skip debuginfod "no network namespace: $(cat "$T/ns.err")"
		exit 0
	fi
	THOTH_NETNS=1 exec unshare "$flags" bash "$0"
fi
ip link set lo up || { fail "loopback up in the namespace"; exit 0; }
unset THOTH_DEBUGINFOD_TIME DEBUGINFOD_URLS
export DEBUGINFOD_CACHE_PATH=$T/dcache

# A stripped executable, its debug file served, and its core.
mkdir -p "$T/serve" "$T/run"
cc -g -O0 -o "$T/full" "$TOP/tests/fixtures/segv.c"
objcopy --only-keep-debug "$T/full" "$T/serve/stripped.debug"
strip --strip-all -o "$T/run/stripped" "$T/full"
{ (cd "$T/run" && ulimit -c unlimited && ./stripped) >/dev/null 2>&1; } 2>/dev/null
core=$(find "$T/run" -name 'core*' | head -n 1)
[ -n "$core" ] || { fail "a core of the stripped executable"; exit 0; }
bid=$(eu-readelf -n "$T/run/stripped" | awk '/Build ID:/ { print $3 }')

debuginfod -F -p 8002 -d "$T/db.sqlite" "$T/serve" >"$T/dlog" 2>&1 &
dpid=$!
# A server that accepts and never answers; it counts connections.
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8003))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[1], "a") as f:
        f.write("x\n")
' "$T/hits" &
spid=$!
trap 'kill "$dpid" "$spid" 2>/dev/null' EXIT
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:8002/buildid/$bid/debuginfo" && break
	sleep 0.1
done
rm -rf "$DEBUGINFOD_CACHE_PATH"

meta() { thoth-hash "$core" | thoth-meta | thoth-sign; }
names() { jq -r '.stack[] | sub("^[^`]*`"; "") | sub("\\+0x[0-9a-f]+$"; "")'; }
oracle() {
	eu-stack --core "$core" 2>/dev/null |
	    awk '/^TID/ { n++; next } n == 1 && /^#/ { print $3 }'
}

r=$(meta)
same "no debuginfod: the stripped frames have no symbol" \
    "$(jq -r '.stack[0] | sub("\\+0x.*"; "")' <<<"$r")/$(jq -r .stack_status <<<"$r")" \
    "stripped/partial: unsymbolized modules: stripped"
r=$(DEBUGINFOD_URLS=http://127.0.0.1:8002 meta)
same "debuginfod: frames are eu-stack's with the same server" "$(names <<<"$r")" \
    "$(DEBUGINFOD_URLS=http://127.0.0.1:8002 oracle)"
same "... crash_here first, the stack complete" "$(jq -r '[.stack[0], .stack_status] | join(" ")' <<<"$r")" \
    'stripped`crash_here+0xc complete'
same "... signature by function" "$(jq -r .signature.text <<<"$r")" \
    'stripped SIGSEGV stripped`crash_here stripped`call_crash stripped`call_crash'
rm -rf "$DEBUGINFOD_CACHE_PATH"
same "THOTH_DEBUGINFOD_TIME=0: debuginfod not asked" \
    "$(DEBUGINFOD_URLS=http://127.0.0.1:8002 THOTH_DEBUGINFOD_TIME=0 meta | jq -r .stack_status)" \
    "partial: unsymbolized modules: stripped"

# The silent server: one query, cut at the budget, the record written.
export DEBUGINFOD_URLS=http://127.0.0.1:8003
: >"$T/hits"
expect "silent server, 2 s budget: the record, unsymbolized" 0 \
    "partial: unsymbolized modules: stripped" -- \
    bash -c 'thoth-hash "$1" | THOTH_DEBUGINFOD_TIME=2 timeout 60 thoth-meta | jq -r .stack_status' - "$core"
same "... one connection (no retries, no query after the budget)" "$(wc -l <"$T/hits")" 1
: >"$T/hits"
rm -rf "$DEBUGINFOD_CACHE_PATH"
THOTH_DEBUGINFOD_TIME=0 meta >/dev/null
same "silent server, THOTH_DEBUGINFOD_TIME=0: no connection" "$(wc -l <"$T/hits")" 0
expect_err "THOTH_DEBUGINFOD_TIME not a number" 1 \
    "^thoth-meta: THOTH_DEBUGINFOD_TIME: 'soon': not a number of seconds\$" -- \
    bash -c 'thoth-hash "$1" | THOTH_DEBUGINFOD_TIME=soon thoth-meta' - "$core"

#!/usr/bin/env bash
# tests/debuginfod.t - a stripped executable symbolized by a local
# debuginfod -F serving its debug file; one crash signed without its
# symbols and with them (the build key stays, resymbolize moves the
# text), two runs (ASLR) and two sites; and a server that never answers:
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

# Another stripped program with two crash sites, its debug file served:
# two cores at site a (two runs: two load addresses), one at site b.
cc -g -O0 -o "$T/sites-full" "$TOP/tests/fixtures/sites.c"
objcopy --only-keep-debug "$T/sites-full" "$T/serve/sites.debug"
strip --strip-all -o "$T/run/sites" "$T/sites-full"
sbid=$(eu-readelf -n "$T/run/sites" | awk '/Build ID:/ { print $3 }')
crash() {	# crash NAME ARG: $T/NAME, a core of "sites ARG"
	rm -rf "$T/c" && mkdir "$T/c"
	{ (cd "$T/c" && ulimit -c unlimited && ../run/sites "$2") >/dev/null 2>&1; } 2>/dev/null
	mv "$(find "$T/c" -name 'core*' | head -n 1)" "$T/$1" 2>/dev/null
}
crash core.a1 a; crash core.a2 a; crash core.b b

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
    "stripped@$bid/partial: unsymbolized modules: stripped"
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

# One crash, symbols or not: frames without symbols are BUILDID+offset
# (eu-readelf's build-id; eu-addr2line on the debug file names them),
# the same for two runs (ASLR); the build key is the same once the
# symbols arrive, the text moves to functions.
if ! [ -f "$T/core.a1" ] || ! [ -f "$T/core.a2" ] || ! [ -f "$T/core.b" ]; then
	fail "cores of sites"
	exit 0
fi
signed() { thoth-hash "$1" | thoth-meta 2>/dev/null | thoth-sign; }
a1=$(signed "$T/core.a1")
same "sites, no symbols: stack_status says so" "$(jq -r .stack_status <<<"$a1")" \
    "partial: unsymbolized modules: sites"
same "... signed by eu-readelf's build-id and offsets" \
    "$(jq -r .signature.text <<<"$a1" | sed -E "s/sites@$sbid\+0x[0-9a-f]+/F/g")" "sites SIGSEGV F F"
# addr2line at each offset (a caller's one byte back, to its call).
i=0 names=""
for off in $(jq -r '.signature.build_text | split(" ")[2:][] | sub(".*\\+0x"; "")' <<<"$a1"); do
	names="$names $(eu-addr2line -f -e "$T/serve/sites.debug" "$(printf '0x%x' $((0x$off - (i > 0))))" | head -1)"
	i=$((i + 1))
done
same "... the offsets are site_a and main by eu-addr2line on the debug file" "$names" " site_a main"
same "... build_text: those frames by build-id" "$(jq -r .signature.build_text <<<"$a1" | sed -E "s/$sbid\+0x[0-9a-f]+/F/g")" \
    "sites SIGSEGV F F"
base() { eu-stack -b --core "$1" -e "$T/run/sites" 2>/dev/null | sed -n "s/.*\[$sbid\]@\(0x[0-9a-f]*\)+.*/\1/p" | head -1; }
if [ "$(cat /proc/sys/kernel/randomize_va_space)" != 0 ]; then
	truth "two runs: sites loaded at two addresses (ASLR)" test "$(base "$T/core.a1")" != "$(base "$T/core.a2")"
fi
same "two runs, one site, no symbols: one signature" "$(signed "$T/core.a2" | jq -c .signature)" \
    "$(jq -c .signature <<<"$a1")"
b=$(signed "$T/core.b")
truth "another site: another signature and build key" test \
    "$(jq -r '.signature | .hash + .build_hash' <<<"$b")" != "$(jq -r '.signature | .hash + .build_hash' <<<"$a1")"
rm -rf "$DEBUGINFOD_CACHE_PATH"
full=$(DEBUGINFOD_URLS=http://127.0.0.1:8002 signed "$T/core.a2")
same "symbols from debuginfod: signed by function" "$(jq -r '[.stack_status, .signature.text] | join(" / ")' <<<"$full")" \
    'complete / sites SIGSEGV sites`site_a sites`main'
same "... the same build key as without them" "$(jq -r .signature.build_hash <<<"$full")" \
    "$(jq -r .signature.build_hash <<<"$a1")"
truth "... site b still apart" test "$(DEBUGINFOD_URLS=http://127.0.0.1:8002 signed "$T/core.b" | jq -r .signature.build_hash)" != \
    "$(jq -r .signature.build_hash <<<"$full")"

# Stored without symbols, then thoth resymbolize once debuginfod has them.
export THOTH_CACHE=$T/cache TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
rm -rf "$DEBUGINFOD_CACHE_PATH"
thoth upload --no-auto "$T/core.a1" 2>/dev/null
sid=$(thoth-hash -i "$T/core.a1")
same "uploaded without symbols: the signature of a1" "$(thoth-filter -I | jq -c .signature)" "$(jq -c .signature <<<"$a1")"
expect "resymbolize with debuginfod: the text moves to functions" 0 \
    "$(jq -c --arg id "$sid" '{id: $id, old: {stack_status, signature: .signature.text}, new: {stack_status: "complete", signature: "sites SIGSEGV sites`site_a sites`main"}}' <<<"$a1")" \
    -- env DEBUGINFOD_URLS=http://127.0.0.1:8002 thoth resymbolize --dry-run "$sid"
DEBUGINFOD_URLS=http://127.0.0.1:8002 thoth resymbolize "$sid" 2>/dev/null
same "... resymbolized: functions, the build key unchanged" "$(thoth-filter -I | jq -r '.signature | .text + " " + .build_hash')" \
    "sites SIGSEGV sites\`site_a sites\`main $(jq -r .signature.build_hash <<<"$a1")"

# thoth ingest --new-signatures, on a store of its own: a1 stored
# without symbols; a2 (the same crash) ingested once debuginfod has
# them signs by function, a new hash, but the build key is a1's: not new.
export THOTH_STORE=$T/ns-store THOTH_INGEST_LOCK=$T/ns.lock
mkdir -p "$T/ns1" "$T/ns2" && cp "$T/core.a1" "$T/ns1/" && cp "$T/core.a2" "$T/core.b" "$T/ns2/"
out=$(thoth ingest --settle 0 --no-auto --new-signatures "$T/ns1" 2>/dev/null)
same "--new-signatures, a1 without symbols: new" "$(cut -d' ' -f1-4 <<<"$out")" \
    "new signature $(jq -r .signature.hash <<<"$a1"): sites"
out=$(DEBUGINFOD_URLS=http://127.0.0.1:8002 thoth ingest --settle 0 --no-auto --new-signatures "$T/ns2" 2>/dev/null)
same "... a2 with symbols (another hash, a1's build key) is not; site b is" \
    "$(cut -d' ' -f1-4 <<<"$out")" \
    "new signature $(thoth-filter -I "$(thoth-hash -i "$T/core.b")" | jq -r .signature.hash): sites"
truth "... a2 was signed by function" test "$(thoth-filter -I "$(thoth-hash -i "$T/core.a2")" | jq -r .signature.hash)" != \
    "$(jq -r .signature.hash <<<"$a1")"
unset THOTH_INGEST_LOCK
export THOTH_STORE=$T/store

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

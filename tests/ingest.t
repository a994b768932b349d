#!/usr/bin/env bash
# tests/ingest.t - thoth ingest on real cores: discovery, set difference
# with the index, parallel uploads, signatures, keep-per-signature,
# remove-after-upload, busy files, the lock, the deadline, the log, exit
# statuses, and many hosts over ssh to 127.0.0.1 (one dead, one silent).
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores ingest || exit 0
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN
export THOTH_NOW='' THOTH_INGEST_LOCK="$T/lock"

# fresh DIR ARG: a new crash of segv in DIR; prints the core's path.
fresh() {
	mkdir -p "$1"
	{ (cd "$1" && ulimit -c unlimited && "$CORES/segv" "$2") >/dev/null 2>&1; } 2>/dev/null
	find "$1" -maxdepth 1 -name 'core*' -newer "$CORES/.done" | head -n 1
}
summary() { grep '^thoth ingest: [0-9]* found' "$T/stderr"; }
ndumps() { find "$THOTH_STORE" -mindepth 2 -maxdepth 2 -type f ! -name info.json ! -path '*/index/*' | wc -l; }
consistent() { same "$1: index agrees with the store" "$(thoth-filter -I | jq -c . | sort)" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"; }
segvsig='segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash'

# --- a dump directory with garbage, a dot-file and a sub-directory
D=$T/dumps
mkdir -p "$D/sub"
cp "$CORES/core.segv" "$CORES/core.abrt" "$D/"
cp "$CORES/core.sh" "$D/sub/core.sh"
cp "$CORES/core.gcore" "$D/.#core.unfinished"
head -c 4000 /dev/urandom >"$D/garbage"
echo "not a dump" >"$D/notes.txt"
segv=$(thoth-hash -i "$CORES/core.segv") abrt=$(thoth-hash -i "$CORES/core.abrt") sh=$(thoth-hash -i "$CORES/core.sh")

expect "dry run lists new dumps, oldest first" 0 "$(for f in "$D/core.segv" "$D/core.abrt" "$D/sub/core.sh"; do
	echo "$(thoth-hash -i "$f") $(stat -c '%Y %n' "$f")"; done | sort -k2,2n -k1,1 | awk '{print $1, $3}')" -- \
    thoth ingest --dry-run --settle 0 "$D"
same "dry run summary" "$(summary)" \
    "thoth ingest: 5 found, 3 new, 0 uploaded, 0 record only, 0 failed, 0 skipped (busy), 2 not dumps, 0 deferred (deadline)"
truth "garbage is named, not fatal" grep -q "thoth-hash: $D/garbage: not an ELF file" "$T/stderr"
same "dry run stores nothing" "$(ndumps 2>/dev/null)" 0

out=$(thoth ingest --settle 0 -j 2 --new-signatures "$D" 2>"$T/stderr") && rc=0 || rc=$?
same "ingest exits 0" "$rc" 0
same "ingest summary" "$(summary)" \
    "thoth ingest: 5 found, 3 new, 3 uploaded, 0 record only, 0 failed, 0 skipped (busy), 2 not dumps, 0 deferred (deadline)"
same "three dumps stored, byte for byte" "$(ndumps) $(cmp "$D/sub/core.sh" "$THOTH_STORE/$sh/core.sh" && echo same)" "3 same"
same "records have signatures" "$(jq -r .signature.text "$THOTH_STORE/$segv/info.json")" "$segvsig"
same "--new-signatures: one line for each, for cron mail" "$(sort <<<"$out" | cut -d' ' -f1-4)" \
    "$(printf '%s\n' "new signature $(jq -r .signature.hash "$THOTH_STORE/$abrt/info.json"): abrt-threads" \
    "new signature $(jq -r .signature.hash "$THOTH_STORE/$segv/info.json"): segv" \
    "new signature $(jq -r .signature.hash "$THOTH_STORE/$sh/info.json"): sh" | sort)"
consistent "after ingest"

before=$(store_state)
expect "second run: nothing new, nothing printed" 0 "" -- thoth ingest --settle 0 --new-signatures "$D"
same "second run summary" "$(summary)" \
    "thoth ingest: 5 found, 0 new, 0 uploaded, 0 record only, 0 failed, 0 skipped (busy), 2 not dumps, 0 deferred (deadline)"
same "store unchanged by the second run" "$(store_state)" "$before"
expect "-q: a routine run prints nothing" 0 "" -- thoth ingest -q --settle 0 --log "$T/qlog" "$D"
same "-q: not even on stderr" "$(cat "$T/stderr")" ""
truth "-q: the log has what was not printed" bash -c "grep -q 'garbage: not an ELF file' '$T/qlog' && grep -q '\] thoth ingest: 5 found, 0 new' '$T/qlog'"

# --- keep-per-signature: segv has 1 dump in the period; keep 2
k1=$(fresh "$D/k1" 1) k2=$(fresh "$D/k2" 2) k3=$(fresh "$D/k3" 3)
expect "known signature: not reported as new" 0 "" -- thoth ingest --settle 0 --keep-per-signature 2 --new-signatures "$D"
truth "keep-per-signature: 1 uploaded, 2 record only" grep -q " 3 new, 1 uploaded, 2 record only, 0 failed" "$T/stderr"
same "record-only dumps are purged records without dump" \
    "$(thoth ls 'purged.reason=keep-per-signature*' | tail -n +2 | wc -l) $(ndumps)" "2 4"
same "signature counts: 4 segv records" "$(thoth report "" signature.text | jq -r --arg s "$segvsig" '.[$s]')" 4
consistent "after keep-per-signature"

# --- remove-after-upload: only what the store holds, identical
R=$T/remove
mkdir -p "$R"
cp "$CORES/core.abrt" "$R/"			# stored already, identical
r1=$(fresh "$R/new" r1)				# new
cp "$k1" "$R/k1"; cp "$k2" "$R/k2"; cp "$k3" "$R/k3"	# two of these are record only
out=$(thoth ingest --settle 0 --remove-after-upload "$R" 2>"$T/stderr")
same "remove-after-upload summary" "$(summary)" \
    "thoth ingest: 5 found, 1 new, 1 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps, 0 deferred (deadline), 3 removed"
same "stored dumps removed, record-only ones kept" "$(find "$R" -type f | wc -l)" 2
truth "the new dump is stored before its removal" test -f "$THOTH_STORE/$(thoth-filter -I "psargs=*segv r1" | jq -r .id)/info.json"
truth "r1 removed" test ! -e "$r1"
if thoth-put -Z </dev/null >/dev/null 2>&1; then
	z=$(fresh "$T/z" z)
	thoth-hash "$z" | thoth-meta 2>/dev/null | thoth-sign | thoth-put -q -Z >/dev/null
	expect_err "remove-after-upload: a dump stored compressed is compared decompressed" 0 \
	    " 1 found, 0 new, .*, 1 removed" -- thoth ingest --settle 0 --remove-after-upload "$T/z"
else
	skip "remove-after-upload of compressed dumps" "thoth-put has no -Z"
fi

# --- busy files: growing, or open for writing; left for the next run
B=$T/busy
q=$(fresh "$B/quiet" q) o=$(fresh "$B/open" o)
touch -d '1 hour ago' "$q" "$o"
{ cat "$CORES/core.segv"; while :; do echo x; sleep 0.1; done; } >"$B/growing" 2>/dev/null &
grower=$!
sleep 30 7>>"$o" &
holder=$!
thoth ingest --settle 1 "$B" >/dev/null 2>"$T/stderr"
same "busy files skipped" "$(summary)" \
    "thoth ingest: 3 found, 1 new, 1 uploaded, 0 record only, 0 failed, 2 skipped (busy), 0 not dumps, 0 deferred (deadline)"
kill "$grower" "$holder"
wait "$grower" "$holder" 2>/dev/null
truth "next run takes the dump no longer open" bash -c "thoth ingest --settle 0 '$B' 2>&1 | grep -q ' 1 new, 1 uploaded'"

# --- the lock
( exec 9>>"$T/lock"; flock 9; exec sleep 30 ) &
locker=$!
for _ in $(seq 50); do flock -n "$T/lock" true || break; sleep 0.1; done
touch -d '1 hour ago' "$(fresh "$T/locked" l)"
before=$(store_state)
expect_err "a second run exits 0 while the lock is held" 0 "another run holds $T/lock; not starting" -- \
    thoth ingest --settle 0 "$T/locked"
same "nothing stored while locked" "$(store_state)" "$before"
kill "$locker"; wait "$locker" 2>/dev/null

# --- deadline, log, failures
expect "past the deadline, no upload starts" 0 "" -- thoth ingest --settle 2 --deadline 1 --log "$T/log" "$T/locked"
same "deadline summary" "$(summary)" \
    "thoth ingest: 1 found, 1 new, 0 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps, 1 deferred (deadline)"
same "nothing stored past the deadline" "$(store_state)" "$before"
truth "the log has the summary, stamped" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{4} \[[0-9]+\] thoth ingest: 1 found' "$T/log"
f1=$(fresh "$T/fail" f1)
f1id=$(thoth-hash -i "$f1")
touch "$THOTH_STORE/$f1id"		# the store cannot make the dump's directory
expect_err "a failed upload: exit 1" 1 " 1 new, 0 uploaded, 0 record only, 1 failed" -- thoth ingest --settle 0 "$T/fail"
truth "the failed dump is named" grep -q "thoth ingest: $f1: upload" "$T/stderr"
rm "$THOTH_STORE/$f1id"
expect_err "given a missing directory: exit 1" 1 "thoth ingest: $T/nope: no such directory" -- thoth ingest --settle 0 "$T/nope"
expect_err "given a file as a directory: exit 1" 1 "thoth ingest: $D/notes.txt: no such directory" -- thoth ingest --settle 0 "$D/notes.txt"
if [ "$(id -u)" = 0 ]; then
	as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
	mkdir -m 777 "$T/nobody" "$T/nobody/store"
else
	as=()
	mkdir -p "$T/nobody/store"
fi
mkdir -m 755 "$T/private" "$T/some"
cp "$CORES/core.segv" "$T/private/"; chmod 000 "$T/private"
cp "$CORES/core.abrt" "$T/some/core.open"; chmod 644 "$T/some/core.open"; cp "$CORES/core.segv" "$T/some/core.closed"; chmod 600 "$T/some/core.closed"
[ "$(id -u)" = 0 ] || chmod 000 "$T/some/core.closed"
expect_err "an unreadable directory: named, exit 1" 1 "thoth ingest: $T/private: permission denied" -- \
    "${as[@]}" env THOTH_STORE="$T/nobody/store" THOTH_INGEST_LOCK="$T/nobody/lock" thoth ingest --settle 0 "$T/private" "$T/some"
truth "an unreadable file: named, counted as failed" grep -q "thoth ingest: $T/some/core.closed: not readable" "$T/stderr"
truth "the readable dump is stored all the same" grep -q " 2 found, 1 new, 1 uploaded, 0 record only, 1 failed" "$T/stderr"
chmod 755 "$T/private"

# --- usage, and a cron-like environment
expect_err "bad -j" 1 "'x': not a number" -- thoth ingest -j x
expect_err "unknown option" 1 "^usage: thoth-ingest" -- thoth ingest --frobnicate
expect_err "missing hosts file" 1 "$T/nohosts: cannot read" -- thoth ingest --hosts "$T/nohosts"
expect_err "bad period" 1 "'7x': bad period" -- thoth ingest --period 7x
fresh "$T/cron" c1 >/dev/null
expect_err "runs with cron's environment" 0 " 1 new, 1 uploaded" -- \
    env -i PATH=/usr/bin:/bin HOME="$T" THOTH_STORE="$THOTH_STORE" THOTH_INGEST_LOCK="$T/lock" "$BIN/thoth" ingest --settle 0 "$T/cron"
consistent "after all local runs"

# --- many hosts: ssh to 127.0.0.1, a refused port and a silent one
if "$TOP/tests/sshd.sh" install 2>"$T/sshd.err" &&
    login=$("$TOP/tests/sshd.sh" start "$T/sshd" 2>>"$T/sshd.err"); then
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(60)' >"$T/silent.port" &
	silent=$!
	for _ in $(seq 50); do [ -s "$T/silent.port" ] && break; sleep 0.1; done
	dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf '%s\n' "# hosts of the fleet" "2/$login" "ssh -p $dead root@127.0.0.1" \
	    "ssh -p $(cat "$T/silent.port") root@127.0.0.1" >"$T/hosts"
	h1=$(fresh "$T/remote" h1)
	touch -d '@1700000000' "$h1"
	h1id=$(thoth-hash -i "$h1")
	cp -p "$h1" "$T/h1.copy"
	start=$(date +%s)
	out=$(THOTH_REMOTE_BIN="$BIN" thoth ingest --settle 0 --timeout 3 --hosts "$T/hosts" --remove-after-upload "$T/remote" 2>"$T/stderr") && rc=0 || rc=$?
	same "--hosts: a dead host makes exit 1" "$rc" 1
	truth "--hosts: dead and silent hosts do not stall the run" test $(( $(date +%s) - start )) -lt 20
	same "--hosts: summary" "$(summary)" \
	    "thoth ingest: 1 found, 1 new, 1 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps, 0 deferred (deadline), 1 removed, 2 of 3 hosts failed"
	truth "--hosts: the refused host is named" grep -q "root@127.0.0.1: ssh failed: .*refused" "$T/stderr"
	truth "--hosts: the silent host timed out" grep -q "root@127.0.0.1: timed out after 3 s" "$T/stderr"
	same "--hosts: pulled dump stored byte for byte, same name" \
	    "$(cmp "$T/h1.copy" "$THOTH_STORE/$h1id/${h1##*/}" && echo same)" same
	same "--hosts: the remote dump's time and node" "$(jq -c '[.time, .node, .signature.text]' "$THOTH_STORE/$h1id/info.json")" \
	    "[1700000000,\"$(uname -n)\",\"$segvsig\"]"
	truth "--hosts: removed on the host after upload" test ! -e "$h1"
	h2=$(fresh "$T/remote" h2)
	echo "$login" >"$T/hosts1"
	expect_err "--hosts: no thoth-hash on the host" 1 "thoth-hash: not found" -- \
	    env THOTH_REMOTE_BIN="$T/nobin" thoth ingest --settle 0 --hosts "$T/hosts1" "$T/remote"
	expect "--hosts --dry-run: host:path" 0 "$(thoth-hash -i "$h2") root@127.0.0.1:$h2" -- \
	    env THOTH_REMOTE_BIN="$BIN" thoth ingest -n --settle 0 --hosts "$T/hosts1" "$T/remote"
	kill "$silent"; wait "$silent" 2>/dev/null
	"$TOP/tests/sshd.sh" stop "$T/sshd"
	consistent "after --hosts"
else
	skip "ingest --hosts" "no sshd on 127.0.0.1: $(tr '\n' ' ' <"$T/sshd.err")"
fi

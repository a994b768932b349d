#!/usr/bin/env bash
# tests/spool.t - a systemd-coredump spool made here: file names
# core.COMM.UID.BOOTID.PID.USEC[.zst], user.coredump.* xattrs, zstd
# streamed without a content size; thoth-hash and thoth ingest take time,
# boot_id and hostname from them, not from the files' mtimes.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "systemd-coredump spool" || exit 0
command -v zstd >/dev/null || { skip "systemd-coredump spool" "no zstd"; exit 0; }
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN
export THOTH_INGEST_LOCK="$T/lock" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
setx() { python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.coredump." + sys.argv[2], sys.argv[3].encode())' "$@"; }
S=$T/coredump
mkdir -p "$S"
if ! touch "$S/x" || ! setx "$S/x" pid 1 2>"$T/xattr.err"; then
	skip "systemd-coredump spool" "no user xattrs here: $(cat "$T/xattr.err")"
	exit 0
fi
rm -f "$S/x"
boot=5f3c2a1b0d9e8f7a6b5c4d3e2f1a0b9c
# spool NAME CORE USEC: CORE as systemd-coredump would store it.
pidof_core() { thoth-hash "$1" | thoth-meta -S | jq -r .pid; }
sa=$S/core.segv.0.$boot.$(pidof_core "$CORES/core.segv").1700000000123456.zst
zstd -q -c <"$CORES/core.segv" >"$sa"
setx "$sa" timestamp 1700000002654321
setx "$sa" hostname web7.example
setx "$sa" comm segv
sb=$S/core.abrt-threads.0.$boot.$(pidof_core "$CORES/core.abrt").1700000100000000
cp "$CORES/core.abrt" "$sb"
sc=$S/core.sh.0.${boot:1}.77.1700000200000000
cp "$CORES/core.sh" "$sc"
touch -d @1600000000 "$S"/*

same "streamed zstd: no size in the frame" "$(thoth-hash "$sa" | jq -c 'has("size")')" false
same "xattrs: time from user.coredump.timestamp, boot id from the name, host name" \
    "$(thoth-hash "$sa" | jq -c '[.time, .boot_id, .hostname]')" "[1700000002,\"$boot\",\"web7.example\"]"
same "no xattrs: time from the name's USEC" \
    "$(thoth-hash "$sb" | jq -c '[.time, .boot_id, .hostname]')" "[1700000100,\"$boot\",null]"
same "a boot id of 31 digits: not a spool name, time is the mtime" \
    "$(thoth-hash "$sc" | jq -c '[.time, .boot_id]')" "[1600000000,null]"
same "a core elsewhere: nothing added" "$(thoth-hash "$CORES/core.segv" | jq -c '[has("boot_id"), has("hostname")]')" \
    "[false,false]"

expect "ingest of the spool" 0 "" -- thoth ingest --settle 0 "$S"
truth "... three stored, none dropped" grep -q \
    '^thoth ingest: 3 found, 3 new, 3 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps' "$T/stderr"
same "... the index has the spool's times, boot ids and host name" \
    "$(thoth-filter -I | jq -c '[.cmd, .time, .boot_id, .hostname]' | sort)" \
    "$(printf '%s\n' "[\"abrt-threads\",1700000100,\"$boot\",null]" \
	"[\"segv\",1700000002,\"$boot\",\"web7.example\"]" '["sh",1600000000,null,null]')"
same "... the streamed zstd's size found by thoth-meta" \
    "$(thoth-filter -I | jq -r 'select(.cmd == "segv") | .size')" "$(stat -c %s "$CORES/core.segv")"
same "ingest uploads oldest first, by the dumps' own times" \
    "$(thoth-filter -I | jq -r .cmd | tr '\n' ' ')" "sh segv abrt-threads "

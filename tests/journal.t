#!/usr/bin/env bash
# tests/journal.t - systemd-coredump's journal entries: real journal
# files written by systemd-journal-remote from entries shaped as
# systemd-coredump logs them (with decoys of other pids, boots, times
# and files), read back by journalctl as the oracle; thoth-meta and
# thoth ingest take unit, slice, cgroup, owner_uid and the whole
# cmdline of a spool core from its own entry, never another's, and
# without a usable journal store the core all the same.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "systemd-coredump journal" || exit 0
jremote=/lib/systemd/systemd-journal-remote
for c in zstd journalctl "$jremote"; do
	command -v "$c" >/dev/null || { skip "systemd-coredump journal" "no $c"; exit 0; }
done
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN THOTH_JOURNAL
export THOTH_INGEST_LOCK="$T/lock" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
setx() { python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.coredump." + sys.argv[2], sys.argv[3].encode())' "$@"; }
S=$T/coredump J=$T/journal
mkdir -p "$S" "$J"
if ! touch "$S/x" || ! setx "$S/x" pid 1 2>"$T/xattr.err"; then
	skip "systemd-coredump journal" "no user xattrs here: $(cat "$T/xattr.err")"
	exit 0
fi
rm -f "$S/x"
msgid=fc2e22bc6ee647b6b90729ab34a250b1
boot=5f3c2a1b0d9e8f7a6b5c4d3e2f1a0b9c other=0123456789abcdef0123456789abcdef
pidof_core() { thoth-hash "$1" | thoth-meta -S | jq -r .pid; }

# The segv core as a container's process: the spool name has its pid
# in the initial namespace (COREDUMP_PID), not the notes' pid.
np=$(pidof_core "$CORES/core.segv") gp=$((np + 100000)) ta=1700000000000000
sa=$S/core.segv.0.$boot.$gp.$ta.zst
zstd -q -c <"$CORES/core.segv" >"$sa"
setx "$sa" timestamp "$ta"
# The abrt core, from a user's unit, decompressed since it was stored.
pb=$(pidof_core "$CORES/core.abrt") tb=1700000100000000
sb=$S/core.abrt-threads.1000.$boot.$pb.$tb
cp "$CORES/core.abrt" "$sb"
# Two more: one the journal has no entry of, one with two entries that
# differ.
sc=$S/core.sh.0.$boot.4001.1700000200000000 sd=$S/core.sleeper.0.$boot.4002.1700000300000000
cp "$CORES/core.sh" "$sc"
zstd -q -c <"$CORES/core.gcore" >"$sd"
touch -d @1600000000 "$S"/*

long="/usr/bin/segv --config /etc/segv/a-rather-long-configuration-file-name.conf --listen 127.0.0.1:8080 --name=café"
# entry T FIELD=VALUE...: one entry in journal export format, at
# realtime T (microseconds).
n=0
entry() {
	n=$((n + 1))
	printf '__CURSOR=s=0;i=%d\n__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%d\n' "$n" "$1" "$n"
	shift
	printf '%s\n' "$@" ""
}
# coredump BOOT PID USEC FIELD=VALUE...: the entry systemd-coredump logs.
coredump() {
	local b=$1 p=$2 t=$3
	shift 3
	entry $((t + 500000)) "_BOOT_ID=$b" "MESSAGE_ID=$msgid" "PRIORITY=2" \
	    "MESSAGE=Process $p dumped core." "_HOSTNAME=web7" "COREDUMP_PID=$p" \
	    "COREDUMP_UID=0" "COREDUMP_SIGNAL=11" "COREDUMP_TIMESTAMP=$t" "$@"
}
{
	coredump "$other" "$gp" "$ta" COREDUMP_UNIT=decoy-boot.service
	coredump "$boot" "$gp" $((ta - 1000000)) COREDUMP_UNIT=decoy-time.service
	coredump "$boot" "$np" "$ta" COREDUMP_UNIT=decoy-pid.service
	coredump "$boot" "$gp" "$ta" COREDUMP_UNIT=decoy-file.service \
	    "COREDUMP_FILENAME=/var/lib/systemd/coredump/core.other.0.$boot.$gp.$ta.zst"
	entry $((ta + 600000)) "_BOOT_ID=$boot" MESSAGE_ID=0123456789abcdef0123456789abcdef \
	    "COREDUMP_PID=$gp" "COREDUMP_TIMESTAMP=$ta" COREDUMP_UNIT=decoy-msgid.service
	coredump "$boot" "$gp" "$ta" COREDUMP_UNIT=web.service COREDUMP_SLICE=system.slice \
	    COREDUMP_CGROUP=/system.slice/web.service "COREDUMP_CMDLINE=$long" \
	    "COREDUMP_FILENAME=/var/lib/systemd/coredump/${sa##*/}" COREDUMP_EXE=/usr/bin/segv
	coredump "$boot" 4002 1700000300000000 COREDUMP_UNIT=one.service
	coredump "$boot" 4002 1700000300000000 COREDUMP_UNIT=two.service
} >"$T/main.export"
coredump "$boot" "$pb" "$tb" COREDUMP_UNIT=user@1000.service COREDUMP_USER_UNIT=app.service \
    COREDUMP_SLICE=user-1000.slice COREDUMP_OWNER_UID=1000 \
    COREDUMP_CGROUP=/user.slice/user-1000.slice/user@1000.service/app.slice/app.service \
    "COREDUMP_CMDLINE=/usr/bin/abrt-threads" >"$T/user.export"
for f in main user; do
	"$jremote" -o "$J/$f.journal" - <"$T/$f.export" 2>"$T/jremote.err" ||
	    fail "systemd-journal-remote $f" "$(cat "$T/jremote.err")"
done

# The oracle: what journalctl reads in the files.
same "journalctl: every entry, the decoys too, is in the file" \
    "$(journalctl --file "$J/main.journal" -o json | jq -s length)" 8
same "journalctl: three coredump entries of this boot and pid" \
    "$(journalctl --file "$J/main.journal" MESSAGE_ID=$msgid "COREDUMP_PID=$gp" "_BOOT_ID=$boot" -o json | jq -s length)" 3
want=$(journalctl --file "$J/main.journal" MESSAGE_ID=$msgid "COREDUMP_PID=$gp" "_BOOT_ID=$boot" \
    "COREDUMP_FILENAME=/var/lib/systemd/coredump/${sa##*/}" -o json |
    jq -c '{unit: .COREDUMP_UNIT, slice: .COREDUMP_SLICE, cgroup: .COREDUMP_CGROUP, cmdline: .COREDUMP_CMDLINE}')
same "journalctl: the entry of the segv core, its cmdline longer than 80 bytes" \
    "$(jq -r '[.unit, (.cmdline | length > 80)] | @tsv' <<<"$want")" "web.service	true"

meta() { thoth-hash "$@" | thoth-meta -S; }
# picked CORE [JQ]: the journal's fields of CORE's record.
picked() {
	local q='{unit, slice, cgroup, cmdline}'
	[ $# -lt 2 ] || q=$2
	meta "$1" | jq -c "$q"
}
export THOTH_JOURNAL=$J/main.journal
expect "a spool core: unit, slice, cgroup, cmdline of its entry (THOTH_JOURNAL a file)" 0 "$want" -- \
    picked "$sa"
same "... quietly" "$(cat "$T/stderr")" ""
same "... cmdline whole; psargs and pid still the core's" \
    "$(meta "$sa" | jq -r '[.cmdline == $l, .psargs, .pid == $p] | @tsv' --arg l "$long" --arg p "$np")" \
    "true	$(meta "$CORES/core.segv" | jq -r .psargs)	true"
same "... no decoy's field: other boot, time, pid, file, message id" \
    "$(meta "$sa" | jq -c '[.[] | strings | select(test("decoy"))]')" "[]"
expect "a core the journal has no entry of: no fields" 0 '[false,false,false]' -- \
    picked "$sc" '[has("unit"), has("cmdline"), has("cgroup")]'
expect "two entries of a core that differ: no fields" 0 'false' -- \
    picked "$sd" 'has("unit")'
expect "the user unit's core is not in this file" 0 'false' -- \
    picked "$sb" 'has("unit")'

export THOTH_JOURNAL=$J
same "THOTH_JOURNAL a directory: the user unit's core, decompressed, from the other file" \
    "$(meta "$sb" | jq -c '[.unit, .user_unit, .slice, .owner_uid, .cgroup, .cmdline]')" \
    '["user@1000.service","app.service","user-1000.slice",1000,"/user.slice/user-1000.slice/user@1000.service/app.slice/app.service","/usr/bin/abrt-threads"]'
expect "... and the segv core from the first" 0 "$want" -- picked "$sa"

expect "a core elsewhere never reads the journal" 0 'null' -- \
    env THOTH_JOURNAL="$T/none" bash -c 'thoth-hash "$1" | thoth-meta -S | jq -c .unit' - "$CORES/core.segv"
same "... not even to say it is missing" "$(cat "$T/stderr")" ""
for j in off "$T/none" garbage empty; do
	case $j in
	garbage) head -c 4096 /dev/urandom >"$T/garbage.journal"; j=$T/garbage.journal ;;
	empty) : >"$T/empty.journal"; j=$T/empty.journal ;;
	esac
	expect "THOTH_JOURNAL=${j#"$T"/}: no fields, exit 0" 0 '[null,null]' -- \
	    env THOTH_JOURNAL="$j" bash -c 'thoth-hash "$@" | thoth-meta -S | jq -sc "map(.unit)"' - "$sa" "$sb"
done
expect_err "THOTH_JOURNAL unreadable: said once" 0 "^thoth-meta: $T/none: cannot read the journal: " -- \
    env THOTH_JOURNAL="$T/none" bash -c 'thoth-hash "$@" | thoth-meta -S >/dev/null' - "$sa" "$sb"
same "... one line" "$(wc -l <"$T/stderr")" 1
expect "THOTH_JOURNAL=off: quiet" 0 "" -- env THOTH_JOURNAL=off bash -c 'thoth-hash "$1" | thoth-meta -S >/dev/null' - "$sa"
same "... not a word" "$(cat "$T/stderr")" ""

expect "ingest of the spool" 0 "" -- thoth ingest --settle 0 "$S"
truth "... four stored" grep -q '^thoth ingest: 4 found, 4 new, 4 uploaded, .* 0 failed' "$T/stderr"
same "... the index has each core's own unit and cgroup" \
    "$(thoth-filter -I | jq -c '[.cmd, .unit, .cgroup]' | sort)" \
    "$(printf '%s\n' '["abrt-threads","user@1000.service","/user.slice/user-1000.slice/user@1000.service/app.slice/app.service"]' \
	'["segv","web.service","/system.slice/web.service"]' '["sh",null,null]' '["sleeper",null,null]')"
same "... thoth ls finds a unit" "$(thoth-filter -I unit=web.service | jq -r .cmdline)" "$long"

THOTH_STORE=$T/store2 THOTH_JOURNAL=$T/garbage.journal expect "ingest with a garbage journal" 0 "" -- \
    thoth ingest --settle 0 "$S"
truth "... all stored all the same" grep -q '^thoth ingest: 4 found, 4 new, 4 uploaded, .* 0 failed' "$T/stderr"
same "... without journal fields" "$(THOTH_STORE=$T/store2 thoth-filter -I | jq -c 'select(has("unit") or has("cmdline"))')" ""

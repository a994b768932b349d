#!/usr/bin/env bash
# tests/stranded.t - nothing stranded, nothing silent (issue 13) on the
# directory store: uploads killed or out of space are completed by the
# next run, a dump deleted under its record is stored again, rebuilds keep
# the records they cannot read, an info.json whose id is not its directory
# (or that is no object) is an error, readers need no write access, only
# regular files are stored, temporaries of killed runs are swept, and the
# limits of thoth-set.  Full disks are small tmpfs mounts this test makes
# (skipped where mounting is not allowed).
# shellcheck shell=bash disable=SC2016
. "$TOP/tests/lib.sh"
need_cores stranded || exit 0
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN
export THOTH_NOW='' THOTH_INGEST_LOCK="$T/ingest.lock"
segv=$(thoth-hash -i "$CORES/core.segv") abrt=$(thoth-hash -i "$CORES/core.abrt")
sh=$(thoth-hash -i "$CORES/core.sh") gcore=$(thoth-hash -i "$CORES/core.gcore")
summary() { grep '^thoth ingest: [0-9]* found' "$T/stderr"; }
# The index agrees with the store: the same records, each once.
consistent() { same "$1: index agrees with the store" "$(thoth-filter -I | jq -c . | sort)" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"; }

# --- 1. the index lacks a stored dump (killed between info.json and
# the index, or the index disk was full): the next ingest adds it.
D=$T/d1
mkdir -p "$D" && cp "$CORES/core.segv" "$CORES/core.abrt" "$D/"
thoth upload --no-auto "$D/core.segv" "$D/core.abrt" 2>/dev/null
: >"$THOTH_STORE/index/journal.ndjson"	# as if killed before the index line
rm -f "$THOTH_STORE/index/base.ndjson"*
expect "the index lacks the stored dumps (the state under test)" 0 "" -- thoth-filter -I
thoth ingest --settle 0 "$D" 2>"$T/stderr" >/dev/null
same "ingest completes the index" "$(summary)" \
    "thoth ingest: 2 found, 2 new, 2 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps, 0 deferred (deadline)"
consistent "after the index was completed"
thoth ingest --settle 0 "$D" 2>"$T/stderr" >/dev/null
same "and the next run finds nothing new" "$(summary | cut -d, -f2)" " 0 new"

# The old order's leftover: an index line, no info.json.  ingest (and
# upload) store it again; ls does not keep listing it as stored.
rm "$THOTH_STORE/$segv/info.json"
thoth ingest --settle 0 "$D" 2>"$T/stderr" >/dev/null
same "index line without info.json: ingest stores it again" "$(summary | cut -d, -f2,3)" " 1 new, 1 uploaded"
truth "info.json is back" test -f "$THOTH_STORE/$segv/info.json"
consistent "after the unfinished upload was completed"

# Real SIGKILLs of a cron ingest (its whole session) at random moments,
# then one run to the end: every core stored byte for byte (and removed
# here), the index agreeing with the store.
K=$T/kills
mkdir -p "$K"
for i in 1 2 3 4 5 6; do
	rm -rf "$T/crash" && mkdir "$T/crash"
	{ (cd "$T/crash" && ulimit -c unlimited && "$CORES/segv" kill "$i") >/dev/null 2>&1; } 2>/dev/null
	mv "$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)" "$K/core.$i"
	truncate -s 8M "$K/core.$i"
	touch -d '1 minute ago' "$K/core.$i"
	md5sum "$K/core.$i" >>"$T/kills.md5"
done
kills=0
for i in 1 2 3 4 5 6; do
	setsid thoth ingest --settle 0 --remove-after-upload "$K" </dev/null >/dev/null 2>&1 &
	pid=$!
	disown "$pid"	# no "Killed" notices from this shell
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	kill -0 "$pid" 2>/dev/null && kills=$((kills + 1))
	# Until the session is empty: GNU parallel may be forking its
	# placeholder "sleep 10101" processes at that very moment.
	while pgrep -s "$pid" >/dev/null; do
		for p in $(pgrep -s "$pid"); do kill -KILL "$p" 2>/dev/null; done
		sleep 0.05
	done
done
thoth ingest --settle 0 --remove-after-upload "$K" 2>"$T/stderr" >/dev/null
bad=$(while read -r sum path; do
	id=$(jq -r --arg n "${path##*/}" 'select(.dump | endswith("/" + $n)) | .id' "$THOTH_STORE"/*/info.json | head -n 1)
	[ -n "$id" ] && [ "$(md5sum <"$THOTH_STORE/$id/${path##*/}" | cut -d' ' -f1)" = "$sum" ] &&
	    [ ! -e "$path" ] || echo "$path"
done <"$T/kills.md5")
same "after $kills SIGKILLs of ingest, the next run stores every core whole" "$bad" ""
consistent "after the killed ingests"

# --- 2. a dump deleted under its record is stored again, keeping edits.
thoth ticket "$abrt" OS-1 2>/dev/null
rm "$THOTH_STORE/$abrt/core.abrt"
expect_err "upload: a dump whose bytes are gone is stored again" 0 "recorded but its dump is missing: storing it again" -- \
    thoth upload --no-auto "$D/core.abrt"
same "byte for byte, its ticket kept" "$(cmp "$D/core.abrt" "$THOTH_STORE/$abrt/core.abrt" && thoth info "$abrt" | jq -r .ticket)" OS-1
rm "$THOTH_STORE/$abrt/core.abrt"
thoth ingest --settle 0 "$D" 2>"$T/stderr" >/dev/null
same "ingest stores it again too" "$(summary | cut -d, -f2,3)" " 1 new, 1 uploaded"
same "byte for byte" "$(cmp "$D/core.abrt" "$THOTH_STORE/$abrt/core.abrt" && echo same)" same
consistent "after the dump was stored again"

# --- 3. a rebuild never drops a record it cannot replace.
thoth upload --no-auto "$CORES/core.sh" "$CORES/core.gcore" 2>/dev/null
thoth set "$sh" note kept 2>/dev/null
before=$(thoth-filter -I | jq -c . | sort)
cp "$THOTH_STORE/$sh/info.json" "$T/sh.info"
echo '{"id": "' >"$THOTH_STORE/$sh/info.json"			# torn
printf '{"id":"%s"' "$gcore" >"$THOTH_STORE/$gcore/info.json"	# cut short
mkdir -p "$THOTH_STORE/ffffffffffffffffffffffffffffffff"
echo '[1,2]' >"$THOTH_STORE/ffffffffffffffffffffffffffffffff/info.json"	# no object, not indexed
thoth index >/dev/null 2>"$T/stderr" && rc=0 || rc=$?
same "rebuild with damaged info.json exits 1" "$rc" 1
same "it names what it kept from where" "$(grep -c 'kept the record the index had' "$T/stderr") $(grep -c 'ffffffffffffffffffffffffffffffff: not in the index either' "$T/stderr")" "2 1"
truth "and why each info.json was refused" grep -q "$sh/info.json: bad JSON" "$T/stderr"
same "the index still holds every good record" "$(thoth-filter -I | jq -c . | sort)" "$before"

cp "$T/sh.info" "$THOTH_STORE/$sh/info.json"
rm -rf "${THOTH_STORE:?}/$gcore" "$THOTH_STORE/ffffffffffffffffffffffffffffffff"

# --- 4. the directory is the id; 5. an info.json that is no object.
jq -c . "$THOTH_STORE/$segv/info.json" >"$T/segv.info"
cp "$THOTH_STORE/$abrt/info.json" "$THOTH_STORE/$segv/info.json"
before=$(jq -c . "$THOTH_STORE/$abrt/info.json")
expect_err "set through an info.json with another id: an error naming both" 1 \
    "$segv/info.json: its \"id\" is $abrt, not $segv" -- thoth-set -t OS-2 <<<"{\"id\":\"$segv\"}"
same "the other dump's record is untouched (ticket kept)" "$(jq -c . "$THOTH_STORE/$abrt/info.json")" "$before"
thoth index >/dev/null 2>"$T/stderr" || :
same "rebuild lists that dump once" "$(thoth-filter -I | jq -r .id | grep -c "$abrt")" 1
truth "rebuild names the mismatch" grep -q "its \"id\" is $abrt, not $segv" "$T/stderr"
for bad in '[]' '"text"' '42' 'null'; do
	printf '%s\n' "$bad" >"$THOTH_STORE/$segv/info.json"
	expect_err "set: info.json $bad is refused" 1 "$segv/info.json: (not a JSON object|bad JSON)" -- \
	    thoth-set -t OS-3 <<<"{\"id\":\"$segv\"}"
	expect_err "purge: info.json $bad is refused" 1 "$segv/info.json: (not a JSON object|bad JSON)" -- \
	    thoth-purge <<<"{\"id\":\"$segv\"}"
done
cp "$T/segv.info" "$THOTH_STORE/$segv/info.json"
thoth index 2>/dev/null
consistent "after repairs and a rebuild"

# --- 8. readers need only read access.
if setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$THOTH_STORE/index/lock"; then
	want=$(thoth ls)
	expect "ls of another user's store" 0 "$want" -- \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" thoth ls
	expect "info of another user's store" 0 "$(thoth info "$segv")" -- \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" thoth info "$segv"
	expect_err "set there fails and says where" 1 "(lock|info.json|journal.ndjson).*Permission denied" -- \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" thoth-set -t OS-4 <<<"{\"id\":\"$segv\"}"
else
	skip "readers of another user's store" "cannot run as nobody here"
fi
mkdir -p "$T/ro"
if mount --bind "$THOTH_STORE" "$T/ro" 2>/dev/null && mount -o remount,bind,ro "$T/ro" 2>/dev/null; then
	expect "ls of a read-only store" 0 "$(thoth ls)" -- env THOTH_STORE="$T/ro" thoth ls
	expect_err "set on a read-only store fails and says where" 1 "Read-only file system" -- \
	    env THOTH_STORE="$T/ro" thoth-set -t OS-4 <<<"{\"id\":\"$segv\"}"
	umount "$T/ro"
else
	umount "$T/ro" 2>/dev/null
	skip "read-only store" "bind mounts not allowed here"
fi

# --- 9. only regular files, of the size thoth-hash saw.
before=$(store_state)
expect_err "put of /dev/zero is refused" 1 "thoth-put: /dev/zero: not a regular file" -- \
    thoth-put <<<"{\"id\":\"$(printf 'e%.0s' {1..32})\",\"type\":\"core\",\"file\":\"/dev/zero\",\"size\":4096,\"time\":1}"
mkfifo "$T/fifo"
expect_err "put of a pipe is refused" 1 "fifo: not a regular file" -- \
    thoth-put <<<"{\"id\":\"$(printf 'e%.0s' {1..32})\",\"type\":\"core\",\"file\":\"$T/fifo\",\"time\":1}"
rec=$(thoth-hash "$CORES/core.gcore" | jq -c --arg f "$T/grown" '.file = $f')
cp "$CORES/core.gcore" "$T/grown" && head -c 4096 /dev/zero >>"$T/grown"
expect_err "put of a file that grew since it was hashed is refused" 1 "grown: [0-9]+ bytes, its record says [0-9]+" -- \
    thoth-put <<<"$rec"
same "nothing written, no temporary left" "$(store_state)" "$before"

# --- 10. temporaries of killed uploads and ingests are swept.  (Only
# these: the SIGKILLs of part 2 may have left fresh ones, which a sweep
# must keep for a while, as their writer may live on another host.)
mkdir -p "$THOTH_STORE/.part"
stale() { touch -d '1 hour ago' "$THOTH_STORE/.part/$1"; }
left() { find "$THOTH_STORE/.part" -name '*.part.99999999?' | wc -l; }
stale ".$sh.core.sh.part.999999999"
thoth upload --no-auto "$CORES/core.gcore" 2>/dev/null
same "an upload of another dump sweeps a killed upload's temporary" "$(left)" 0
stale ".$segv.core.segv.part.999999998"
thoth index 2>/dev/null
same "thoth index sweeps them too" "$(left)" 0
stale ".$segv.core.segv.part.999999998"
thoth set "$segv" swept yes 2>/dev/null
same "and so does an edit" "$(left)" 0
touch "$THOTH_STORE/.part/.$segv.core.segv.part.999999997"
thoth set "$segv" swept again 2>/dev/null
same "but not one changed lately (its writer may be on another host)" "$(left)" 1
rm "$THOTH_STORE/.part/.$segv.core.segv.part.999999997"
mkdir -p "$T/tmp/thoth-ingest.999999997.abcdef" "$T/tmp/thoth-ingest.$$.live"
TMPDIR=$T/tmp thoth ingest --settle 0 "$D" 2>/dev/null >/dev/null
same "ingest sweeps the temporary directories of killed runs only" "$(find "$T/tmp" -mindepth 1 -maxdepth 1 -printf '%f\n')" "thoth-ingest.$$.live"

# --- 11, 15. thoth-set refuses what other tools could not read or
# would rewrite at great cost.
deep() { python3 -c "import sys; n = int(sys.argv[1]); print('[' * n + ']' * n)" "$1"; }
before=$(store_state)
expect_err "a value nested 2000 deep is refused" 1 "nest the record [0-9]+ deep, more than 128" -- \
    thoth-set -j deep "$(deep 2000)" <<<"{\"id\":\"$segv\"}"
head -c 1200000 /dev/zero | tr '\0' x >"$T/big"
expect_err "a value over 1 MiB is refused" 1 "'big': value of [0-9]+ bytes, more than 1048576" -- \
    thoth set "$segv" big <"$T/big"
same "store and index unchanged" "$(store_state)" "$before"
truth "a value nested 100 deep passes, and jq reads the index" \
    bash -c 'thoth-set -j deep "$1" <<<"{\"id\":\"$2\"}" >/dev/null && thoth-filter -I | jq -e . >/dev/null' _ "$(deep 100)" "$segv"

# --- 12. a compaction keeps or repairs the lines readers skip.
thoth-index -c 2>/dev/null
want=$(thoth-filter -I | jq -c . | sort)
python3 - "$THOTH_STORE/index/base.ndjson" <<'PY'
import sys
p = sys.argv[1]
lines = open(p, 'rb').read().split(b'\n')
i = lines[1].index(b'"cmd":"') + 8
lines[1] = lines[1][:i] + b'\0' + lines[1][i:]
lines.insert(2, b'{"garbage')
open(p, 'wb').write(b'\n'.join(lines))
PY
same "a NUL byte makes readers skip a record (the state under test)" "$(thoth-filter -I 2>/dev/null | wc -l)" "$(($(wc -l <<<"$want") - 1))"
thoth-index -c 2>"$T/stderr"
same "compaction repairs it" "$(thoth-filter -I 2>/dev/null | jq -c . | sort)" "$want"
truth "and says so" grep -q "base.ndjson:2: NUL bytes dropped from a record" "$T/stderr"
same "and keeps what it cannot repair for thoth index" "$(grep -c '^{"garbage$' "$THOTH_STORE/index/base.ndjson")" 1
thoth index 2>/dev/null
same "which replaces it" "$(grep -c garbage "$THOTH_STORE/index/base.ndjson") $(thoth-filter -I | jq -c . | sort | cmp - <(echo "$want") && echo same)" "0 same"

# --- 1, 13, 14. full disks: a tmpfs for the store, then one for the index.
mnt=$T/full
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
	skip "full disks" "cannot mount a tmpfs here"
	exit 0
fi
trap 'umount "$mnt" 2>/dev/null' EXIT
export THOTH_STORE=$mnt/store
F=$T/dfull
mkdir -p "$F" && cp "$CORES/core.gcore" "$F/core.big"
# 3 MB of data after it (holes are not copied): the same dump to thoth-hash
head -c 3M /dev/urandom >>"$F/core.big"
big=$(thoth-hash -i "$F/core.big")
thoth ingest --settle 0 "$F" 2>"$T/stderr" >/dev/null && rc=0 || rc=$?
same "ingest into a full store exits 1" "$rc" 1
truth "the store's file and the real errno are named" grep -q "$mnt/store/.part/.*: write: No space left on device" "$T/stderr"
truth "not the source core" bash -c '! grep -q "$1: write:" "$2"' _ "$F/core.big" "$T/stderr"
same "nothing listed, no temporary left" "$(thoth-filter -I | wc -l) $(find "$THOTH_STORE" -type f -name '.*' | wc -l)" "0 0"
mount -o remount,size=8m "$mnt"
thoth ingest --settle 0 "$F" 2>"$T/stderr" >/dev/null
same "once there is room, the next run stores it" "$(summary | cut -d, -f2,3)" " 1 new, 1 uploaded"
same "byte for byte" "$(cmp "$F/core.big" "$THOTH_STORE/$big/core.big" && echo same)" same

# The index on a disk of its own, full: info.json is written, the index
# line is not; the next run adds it.
umount "$mnt" && mount -t tmpfs -o size=64k tmpfs "$mnt"
export THOTH_STORE=$T/store2 THOTH_INDEX=$mnt/index
fill() { dd if=/dev/zero of="$mnt/filler" bs=1k 2>/dev/null; }
mkdir -p "$THOTH_INDEX" && : >"$THOTH_INDEX/lock" && fill
thoth ingest --settle 0 "$F" 2>"$T/stderr" >/dev/null && rc=0 || rc=$?
same "ingest with the index disk full exits 1" "$rc" 1
truth "real errno, index file named" grep -q "journal.ndjson: write: No space left on device" "$T/stderr"
truth "and which part was done" grep -q "stored as $big but not indexed" "$T/stderr"
rm "$mnt/filler"
thoth ingest --settle 0 "$F" 2>"$T/stderr" >/dev/null
same "the next run indexes it" "$(summary | cut -d, -f2,3) $(thoth-filter -I | jq -r .id)" " 1 new, 1 uploaded $big"
fill
expect_err "set with the index disk full says that info.json changed" 1 \
    "$big: info.json changed but the index did not" -- \
    thoth-set -s pad "$(head -c 8000 /dev/zero | tr '\0' x)" <<<"{\"id\":\"$big\"}"
same "and it did" "$(jq -r .properties.pad "$THOTH_STORE/$big/info.json" | wc -c)" 8001
rm "$mnt/filler"
thoth index 2>/dev/null
consistent "thoth index mends it"

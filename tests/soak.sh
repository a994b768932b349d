#!/usr/bin/env bash
# usage: tests/soak.sh [SECONDS] -- cron-style ingest under SIGKILLs, a filling disk and a hung autoanalyzer.
#
# For SECONDS (default 120): new real cores (some made big by a sparse
# tail) keep appearing in a dump directory; `thoth ingest
# --remove-after-upload --deadline 6` runs on it over and over, its whole
# session SIGKILLed at a random moment most times; the store is a small
# tmpfs that fills up, and is made bigger half-way (as an administrator
# would); an autoanalyzer never exits.  Then one last ingest runs to the
# end, and the checks: every core ever made is stored byte-identical or
# still present locally, every indexed dump has its info.json and its
# dump, and a rebuild gives the index back.  Prints the figures; exit 1
# when a check fails.  Needs root for the tmpfs (else a plain directory,
# without the filling disk).  Not part of make check (its time is its
# point); run it by hand.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/bin}
export PATH="$BIN:$PATH" LC_ALL=C
secs=${1:-120}
W=$TOP/tests/tmp/soak.$$
mkdir -p "$W/dumps" "$W/tmp" "$W/store"
export THOTH_STORE=$W/store/s THOTH_INGEST_LOCK=$W/lock TMPDIR=$W/tmp
export THOTH_ANALYZER_TIMEOUT=3
CORES=$TOP/tests/tmp/cores
"$TOP/tests/mkcores.sh" "$CORES" || { echo "soak: no cores here" >&2; exit 77; }
mounted=""
if mount -t tmpfs -o size=40m tmpfs "$W/store" 2>/dev/null; then
	mounted=1
else
	echo "soak: cannot mount a tmpfs: no filling disk" >&2
fi
cleanup() {
	local p
	for p in $(pgrep -s "${sess:-0}" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	[ -n "$mounted" ] && umount "$W/store" 2>/dev/null
}
trap cleanup EXIT
printf 'sleep 1000\n' | thoth autoanalyzers upload stuck 2>/dev/null

# A new core of segv, distinct by its arguments, 1 to 6 MB; its id,
# path and checksum go to made.tsv.
n=0
newcore() {
	local dir core
	n=$((n + 1))
	dir=$W/crash.$n
	mkdir -p "$dir"
	{ (cd "$dir" && ulimit -c unlimited && "$CORES/segv" soak "$$" "$n") >/dev/null 2>&1; } 2>/dev/null
	core=$(find "$dir" -maxdepth 1 -name 'core*' | head -n 1)
	[ -n "$core" ] || return 0
	truncate -s "$((RANDOM % 6 + 1))M" "$core"
	touch -d '1 minute ago' "$core"
	printf '%s\t%s\t%s\n' "$(thoth-hash -i "$core")" "$W/dumps/core.$n" "$(md5sum <"$core" | cut -c1-32)" >>"$W/made.tsv"
	mv "$core" "$W/dumps/core.$n"
	rmdir "$dir"
}

# SIGKILL to every process of the run's session, until none is left
# (GNU parallel may be forking its placeholder "sleep 10101" processes).
killall_session() {
	local p
	while pgrep -s "$sess" >/dev/null; do
		for p in $(pgrep -s "$sess"); do kill -KILL "$p" 2>/dev/null; done
		sleep 0.05
	done
}

kills=0 runs=0 grown=""
start=$SECONDS
while [ $((SECONDS - start)) -lt "$secs" ]; do
	for _ in 1 2 3; do newcore; done
	if [ -n "$mounted" ] && [ -z "$grown" ] && [ $((SECONDS - start)) -ge $((secs / 2)) ]; then
		mount -o remount,size=400m "$W/store" && grown=1
	fi
	setsid thoth ingest -q --log "$W/ingest.log" --settle 0 --remove-after-upload --deadline 6 "$W/dumps" </dev/null >/dev/null 2>&1 &
	sess=$!
	runs=$((runs + 1))
	if [ $((RANDOM % 4)) -ne 0 ]; then
		sleep "$((RANDOM % 3)).$((RANDOM % 10))"
		if kill -0 "$sess" 2>/dev/null; then
			killall_session
			kills=$((kills + 1))
		fi
	fi
	wait "$sess" 2>/dev/null
	# A run that ended by itself may leave nothing behind either.
	while pgrep -s "$sess" >/dev/null; do sleep 0.1; done
done
thoth ingest -q --settle 0 --remove-after-upload "$W/dumps" </dev/null >/dev/null 2>"$W/last.err"
while pgrep -f "$W/tmp/thoth-analyze" >/dev/null; do sleep 0.2; done

# The checks.
bad=0 stored=0 local=0 bytes=0
while IFS=$'\t' read -r id path sum; do
	name=${path##*/}
	if [ -f "$THOTH_STORE/$id/$name" ] && [ "$(md5sum <"$THOTH_STORE/$id/$name" | cut -c1-32)" = "$sum" ]; then
		stored=$((stored + 1))
		bytes=$((bytes + $(stat -c %s "$THOTH_STORE/$id/$name")))
	elif [ -f "$path" ] && [ "$(md5sum <"$path" | cut -c1-32)" = "$sum" ]; then
		local=$((local + 1))
		bytes=$((bytes + $(stat -c %s "$path")))
	else
		echo "soak: $path ($id): neither stored whole nor left here" >&2
		bad=$((bad + 1))
	fi
done <"$W/made.tsv"
thoth-filter -I | jq -r '"\(.id) \(.dump | sub(".*/"; ""))"' | while read -r id name; do
	[ -f "$THOTH_STORE/$id/info.json" ] && [ -f "$THOTH_STORE/$id/$name" ] ||
	    echo "soak: $id: indexed without its info.json or dump" >&2
done 2>&1 | tee "$W/unfinished" >&2
[ -s "$W/unfinished" ] && bad=$((bad + 1))
before=$(thoth-filter -I | jq -c . | sort)
thoth index 2>/dev/null
[ "$(thoth-filter -I | jq -c . | sort)" = "$before" ] || { echo "soak: a rebuild changes the index" >&2; bad=$((bad + 1)); }
left=$(find "$THOTH_STORE" "$W/tmp" -name '.*.part.*' -o -name 'thoth-ingest.*' | wc -l)
full=$(grep -c 'No space left on device' "$W/ingest.log" 2>/dev/null)
printf 'soak: %d s, %d ingest runs, %d SIGKILLed, %d cores (%d stored, %d still here), %d MB checked, %d uploads failed for a full disk, %d temporaries left, %d problems\n' \
    "$((SECONDS - start))" "$runs" "$kills" "$(wc -l <"$W/made.tsv")" "$stored" "$local" "$((bytes / 1048576))" \
    "${full:-0}" "$left" "$bad"
cleanup
[ "$bad" -eq 0 ] && rm -rf "$W"
[ "$bad" -eq 0 ]

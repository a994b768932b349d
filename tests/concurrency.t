# tests/concurrency.t - many writers at once (issue 8): N parallel
# `thoth upload` of overlapping sets of real cores, parallel `thoth set`
# and thoth-set edits of the same dumps, and `thoth index` rebuilds and
# compactions, all at the same time, on the directory store.  After it:
# each dump stored once (one dump file per id directory, no leftover
# temporaries), every edit in the store and in the index, the index
# equal to the store without a rebuild.
# CONCURRENCY_N (default 8) uploaders; CONCURRENCY_EDITS (default 200).
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"
need_cores concurrency || exit 0
N=${CONCURRENCY_N:-8}
EDITS=${CONCURRENCY_EDITS:-200}
export THOTH_NOW=
# Small journal: writers compact the index all the time, while rebuilds
# run (their marker must hold compaction off).
export THOTH_INDEX_JOURNAL_MAX=8192

# Six distinct real cores: the segv program crashing with 0..5 arguments,
# made 8 MB each so that uploads overlap with everything else.
ncores=6
for k in $(seq 0 $((ncores - 1))); do
	rm -rf "$T/crash" && mkdir "$T/crash"
	# shellcheck disable=SC2046
	{ (cd "$T/crash" && ulimit -c unlimited && "$CORES/segv" $(seq 1 "$k")) >/dev/null 2>&1; } 2>/dev/null
	core=$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)
	[ -n "$core" ] || { fail "making core $k" "no core"; exit 0; }
	mv "$core" "$T/core.$k"
	truncate -s 8M "$T/core.$k"	# copies that take a while (sparse tail)
done
ids=$(for k in $(seq 0 $((ncores - 1))); do thoth-hash -i "$T/core.$k"; done)
same "$ncores distinct real cores" "$(sort -u <<<"$ids" | wc -l)" "$ncores"

# Two are stored first, so that edits have dumps to work on at once.
thoth upload --no-auto "$T/core.0" "$T/core.1" 2>/dev/null
id0=$(sed -n 1p <<<"$ids")
id1=$(sed -n 2p <<<"$ids")

# Uploader k stores cores k, k+1, k+2, k+3 (mod 6): every core by 4 of 8.
uploader() {
	local k=$1 files=() j
	for j in 0 1 2 3; do files+=("$T/core.$(((k + j) % ncores))"); done
	thoth upload --no-auto "${files[@]}" >/dev/null 2>"$T/upload.$k.err"
	echo $? >"$T/upload.$k.rc"
}
# Edit e sets property p<e> on one of the first two dumps, by the front
# end (odd e) or as an analyzer's edit record to thoth-set (even e).
editor() {
	local e id
	for e in "$@"; do
		id=$([ $((e % 2)) = 0 ] && echo "$id0" || echo "$id1")
		if [ $((e % 4)) -lt 2 ]; then
			thoth set "$id" "p$e" "v$e" 2>>"$T/edit.err" || echo "p$e" >>"$T/edit.failed"
		else
			printf '{"id":"%s","set":{"p%d":"v%d"}}\n' "$id" "$e" "$e" |
			    thoth-set >/dev/null 2>>"$T/edit.err" || echo "p$e" >>"$T/edit.failed"
		fi
	done
}
# Edits of every dump while the uploads land: late<r>, retried until
# the dump is there.
late_editor() {
	local r id
	for r in 1 2 3 4 5 6 7 8; do
		for id in $ids; do
			for _ in $(seq 1 400); do
				thoth-set -s "late$r" x <<<"{\"id\":\"$id\"}" >/dev/null 2>&1 && break
				sleep 0.05
			done
		done
	done
}
rebuilder() {
	local r
	for r in 1 2 3 4; do
		thoth index 2>>"$T/rebuild.err" || echo "rebuild $r" >>"$T/rebuild.failed"
		thoth-index -c 2>>"$T/rebuild.err" || echo "compact $r" >>"$T/rebuild.failed"
	done
}

: >"$T/edit.failed"
: >"$T/rebuild.failed"
pids=()
for k in $(seq 0 $((N - 1))); do uploader "$k" & pids+=($!); done
workers=8
for w in $(seq 0 $((workers - 1))); do
	editor $(seq $((w + 1)) "$workers" "$EDITS") & pids+=($!)
done
rebuilder & pids+=($!)
late_editor & pids+=($!)
wait "${pids[@]}"

same "$N parallel uploads of 4 cores each all exit 0" \
    "$(cat "$T"/upload.*.rc | sort -u | tr '\n' ' ')" "0 "
same "$EDITS parallel edits all exit 0" "$(sort -u "$T/edit.failed" | head -n 5)" ""
same "4 rebuilds and 4 compactions during the run all exit 0" \
    "$(cat "$T/rebuild.failed"; grep -v 'rebuilt$\|no info.json (unfinished upload), skipped$' "$T/rebuild.err" | head -n 5)" ""

# --- each dump stored once
same "$ncores id directories in the store" \
    "$(find "$THOTH_STORE" -mindepth 1 -maxdepth 1 -type d -name '????????????????????????????????' | wc -l)" "$ncores"
problems=""
for id in $ids; do
	d=$THOTH_STORE/$id
	names=$(find "$d" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
	dump=$(jq -r '.dump | sub(".*/"; "")' "$d/info.json" 2>/dev/null)
	[ "$names" = "$(printf '%s\n' "$dump" info.json | sort | tr '\n' ' ')" ] ||
	    problems+="$id: $names (info.json names $dump); "
	[ "$(stat -c %s "$d/$dump" 2>/dev/null)" = "$(jq -r .size "$d/info.json" 2>/dev/null)" ] ||
	    problems+="$id: dump size differs; "
done
same "each of the $ncores dumps stored once: one dump file and info.json, no temporaries" "$problems" ""
same "no dot-files anywhere in the store" "$(find "$THOTH_STORE" -type f -name '.*' | head -n 5)" ""
same "no temporary index files left" "$(find "$THOTH_STORE/index" -name '*.tmp*' -o -name rebuilding | head -n 5)" ""
same "the index has $ncores records, one per dump" "$(thoth-filter -I | jq -r .id | sort | uniq -c | awk '{print $1}' | sort -u) $(thoth-filter -I | wc -l)" "1 $ncores"

# --- every edit present
want=$(seq 1 "$EDITS" | sed 's/^/p/' | sort)
got_store=$(jq -r '.properties // {} | keys[] | select(test("^p[0-9]+$"))' "$THOTH_STORE/$id0/info.json" "$THOTH_STORE/$id1/info.json" | sort)
same "all $EDITS edits in the store's info.json" "$(comm -3 <(echo "$want") <(echo "$got_store") | head -n 5)" ""
got_ix=$(thoth-filter -I | jq -r '.properties // {} | keys[] | select(test("^p[0-9]+$"))' | sort)
same "all $EDITS edits in the index" "$(comm -3 <(echo "$want") <(echo "$got_ix") | head -n 5)" ""
same "each edit on the right dump with its value" \
    "$(jq -r '.id as $i | .properties // {} | to_entries[] | select(.key | test("^p[0-9]+$")) |
        select(.value != ("v" + .key[1:]) or ((.key[1:] | tonumber) % 2 == 0) != ($i == "'"$id0"'")) | .key' \
        "$THOTH_STORE"/*/info.json | head -n 5)" ""
same "late edits (made while uploads landed) on every dump, in store and index" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -r '[.properties // {} | keys[] | select(startswith("late"))] | length' | sort -u) $(thoth-filter -I late8=x | wc -l)" \
    "8 $ncores"
same "index equals the store without a rebuild" \
    "$(diff <(thoth-filter -I | jq -cS . | sort) <(cat "$THOTH_STORE"/*/info.json | jq -cS . | sort) | head -n 10)" ""
thoth index 2>/dev/null
same "index equals the store after a rebuild" \
    "$(diff <(thoth-filter -I | jq -cS . | sort) <(cat "$THOTH_STORE"/*/info.json | jq -cS . | sort) | head -n 10)" ""

# tests/killsafe.t - crash safety (issue 8): thoth upload, thoth set and
# thoth index, and thoth-put and thoth-set alone, killed with SIGKILL at
# random points, on the directory store and on S3 (tests/s3-server.sh).
# After every kill: no info.json without its whole dump, no index line
# that breaks a reader, and a re-run of the same command completes the
# work; at the end the index equals the store after a rebuild.
# KILLSAFE_RUNS (default 8) sets the kills per command (half on S3).
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"
need_cores killsafe || exit 0
RUNS=${KILLSAFE_RUNS:-8}
export THOTH_NOW=

# killrun MAXMS CMD...: CMD in a process group of its own, the whole
# group SIGKILLed after a random 0..MAXMS ms (if still running).
kills=0
killrun() {
	local max=$1 pid ms
	shift
	setsid "$@" </dev/null >/dev/null 2>&1 &
	pid=$!
	disown "$pid"	# no "Killed" notices from this shell
	ms=$((RANDOM % max))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	# Still running: its leader is not a zombie yet.
	[ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" = Z ] ||
	    [ ! -e "/proc/$pid" ] || kills=$((kills + 1))
	kill -KILL -- "-$pid" 2>/dev/null
	gone "$pid"
	return 0
}
# gone PGID: waits (10 s at most) until no process of the group is left,
# zombies included (init reaps orphans here with some delay).
gone() {
	local _
	for _ in $(seq 1 200); do
		pgrep -g "$1" >/dev/null || return 0
		sleep 0.05
	done
}

# A fresh real core: the segv program crashing with ARGS (a distinct id
# for distinct ARGS), made big by a sparse tail (hashing and metadata
# read only its headers and notes, so it stays a valid core).
bigcore() {	# bigcore FILE MB ARGS...
	local core n
	rm -rf "$T/crash" && mkdir "$T/crash"
	{ (cd "$T/crash" && ulimit -c unlimited && "$CORES/segv" "${@:3}") >/dev/null 2>&1; } 2>/dev/null
	core=$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)
	mv "$core" "$1"
	# Written bytes, not zeros nor a hole: thoth-put copies only a
	# dump's data blocks that are not all zeros, and the kills below
	# must find copies under way.
	n=$((($2 << 20) - $(stat -c %s "$1")))
	[ "$n" -le 0 ] || head -c "$n" /dev/zero | tr '\0' z >>"$1"
}

# The index files of this store: directory store or the S3 cache.
ixdir() { echo "${IXDIR:-$THOTH_STORE/index}"; }

# Problems of the store (directory store): every info.json parses and
# names a dump that is there whole.  One jq and one find for the lot.
store_problems() {
	local f dump want
	local -A size=()
	set -- "$THOTH_STORE"/????????????????????????????????/info.json
	[ -e "$1" ] || return 0
	while IFS=$'\t' read -r f want; do
		size[$f]=$want
	done < <(find "$THOTH_STORE" -mindepth 2 -maxdepth 2 -type f -printf '%p\t%s\n')
	jq -r '[input_filename, (.dump | sub(".*/"; "")),
	    (if .compression then .stored_size else .size end)] | @tsv' "$@" \
	    2>"$T/sp.err" >"$T/sp.tsv" || echo "an info.json is not JSON: $(head -c 300 "$T/sp.err")"
	while IFS=$'\t' read -r f dump want; do
		f=${f%/info.json}/$dump
		if [ -z "${size[$f]:-}" ]; then
			echo "${f#"$THOTH_STORE"/}: info.json without its dump"
		elif [ "${size[$f]}" != "$want" ]; then
			echo "${f#"$THOTH_STORE"/}: ${size[$f]} bytes, info.json says $want"
		fi
	done <"$T/sp.tsv"
}

# Index records name dumps that are there whole (file store): the dump
# is written before the index line.
index_dump_problems() {
	local f want
	local -A size=()
	while IFS=$'\t' read -r f want; do
		size[$f]=$want
	done < <(find "$THOTH_STORE" -mindepth 2 -maxdepth 2 -type f -printf '%p\t%s\n')
	thoth-filter -I 2>/dev/null | jq -r '[.dump, (if .compression then .stored_size else .size end)] | @tsv' |
	while IFS=$'\t' read -r f want; do
		[ "${size[$f]:-none}" = "$want" ] || echo "index names ${f#"$THOTH_STORE"/} (${size[$f]:-no} bytes, record says $want)"
	done
}

# Problems of the index: a reader that fails or warns, a complete line
# that is not a record, a record the reader does not show.
index_problems() {
	local f n want got err
	err=$(thoth-filter -I 2>&1 >"$T/ix.out") || echo "thoth-filter -I failed: $err"
	[ -z "$err" ] || echo "thoth-filter -I warns: $err"
	: >"$T/ix.lines"
	for f in base journal; do
		f=$(ixdir)/$f.ndjson
		[ -f "$f" ] || continue
		n=$(wc -l <"$f")	# complete lines; a torn last one is allowed
		head -n "$n" "$f" >>"$T/ix.lines"
	done
	jq -ce 'select(.id | test("^[0-9a-f]{32}$"))' "$T/ix.lines" >/dev/null 2>&1 ||
	    echo "a complete index line is not a record"
	want=$(jq -r .id "$T/ix.lines" 2>/dev/null | sort -u)
	got=$(jq -r .id "$T/ix.out" | sort)
	[ "$want" = "$got" ] || echo "reader shows $(wc -w <<<"$got") of $(wc -w <<<"$want") records"
}

# The index equals the store's info.json objects.
index_is_store() {
	diff <(thoth-filter -I | jq -cS . | sort) <(store_records | jq -cS . | sort)
}
store_records() {
	local id
	for id in $(thoth-store ls | tr -d /); do
		[[ $id =~ ^[0-9a-f]{32}$ ]] && thoth-store get "$id/info.json" 2>/dev/null
	done
	return 0
}

# report NAME: one test line from the problems collected in $T/problems.
report() {
	if [ -s "$T/problems" ]; then
		fail "$1" "$(sort -u "$T/problems" | head -n 15)"
	else
		pass "$1"
	fi
	: >"$T/problems"
}
: >"$T/problems"
note() { [ -z "$2" ] || printf '%s: %s\n' "$1" "$2" >>"$T/problems"; }

# ---------------------------------------------------------------- file store
# A store with a few real dumps and 120 small hand-made ones, so that
# edits and rebuilds of all of them take a while.
thoth upload --no-auto "$CORES/core.segv" "$CORES/core.abrt" "$CORES/core.sh" 2>/dev/null
for i in $(seq 1 120); do
	printf 'dump %d' "$i" >"$T/small.$i"
	printf '{"id":"%032x","type":"core","file":"%s","size":%d,"time":%d,"cmd":"small"}\n' \
	    "$((0xabc000 + i))" "$T/small.$i" "$(stat -c %s "$T/small.$i")" "$i"
done | thoth-put -q >/dev/null
ndumps=$(find "$THOTH_STORE" -name info.json | wc -l)
same "file store: $ndumps dumps to start with" "$ndumps" 123

# --- thoth upload of a 32 MB core, killed
bigcore "$T/big.core" 32 big
bigid=$(thoth-hash -i "$T/big.core")
rerun_bad=0
for i in $(seq 1 "$RUNS"); do
	killrun 300 thoth upload --no-auto "$T/big.core"
	note "upload kill $i" "$(store_problems; index_problems; index_dump_problems)"
	thoth upload --no-auto "$T/big.core" >/dev/null 2>&1 || note "upload kill $i" "re-run failed"
	[ "$(jq -r .id "$THOTH_STORE/$bigid/info.json" 2>/dev/null)" = "$bigid" ] ||
	    note "upload kill $i" "re-run did not store the dump"
	note "upload kill $i, after re-run" "$(store_problems)"
	thoth-filter -I "$bigid" >/dev/null 2>&1 || rerun_bad=$((rerun_bad + 1))
	rm -rf "${THOTH_STORE:?}/$bigid"
	err=$(thoth-index 2>&1) || note "upload kill $i" "thoth index failed: $err"
done
report "file store: thoth upload SIGKILLed $RUNS times ($kills while running): store and index consistent, re-run stores it"

# --- thoth-put alone, killed
thoth-hash "$T/big.core" | thoth-meta 2>/dev/null >"$T/big.rec"
kills=0
for i in $(seq 1 "$RUNS"); do
	killrun 250 thoth-put -q "$T/big.rec"
	note "thoth-put kill $i" "$(store_problems; index_problems; index_dump_problems)"
	thoth-put -q "$T/big.rec" >/dev/null 2>&1 || note "thoth-put kill $i" "re-run failed"
	thoth-filter -I "$bigid" >/dev/null 2>&1 || rerun_bad=$((rerun_bad + 1))
	rm -rf "${THOTH_STORE:?}/$bigid"
	err=$(thoth-index 2>&1) || note "thoth-put kill $i" "thoth index failed: $err"
done
report "file store: thoth-put SIGKILLed $RUNS times ($kills while running): store and index consistent"

# --- thoth set on every dump, killed; the re-run sets every one
kills=0
for i in $(seq 1 "$RUNS"); do
	killrun 400 thoth set type=core "kill$i" "v$i"
	note "set kill $i" "$(store_problems; index_problems)"
	thoth set type=core "kill$i" "v$i" 2>/dev/null || note "set kill $i" "re-run failed"
	n=$(cat "$THOTH_STORE"/*/info.json | jq -r ".properties.kill$i // empty" | grep -c "^v$i$")
	[ "$n" = "$ndumps" ] || note "set kill $i" "re-run: $n of $ndumps info.json have the edit"
	n=$(thoth-filter -I "kill$i=v$i" | wc -l)
	[ "$n" = "$ndumps" ] || note "set kill $i" "re-run: $n of $ndumps index records have the edit"
done
report "file store: thoth set on $ndumps dumps SIGKILLed $RUNS times ($kills while running): consistent, re-run edits all"

# --- thoth-set alone (edit records, as analyzers send them), killed
thoth-filter -I | jq -c '{id, set: {direct: .id}}' >"$T/edits"
kills=0
for i in $(seq 1 "$RUNS"); do
	jq -c ".set.direct += \"-$i\"" "$T/edits" >"$T/edits.$i"
	killrun 300 thoth-set "$T/edits.$i"
	note "thoth-set kill $i" "$(store_problems; index_problems)"
	thoth-set "$T/edits.$i" >/dev/null 2>&1 || note "thoth-set kill $i" "re-run failed"
	n=$(thoth-filter -I "direct=*-$i" | wc -l)
	[ "$n" = "$ndumps" ] || note "thoth-set kill $i" "re-run: $n of $ndumps index records have the edit"
done
report "file store: thoth-set SIGKILLed $RUNS times ($kills while running): consistent, re-run edits all"

# --- thoth index (rebuild), killed: the old index stays whole
want=$(thoth-filter -I | jq -cS . | sort)
kills=0
for i in $(seq 1 "$RUNS"); do
	killrun 150 thoth index
	note "index kill $i" "$(index_problems)"
	[ "$(thoth-filter -I | jq -cS . | sort)" = "$want" ] ||
	    note "index kill $i" "a killed rebuild changed what the index says"
	expect_out=$(thoth index 2>&1) || note "index kill $i" "re-run failed: $expect_out"
	[ "$(thoth-filter -I | jq -cS . | sort)" = "$want" ] ||
	    note "index kill $i" "rebuild after the kill differs"
done
report "file store: thoth index SIGKILLed $RUNS times ($kills while running): old index intact, re-run rebuilds"

# --- compaction, killed
kills=0
for i in $(seq 1 "$RUNS"); do
	thoth set type=core "c$i" x 2>/dev/null
	killrun 60 thoth-index -c
	note "compact kill $i" "$(index_problems)"
	n=$(thoth-filter -I "c$i=x" | wc -l)
	[ "$n" = "$ndumps" ] || note "compact kill $i" "$n of $ndumps records keep the edit"
done
report "file store: thoth index -c SIGKILLed $RUNS times ($kills while running): no record lost"

same "file store: index equals the store after a rebuild" "$(thoth index 2>/dev/null; index_is_store)" ""
# A rebuild killed while writing leaves index/.base.ndjson.tmp.PID, as
# big as the whole index; the next rebuild sweeps it once its writer is
# gone and it is older than 10 minutes (the store may be shared).
true & dead=$!	# a pid that is surely dead
wait "$dead"
echo partial >"$(ixdir)/.base.ndjson.tmp.$dead"
find "$(ixdir)" -name '*.tmp.*' -exec touch -d '20 minutes ago' {} +
thoth index 2>/dev/null
same "the next rebuild removes old .base.ndjson.tmp.PID files of killed rebuilds" \
    "$(find "$(ixdir)" -name '*.tmp.*' | wc -l)" 0
find "$(ixdir)" -name '*.tmp.*' -delete


# Where a kill cannot be aimed at a random instant, aim it: the state a
# kill leaves in the window is made by hand.  thoth-put appends the
# index line before it writes info.json: killed in between, the index
# names a dump the store does not show yet; the re-run completes it.
bigcore "$T/late.core" 1 late
lateid=$(thoth-hash -i "$T/late.core")
thoth upload --no-auto "$T/late.core" 2>/dev/null
rm "$THOTH_STORE/$lateid/info.json"
note "late" "$(index_problems)"
thoth upload --no-auto "$T/late.core" 2>/dev/null
note "late" "$(store_problems; index_problems)"
[ "$(jq -r .id "$THOTH_STORE/$lateid/info.json" 2>/dev/null)" = "$lateid" ] || note late "no info.json after the re-run"
[ "$(thoth-filter -I "$lateid" 2>/dev/null | jq -r .id)" = "$lateid" ] || note late "not in the index after the re-run"
report "killed between the index line and info.json: readers fine, the re-run stores and indexes the dump"

# A dump upload killed while copying leaves its temporary
# <store>/.part/.ID.NAME.part.PID; the next upload sweeps temporaries
# whose writer is dead and that are 10 minutes old.
bigcore "$T/mid.core" 64 mid
setsid thoth upload --no-auto "$T/mid.core" </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
for _ in $(seq 1 500); do
	[ -n "$(find "$THOTH_STORE" -name '.*.part.*' 2>/dev/null)" ] && break
	sleep 0.01
done
kill -KILL -- "-$pid" 2>/dev/null
gone "$pid"
part=$(find "$THOTH_STORE" -name '.*.part.*')
truth "upload killed while copying left a temporary (the state under test)" test -n "$part"
# All of them: the kills above left theirs in <store>/.part too.
find "$THOTH_STORE" -name '.*.part.*' -exec touch -d '20 minutes ago' {} +
thoth upload --no-auto "$T/mid.core" 2>/dev/null
same "the re-run sweeps the dead upload's old temporary" "$(find "$THOTH_STORE" -name '.*.part.*' | wc -l)" 0
note mid "$(store_problems; index_problems)"
report "after the re-run of a killed copy: store and index consistent"

# ---------------------------------------------------------------- S3
bucket=killsafe
need_s3 "killsafe on S3" "$bucket" || exit 0
export THOTH_S3_PART_SIZE=5242880 THOTH_S3_LIMIT_RATE=20000000
unset THOTH_S3_PARALLEL THOTH_S3_TRIES THOTH_S3_ADDRESSING AWS_SESSION_TOKEN
IXDIR=$T/cache/thoth/index/127.0.0.1_${port}_${bucket}_dumps

# Every info.json names a dump that is there whole: one listing for the
# sizes, the info.json objects through a rebuild into a scratch index
# (in parallel; it fails if one does not parse).
store_problems() {
	local key size id dump want err
	local -A len=()
	while IFS=$'\t' read -r key size; do
		len[$key]=$size
	done < <(s3curl "$base/$bucket?list-type=2&prefix=dumps%2F" |
	    grep -o '<Key>[^<]*</Key>[^/]*</LastModified><ETag>[^<]*</ETag><Size>[0-9]*' |
	    sed 's|<Key>dumps/\([^<]*\)</Key>.*<Size>\([0-9]*\)$|\1\t\2|')
	rm -rf "$T/scratch"
	err=$(THOTH_INDEX=$T/scratch thoth-index 2>&1) || echo "reading every info.json failed: $err"
	THOTH_INDEX=$T/scratch thoth-filter -I 2>/dev/null |
	    jq -r '[.id, (.dump | sub(".*/"; "")), (if .compression then .stored_size else .size end)] | @tsv' |
	while IFS=$'\t' read -r id dump want; do
		[ "${len[$id/$dump]:-none}" = "$want" ] ||
		    echo "$id/$dump has ${len[$id/$dump]:-no} bytes, info.json says $want"
	done
}

thoth upload --no-auto "$CORES/core.segv" "$CORES/core.sh" 2>/dev/null
for i in $(seq 1 20); do
	printf '{"id":"%032x","type":"core","file":"%s","size":%d,"time":%d,"cmd":"small"}\n' \
	    "$((0xdef000 + i))" "$T/small.$i" "$(stat -c %s "$T/small.$i")" "$i"
done | thoth-put -q >/dev/null
ndumps=$(thoth-filter -I | wc -l)
same "S3: $ndumps dumps to start with" "$ndumps" 22

# A new core each time: the shared log remembers every record it was
# told of, so a dump removed by hand would still be listed.
kills=0
S3RUNS=$(((RUNS + 1) / 2))
for i in $(seq 1 "$S3RUNS"); do
	bigcore "$T/s3big.core" 12 s3 big "$i"
	s3id=$(thoth-hash -i "$T/s3big.core")
	killrun 900 thoth upload --no-auto "$T/s3big.core"
	note "S3 upload kill $i" "$(store_problems; index_problems)"
	thoth upload --no-auto "$T/s3big.core" >/dev/null 2>&1 || note "S3 upload kill $i" "re-run failed"
	thoth-store get "$s3id/info.json" >/dev/null 2>&1 || note "S3 upload kill $i" "re-run did not store it"
	note "S3 upload kill $i, after re-run" "$(store_problems)"
done
ndumps=$(thoth-filter -I | wc -l)
report "S3: thoth upload (12 MB, multipart, 20 MB/s) SIGKILLed $S3RUNS times ($kills while running): consistent, re-run stores it"

kills=0
for i in $(seq 1 "$S3RUNS"); do
	killrun 500 thoth set type=core "kill$i" "v$i"
	note "S3 set kill $i" "$(store_problems; index_problems)"
	thoth set type=core "kill$i" "v$i" 2>/dev/null || note "S3 set kill $i" "re-run failed"
	n=$(thoth-filter -I "kill$i=v$i" | wc -l)
	[ "$n" = "$ndumps" ] || note "S3 set kill $i" "re-run: $n of $ndumps index records have the edit"
done
report "S3: thoth set on $ndumps dumps SIGKILLed $S3RUNS times ($kills while running): consistent, re-run edits all"

kills=0
want=$(thoth-filter -I | jq -cS . | sort)
for i in $(seq 1 "$S3RUNS"); do
	killrun 300 thoth index
	note "S3 index kill $i" "$(index_problems)"
	[ "$(thoth-filter -I | jq -cS . | sort)" = "$want" ] ||
	    note "S3 index kill $i" "a killed rebuild changed what the index says"
	thoth index >/dev/null 2>&1 || note "S3 index kill $i" "re-run failed"
done
report "S3: thoth index SIGKILLed $S3RUNS times ($kills while running): old index intact, re-run rebuilds"
# In an S3 store info.json keeps the upload record and the edits are in
# the log: the index is what a rebuild from nothing makes of both.
same "S3: index equals a rebuild from nothing" "$(thoth index 2>/dev/null; diff \
    <(thoth-filter -I | jq -cS . | sort) \
    <(rm -rf "$T/fresh"; THOTH_INDEX=$T/fresh thoth-index 2>/dev/null; THOTH_INDEX=$T/fresh thoth-filter -I | jq -cS . | sort))" ""

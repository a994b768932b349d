# tests/fleet.t - many hosts on one bucket (the shared index log,
# thoth-s3(7)): simulated hosts, each with its own HOME, cache and host
# name, against the real S3 server of tests/s3-server.sh, at once, with
# SIGKILLs, a clock 3 minutes behind and a frozen server.  Request counts
# come from the server's own proxy log.  It is the slowest file, and
# what it checks is the log's behaviour, not memory: so
# tests/run: plain only
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"
need_cores fleet || exit 0
bucket=fleet
need_s3 fleet "$bucket" || exit 0
unset THOTH_S3_PART_SIZE THOTH_S3_PARALLEL THOTH_S3_TRIES THOTH_S3_ADDRESSING \
    THOTH_S3_LIMIT_RATE THOTH_S3_BACKOFF_MS THOTH_S3_TIMEOUT THOTH_REFRESH \
    THOTH_LOG_WINDOW THOTH_LOG_GRACE THOTH_NOW
proxylog=$srv/log/proxy.log

on() {	# on HOST CMD...: CMD run as host HOST (own HOME, cache, name)
	local h=$1
	shift
	mkdir -p "$T/hosts/$h"
	HOME=$T/hosts/$h XDG_CACHE_HOME=$T/hosts/$h/cache THOTH_HOST=$h "$@"
}
keys() {	# keys PREFIX: the bucket's keys under dumps/PREFIX
	s3curl "$base/$bucket?list-type=2&prefix=dumps%2F${1//\//%2F}" |
	    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}
view() {	# view HOST: the host's whole index, fields sorted
	on "$1" thoth-filter -I | jq -S -c . | sort
}
props() {	# props HOST ID PREFIX: how many properties PREFIX* the host sees
	on "$1" thoth-filter -I "$2" | jq --arg p "$3" \
	    '[.properties // {} | keys[] | select(startswith($p))] | length'
}
requests() {	# requests FROM: the proxy log's lines since line FROM
	tail -n +"$(($1 + 1))" "$proxylog"
}
spawn() {	# spawn HOST CMD...: CMD as HOST in a process group of its own ($pid)
	local h=$1
	shift
	mkdir -p "$T/hosts/$h"
	HOME=$T/hosts/$h XDG_CACHE_HOME=$T/hosts/$h/cache THOTH_HOST=$h \
	    setsid "$@" >/dev/null 2>&1 &
	pid=$!
}

segv=$(thoth-hash -i "$CORES/core.segv")
abrt=$(thoth-hash -i "$CORES/core.abrt")
gcore=$(thoth-hash -i "$CORES/core.gcore")

# --- 2 hosts x 50 concurrent thoth set of distinct properties
on A thoth upload --no-auto "$CORES/core.segv" 2>/dev/null
: >"$T/fails"
for i in $(seq 1 50); do
	{ on A thoth set "$segv" "a$i" "v$i" 2>>"$T/set.err" || echo "A $i" >>"$T/fails"; } &
	{ on B thoth set "$segv" "b$i" "v$i" 2>>"$T/set.err" || echo "B $i" >>"$T/fails"; } &
done
wait
same "100 concurrent sets from 2 hosts: every one exits 0" "$(cat "$T/fails" "$T/set.err")" ""
on A thoth-index -i 2>/dev/null
on B thoth-index -i 2>/dev/null
same "host A sees 100 of 100" "$(($(props A "$segv" a) + $(props A "$segv" b)))" 100
same "host B sees 100 of 100" "$(($(props B "$segv" a) + $(props B "$segv" b)))" 100
on C thoth index 2>/dev/null
same "a rebuild from nothing has 100 of 100" "$(($(props C "$segv" a) + $(props C "$segv" b)))" 100
same "A's view, B's view and the rebuild are the same records" \
    "$(view A | md5sum) $(view B | md5sum)" "$(view C | md5sum) $(view C | md5sum)"
same "info.json keeps the upload record" \
    "$(thoth-store get "$segv/info.json" | jq -c '[.id, .cmd, has("properties"), has("stamps")]')" \
    "[\"$segv\",\"segv\",false,false]"
same "the dump is stored under its id, its name kept" \
    "$(keys "$segv/"; on A thoth-filter -I "$segv" | jq -r .original_name)" \
    "$(printf 'dumps/%s/dump\ndumps/%s/info.json\ncore.segv' "$segv" "$segv")"

# --- a ticket on A while B sends 100 analyzer edits; B purges right after
on A thoth upload --no-auto "$CORES/core.abrt" 2>/dev/null
edits() {	# edits TRIAL: 100 analyzer edit records
	local k
	for k in $(seq 1 100); do
		printf '{"id":"%s","set":{"t%s_%s":%s},"by":{"analyzer":"az","hash":"h","time":1}}\n' \
		    "$abrt" "$1" "$k" "$k"
	done
}
good=0 kept=0
for trial in $(seq 1 10); do
	on A thoth ticket "$abrt" "OS-$trial" 2>>"$T/trial.err" &
	edits "$trial" | on B thoth-set >/dev/null 2>>"$T/trial.err" &
	wait
	on B thoth purge "$abrt" >/dev/null 2>>"$T/purge.err"
	rec=$(on B thoth-filter -I "$abrt")
	[ "$(jq -r .ticket <<<"$rec")" = "OS-$trial" ] &&
	    [ "$(props B "$abrt" "t${trial}_")" = 100 ] && good=$((good + 1))
	[ "$(jq -r '.purged // "no"' <<<"$rec")" = no ] &&
	    keys "$abrt/dump" | grep -q . && kept=$((kept + 1))
done
same "ticket and 100 analyzer edits both kept, 10 of 10 trials" "$good$(cat "$T/trial.err")" 10
same "purge on B right after never deletes the ticketed dump, 10 of 10" "$kept" 10
same "purge said why" "$(grep -c 'kept 1 with a ticket' "$T/purge.err")" 10

# --- the same dump uploaded by 2 hosts under different names at once
one_copy=0
for trial in $(seq 1 20); do
	id=$(printf 'fe%030d' "$trial")
	printf 'dump of trial %s' "$trial" >"$T/core.a.$trial"
	cp "$T/core.a.$trial" "$T/other-name.$trial"
	rec() { printf '{"id":"%s","type":"core","file":"%s","size":%s,"time":%s,"cmd":"twice"}\n' \
	    "$id" "$1" "$(stat -c %s "$1")" "$trial"; }
	rec "$T/core.a.$trial" | on A thoth-put -q >/dev/null 2>&1 &
	rec "$T/other-name.$trial" | on B thoth-put -q >/dev/null 2>&1 &
	wait
	[ "$(keys "$id/" | tr '\n' ' ')" = "dumps/$id/dump dumps/$id/info.json " ] &&
	    [ "$(s3curl "$base/$bucket/dumps/$id/dump")" = "dump of trial $trial" ] &&
	    one_copy=$((one_copy + 1))
done
on C thoth-index -i 2>/dev/null
same "same dump from 2 hosts, 20 trials: one dump object every time" "$one_copy" 20
same "and one record each" "$(on C thoth-filter -I cmd=twice | jq -r .id | sort -u | wc -l) $(on C thoth-filter -I cmd=twice | wc -l)" "20 20"
cp "$CORES/core.gcore" "$T/gcore.host-a"
cp "$CORES/core.gcore" "$T/gcore.host-b"
on A thoth upload --no-auto "$T/gcore.host-a" 2>/dev/null &
on B thoth upload --no-auto "$T/gcore.host-b" 2>/dev/null &
wait
same "a real core uploaded by both at once: one dump, byte for byte" \
    "$(keys "$gcore/" | wc -l) $(s3curl "$base/$bucket/dumps/$gcore/dump" | cmp - "$CORES/core.gcore" && echo same)" "2 same"

# --- B sees A's edit within the refresh interval: one LIST, one GET
export THOTH_REFRESH=1
on B thoth ls >/dev/null 2>&1
on A thoth set "$segv" seen yes 2>/dev/null
sleep 1.2
n0=$(wc -l <"$proxylog")
same "B sees A's edit after the refresh interval" "$(on B thoth ls "$segv" seen 2>/dev/null | tail -n 1 | awk '{print $NF}')" yes
same "with one LIST and one GET of the new log object" \
    "$(requests "$n0" | grep -c 'list-type') $(requests "$n0" | grep -c "GET /$bucket/dumps/log/.* 200 ")" "1 1"
on A thoth set "$segv" seen2 yes 2>/dev/null
on A thoth set "$segv" seen3 yes 2>/dev/null
on A thoth set "$segv" seen4 yes 2>/dev/null
sleep 1.2
n0=$(wc -l <"$proxylog")
on B thoth ls >/dev/null 2>&1
same "three new log objects: one LIST, three GETs" \
    "$(requests "$n0" | grep -c 'list-type') $(requests "$n0" | grep -c "GET /$bucket/dumps/log/.* 200 ")" "1 3"
n0=$(wc -l <"$proxylog")
on B thoth ls >/dev/null 2>&1
same "within the interval, no request at all" "$(requests "$n0" | wc -l)" 0
on L faketime -f -3m thoth set "$segv" late yes 2>/dev/null
same "the edit of a host 3 minutes behind is logged in its past" \
    "$(keys log/ | grep -c -- '-L-')" 1
sleep 1.2
same "and B, whose cursor is past it, still sees it" "$(props B "$segv" late; on B thoth ls "$segv" late 2>/dev/null | tail -n 1 | awk '{print $NF}')" "$(printf '0\nyes')"
unset THOTH_REFRESH

# --- snapshots: a new host starts from one; the old log goes after the grace
nlog=$(keys log/ | wc -l)
on A thoth index -c 2>/dev/null
same "index -c writes a compressed snapshot" "$(keys snapshot/ | grep -c '\.ndjson\.zst$')" 1
same "the snapshot is the whole fold" \
    "$(s3curl "$base/$bucket/dumps/$(keys snapshot/ | sed 's|^dumps/||')" | zstd -dc | jq -S -c . | sort | md5sum)" \
    "$(view A | md5sum)"
same "within the grace period no log object is deleted" "$(keys log/ | wc -l)" "$nlog"
n0=$(wc -l <"$proxylog")
on D thoth ls >/dev/null 2>&1
same "a new host starts from the snapshot: no info.json read" \
    "$(requests "$n0" | grep -c 'GET .*/snapshot/.* 200 ') $(requests "$n0" | grep -c 'info.json')" "1 0"
same "and has the same records" "$(view D | md5sum)" "$(view A | md5sum)"
THOTH_LOG_GRACE=0 on A thoth index -c 2>/dev/null
same "after the grace period the log before the snapshot is deleted" "$(keys log/ | wc -l)" 0
same "and one snapshot is left" "$(keys snapshot/ | wc -l)" 1
on A thoth set "$segv" after-gc yes 2>/dev/null
on E thoth index 2>/dev/null
same "a rebuild from nothing after it: snapshot + log + info.json" "$(view E | md5sum)" "$(on A thoth-index -i 2>/dev/null; view A | md5sum)"
on A thoth index -c 2>/dev/null &
on B thoth index -c 2>/dev/null &
wait
on F thoth ls >/dev/null 2>&1
same "two compactions at once lose nothing" "$(view F | md5sum)" "$(view A | md5sum)"

# --- SIGKILL of writers and of a compaction at random points
# (bash's "Killed" notices go to the null device, the survivors to $T/ok)
: >"$T/ok"
for i in $(seq 1 12); do
	spawn A thoth set "$gcore" "k$i" v
	setter=$pid
	if [ $((i % 3)) = 0 ]; then
		THOTH_LOG_GRACE=0 spawn B thoth-index -c
		sleep "0.$((RANDOM % 5))"
		kill -9 -- "-$pid" 2>/dev/null
	fi
	sleep "0.$((RANDOM % 4))"
	if ! kill -9 -- "-$setter" 2>/dev/null; then
		wait "$setter" && echo "k$i" >>"$T/ok"
	fi
done 2>/dev/null
wait 2>/dev/null
mapfile -t ok <"$T/ok"
torn=0
for k in $(keys log/); do
	s3curl "$base/$bucket/$k" | jq -e . >/dev/null 2>&1 || torn=$((torn + 1))
done
same "no log object torn by a kill" "$torn" 0
on G thoth index 2>/dev/null
missing=0
for k in "${ok[@]}"; do [ "$(props G "$gcore" "$k")" -ge 1 ] || missing=$((missing + 1)); done
same "every set that exited 0 is there (${#ok[@]} of 12)" "$missing" 0
for i in $(seq 1 12); do on A thoth set "$gcore" "k$i" v 2>/dev/null; done
on G thoth-index -i 2>/dev/null
same "the next run completes the killed ones" "$(props G "$gcore" k)" 12
on H thoth ls >/dev/null 2>&1
same "a host starting after the killed compactions has them all" "$(props H "$gcore" k)" 12

# --- a host whose disk is full: the edit is stored for all, and it says so
mkdir -p "$T/hosts/Z/cache"
on Z thoth ls >/dev/null 2>&1
if mount -t tmpfs -o size=1m tmpfs "$T/hosts/Z/cache" 2>/dev/null; then
	on Z thoth ls >/dev/null 2>&1
	head -c 2M /dev/zero >"$T/hosts/Z/cache/filler" 2>/dev/null
	expect_err "full disk: set fails, saying the edit is stored all the same" 1 \
	    "stored as log/.*, but not in this host's index \(.*journal" -- \
	    env HOME="$T/hosts/Z" XDG_CACHE_HOME="$T/hosts/Z/cache" THOTH_HOST=Z thoth-set -s on-full yes \
	    < <(echo "{\"id\":\"$segv\"}")
	same "another host sees it" "$(on A thoth-index -i 2>/dev/null; props A "$segv" on-full)" 1
	rm -f "$T/hosts/Z/cache/filler"
	same "the full host catches up once there is room" "$(on Z thoth-index -i 2>/dev/null; props Z "$segv" on-full)" 1
	umount "$T/hosts/Z/cache"
else
	skip "full disk" "cannot mount a tmpfs here"
fi

# --- a frozen server: a command fails within the time-out, naming it
proxy=$(awk '$1 == "proxy" { print $2 }' "$srv/pids")
kill -STOP "$proxy"
start=$(date +%s)
expect_err "frozen server: index -i fails with the endpoint named" 1 \
    "127\.0\.0\.1:$port: no answer in 4 s \(THOTH_S3_TIMEOUT\)" -- \
    env THOTH_S3_TIMEOUT=4 HOME="$T/hosts/B" XDG_CACHE_HOME="$T/hosts/B/cache" THOTH_HOST=B thoth-index -i
took=$(($(date +%s) - start))
truth "within twice the time-out, not minutes ($took s)" test "$took" -le 8
sleep 1.2
out=$(THOTH_REFRESH=1 THOTH_S3_TIMEOUT=4 on B thoth ls "$segv" 2>"$T/stale.err")
same "ls still answers from the local index" "$(tail -n +2 <<<"$out" | cut -c1-16)" "${segv:0:16}"
same "and says once that it may be stale" "$(grep -c 'the index may be stale' "$T/stale.err")" 1
kill -CONT "$proxy"

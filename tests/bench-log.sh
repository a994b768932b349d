#!/usr/bin/env bash
# usage: tests/bench-log.sh [RECORDS [new]] -- the shared log of an S3 store (make bench): a new host, a refresh, edits from many hosts.
#
# Starts the local Swift+s3api server (tests/s3-server.sh), puts RECORDS
# (default 100000) generated records in the bucket as a snapshot
# (../shared/bench/gen-index), then measures, as simulated hosts with
# their own caches:
#   new host:  thoth-index -i on a host with nothing (LIST, GET of the
#              snapshot, decompression, sidecar, LIST of the log) and
#              its first thoth ls, against curl GETting the same bytes
#   refresh:   1000 edits written by another host as 10 log objects of
#              100, and as 1000 objects of 1; requests from the proxy log
#   edits/s:   4 hosts each running thoth-set single edits at once,
#              against 1 host alone
# With "new", only the new host is measured.  Exits 77 (skip) when the
# server cannot start.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$top/bin}
export PATH="$BIN:$PATH"
n=${1:-100000}
gen=${GEN_INDEX:-$top/../shared/bench/gen-index}
NAME=bench-log
# shellcheck source=tests/bench-s3-lib.sh
. "$top/tests/bench-s3-lib.sh"
unset THOTH_INDEX THOTH_REFRESH THOTH_LOG_WINDOW THOTH_LOG_GRACE
proxylog=$srv/log/proxy.log

on() {	# on HOST CMD...
	local h=$1
	shift
	mkdir -p "$work/hosts/$h"
	HOME=$work/hosts/$h XDG_CACHE_HOME=$work/hosts/$h/cache THOTH_HOST=$h "$@"
}
ixdir() { echo "$work/hosts/$1/cache/thoth/index/127.0.0.1_${AWS_ENDPOINT_URL##*:}_${bucket}_dumps"; }
secs() {	# secs CMD...: wall seconds of CMD, output to the null device
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l | xargs printf '%.3f'
}
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
since() { tail -n +"$(($1 + 1))" "$proxylog"; }

# Host A's index is the generated records (sorted by time); its snapshot
# is what every new host starts from.
mkdir -p "$(ixdir A)"
python3 "$gen" "$n" >"$(ixdir A)/base.ndjson"	# in time order already
printf '{"cursor":null,"refreshed":%s,"seen":{}}\n' "$(date +%s%N)" >"$(ixdir A)/log.json"
on A thoth-index -c 2>/dev/null
snap=$(s3curl "$base/$bucket?list-type=2&prefix=dumps%2Fsnapshot%2F" |
    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g')
bytes=$(s3curl -I "$base/$bucket/$snap" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')
echo "$n records: snapshot of $((bytes / 1024)) KiB (zstd), index of $(($(stat -c %s "$(ixdir A)/base.ndjson") / 1048576)) MiB"

# --- a new host, against curl GETting the snapshot, and the same records
# as one plain object
s3curl -T "$(ixdir A)/base.ndjson" "$base/$bucket/plain.ndjson" -o /dev/null
t_curl=$(secs s3curl -o "$work/snap.zst" "$base/$bucket/$snap")
t_unz=$(secs sh -c "zstd -dc '$work/snap.zst' >'$work/snap.ndjson'")
t_plain=$(secs s3curl -o "$work/plain.ndjson" "$base/$bucket/plain.ndjson")
t_new=$(secs on B thoth-index -i)
t_ls=$(secs on C thoth ls)
t_bare=$(secs on C thoth-filter -I)
echo "new host: thoth-index -i $t_new s; curl GET of the snapshot $t_curl s" \
    "($(ratio "$t_new" "$t_curl")x), + zstd -d $t_unz s" \
    "($(ratio "$t_new" "$(echo "$t_curl + $t_unz" | bc -l)")x);" \
    "curl GET of the same records plain $t_plain s ($(ratio "$t_new" "$t_plain")x)"
echo "new host: first thoth ls (refresh + $n table rows) $t_ls s; thoth-filter -I of the $n records then $t_bare s"

[ "${2:-}" != new ] || exit 0	# only the new host (for 1M records)

# --- a refresh with 1000 new edits among the records
ids=$(on A thoth-filter -I limit=1000 | jq -r .id)
edits() {	# edits TAG: one edit record per id
	local id
	for id in $ids; do printf '{"id":"%s","set":{"%s":1}}\n' "$id" "$1"; done
}
on B thoth-index -i 2>/dev/null
edits batch | split -l 100 - "$work/batch."
for f in "$work"/batch.*; do on A thoth-set <"$f" >/dev/null; done
n0=$(wc -l <"$proxylog")
t_ref=$(secs on B thoth-index -i)
echo "refresh, 1000 edits in 10 log objects: $t_ref s," \
    "$(since "$n0" | grep -c list-type) LIST, $(since "$n0" | grep -c 'GET .*/log/') GET"
edits single | while read -r e; do on A thoth-set <<<"$e" >/dev/null; done
n0=$(wc -l <"$proxylog")
t_ref1=$(secs on B thoth-index -i)
echo "refresh, 1000 edits in 1000 log objects: $t_ref1 s," \
    "$(since "$n0" | grep -c list-type) LIST, $(since "$n0" | grep -c 'GET .*/log/') GET"

# --- edits per second: 4 hosts at once against 1 host alone
some=$(head -n 25 <<<"$ids")
loop() {	# loop HOST TAG: 25 single edits, one thoth-set each
	local id
	for id in $some; do
		printf '{"id":"%s","set":{"%s":1}}\n' "$id" "$2" | on "$1" thoth-set >/dev/null
	done
}
t_one=$(secs loop H1 solo)
t0=$(date +%s.%N)
for h in H1 H2 H3 H4; do loop "$h" "four_$h" & done
wait
t_four=$(echo "$(date +%s.%N) - $t0" | bc -l)
one=$(echo "25 / $t_one" | bc -l | xargs printf '%.1f')
four=$(echo "100 / $t_four" | bc -l | xargs printf '%.1f')
echo "edits/s: 1 host $one, 4 hosts at once $four ($(ratio "$four" "$one")x)"

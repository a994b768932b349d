#!/usr/bin/env bash
# usage: tests/bench-s3.sh [SIZE_MB] -- S3 upload/download throughput of thoth vs curl on loopback (make bench).
#
# Starts the local Swift+s3api server (tests/s3-server.sh), then moves one
# file of SIZE_MB (default 1024) MiB up and down, best of ROUNDS (default 2):
#   upload:   curl -T FILE (one PUT)       vs  thoth-put (multipart, parallel)
#   download: curl -o FILE (one GET)       vs  thoth-store get KEY FILE
# and prints MB/s and thoth/curl ratios (DESIGN §7: upload >= 90% of curl -T).
# Exits 77 (skip) when the server cannot start.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$top/bin}
export PATH="$BIN:$PATH"
size_mb=${1:-1024}
rounds=${ROUNDS:-2}
NAME=bench-s3
# shellcheck source=tests/bench-s3-lib.sh
. "$top/tests/bench-s3-lib.sh"
export XDG_CACHE_HOME=$work/cache

file=$work/dump
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$file"
bytes=$(stat -c %s "$file")

# best SECONDS... : the smallest
best() { printf '%s\n' "$@" | sort -g | head -1; }
# secs CMD...: wall-clock seconds of CMD
secs() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}
put_thoth() {	# a fresh id each round, so the dump is uploaded again
	printf '{"id":"%032x","type":"core","file":"%s","size":%s,"time":1}\n' \
	    "$1" "$file" "$bytes" | thoth-put -q
}

cu=() tu=() cd=() td=()
for ((i = 1; i <= rounds; i++)); do
	cu+=("$(secs s3curl -T "$file" "$base/$bucket/curl/dump$i" -o /dev/null)")
	tu+=("$(secs put_thoth "$i")")
	cd+=("$(secs s3curl "$base/$bucket/curl/dump$i" -o "$work/got.curl")")
	rm -f "$work/got.thoth"
	td+=("$(secs thoth-store get "$(printf '%032x' "$i")/dump" "$work/got.thoth")")
	cmp -s "$file" "$work/got.thoth" || { echo "bench-s3: download differs" >&2; exit 1; }
	rm -f "$work/got.curl" "$work/got.thoth"
done

report() {	# report WHAT CURL_SECS THOTH_SECS
	awk -v w="$1" -v c="$2" -v t="$3" -v b="$bytes" 'BEGIN {
		printf "%-8s curl %7.1f MB/s  thoth %7.1f MB/s  thoth/curl %5.0f%%\n",
		    w, b / c / 1e6, b / t / 1e6, 100 * c / t }'
}
echo "bench-s3: $size_mb MiB, best of $rounds, part size ${THOTH_S3_PART_SIZE:-64M}, parallel ${THOTH_S3_PARALLEL:-4}"
report upload "$(best "${cu[@]}")" "$(best "${tu[@]}")"
report download "$(best "${cd[@]}")" "$(best "${td[@]}")"

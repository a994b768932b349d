# tests/s3.t - the S3 store against a real S3 server on loopback (Swift
# with s3api, tests/s3-server.sh): what store.t checks on the directory
# store, then multipart uploads, a proxy restarted mid-upload, resumed
# and damaged downloads, and the errors people meet (wrong secret,
# missing bucket, wrong region, no server).  Skipped when the server
# cannot start here.
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"

bucket=thoth-test
need_s3 s3 "$bucket" || exit 0
unset THOTH_S3_PART_SIZE THOTH_S3_PARALLEL THOTH_S3_TRIES THOTH_S3_ADDRESSING \
    THOTH_S3_LIMIT_RATE THOTH_S3_BACKOFF_MS AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
ix=$T/cache/thoth/index/127.0.0.1_${port}_${bucket}_dumps

# Every key of the bucket with its ETag and size, and the index files.
store_state() {
	s3curl "$base/$bucket?list-type=2" | grep -o '<Key>[^<]*</Key>[^/]*</LastModified><ETag>[^<]*</ETag><Size>[0-9]*'
	cat "$ix"/*.ndjson 2>/dev/null | md5sum
}
info() { thoth-store get "$1/info.json" | jq -c "${2:-.}"; }
indexed() { thoth-filter -I "$1" | jq -c "${2:-.}"; }	# the record, folded
uploads() { s3curl "$base/$bucket?uploads=" | grep -o '<Key>[^<]*</Key>' | sort -u | tr -d '\n'; }
# Every info.json names a dump that is there whole (size as recorded).
consistent() {
	local id rec key len
	for id in $(thoth-store ls | tr -d /); do
		rec=$(thoth-store get "$id/info.json" 2>/dev/null) || continue
		key="$id/$(jq -r '.dump | sub(".*/"; "")' <<<"$rec")"
		len=$(s3curl -I "$base/$bucket/dumps/$key" | tr -d '\r' |
		    awk 'tolower($1) == "content-length:" { print $2 }')
		[ "$len" = "$(jq -r .size <<<"$rec")" ] || echo "$id: $key has ${len:-no} bytes"
	done
}

id1=11111111111111111111111111111111
id2=22222222222222222222222222222222
id3=33333333333333333333333333333333
printf 'dump one' >"$T/core.one"
printf 'dump two' >"$T/core two"
printf 'dump three' >"$T/core.3"
rec() {	# rec ID FILE TIME CMD [SIZE]
	printf '{"id":"%s","type":"core","file":"%s","size":%s,"time":%s,"cmd":"%s"}\n' \
	    "$1" "$2" "${5:-$(stat -c %s "$2" 2>/dev/null || echo 8)}" "$3" "$4"
}
export THOTH_NOW=1700000000

# --- put
rec $id1 "$T/core.one" 300 one >"$T/in1"
out=$(thoth-put -q "$T/in1" 2>"$T/err") && rc=0 || rc=$?
same "put exits 0" "$rc" 0
same "put prints the stored record" "$(jq -c '[.id,.name,.dump,.uploaded,has("file")]' <<<"$out")" \
    "[\"$id1\",\"s3://$bucket/dumps/$id1\",\"s3://$bucket/dumps/$id1/dump\",1700000000,false]"
same "dump stored byte for byte, named by its id" "$(s3curl "$base/$bucket/dumps/$id1/dump")" "dump one"
same "its own name is kept in the record" "$(jq -r .original_name <<<"$out")" core.one
same "info.json is the record" "$(info $id1)" "$(jq -c . <<<"$out")"
same "index is a local cache under XDG_CACHE_HOME" "$(thoth-filter -I | jq -r .id)" "$id1"
same "index directory named after endpoint, bucket and prefix" "$(ls "$ix")" \
    "$(printf 'journal.ndjson\nlock')"

before=$(store_state)
expect_err "put again: already stored" 0 "core.one: already stored as $id1" -- \
    bash -c 'thoth-put "$1" >/dev/null' _ "$T/in1"
same "second put changes nothing" "$(store_state)" "$before"

rec $id2 "$T/core two" 200 two >"$T/in2"
rec $id3 "$T/core.3" 100 three >>"$T/in2"
truth "put two more (one name with a space)" thoth-put -q "$T/in2"
same "unsafe characters in dump names are replaced" \
    "$(thoth-store ls "$id2/"; indexed "$id2" .original_name)" "$(printf '%s\n' "$id2/dump" "$id2/info.json" '"core_two"')"
same "index lists oldest first" "$(thoth-filter -I | jq -r .cmd | tr '\n' ' ')" "three two one "

before=$(store_state)
expect_err "put: missing dump file" 1 "^thoth-put: $T/nope: .*No such file" -- \
    thoth-put < <(rec 44444444444444444444444444444444 "$T/nope" 1 x 8)
same "store and index unchanged after a bad put" "$(store_state)" "$before"

# --- set
expect "set a string property" 0 '"bmc"' -- \
    bash -c "echo '{\"id\":\"$id1\"}' | thoth-set -s triage bmc | jq .properties.triage"
same "the index has it" "$(indexed $id1 .properties)" '{"triage":"bmc"}'
same "info.json keeps the upload record: edits are in the log" "$(info $id1 .properties)" null
echo "{\"id\":\"$id1\"}" | thoth-set -j triage '{"category":"SMF","engineer":"bmc"}' >/dev/null
echo "{\"id\":\"$id1\"}" | thoth-set -s triage.engineer rm >/dev/null
same "set JSON, then a nested property" "$(indexed $id1 .properties.triage)" '{"category":"SMF","engineer":"rm"}'
echo "{\"id\":\"$id1\"}" | thoth-set -u triage >/dev/null
same "unset (the emptied properties go too)" "$(indexed $id1 .properties)" null
echo "{\"id\":\"$id1\"}" | thoth-set -t OS-2359 >/dev/null
same "ticket" "$(indexed $id1 .ticket)" '"OS-2359"'
echo "{\"id\":\"$id1\"}" | thoth-set -T >/dev/null
same "unticket" "$(indexed $id1 'has("ticket")')" false
printf '{"id":"%s","set":{"a":1,"b":[2]},"ticket":"MANTA-1"}\n{"id":"%s","unset":["a"]}\n' $id2 $id2 |
    thoth-set >/dev/null
same "edit records (analyzer style)" "$(indexed $id2 '[.properties,.ticket]')" '[{"b":[2]},"MANTA-1"]'
expect_err "set: unknown dump" 2 "^thoth-set: 55555555555555555555555555555555: no such dump" -- \
    thoth-set -s a b <<<'{"id":"55555555555555555555555555555555"}'
seq 1 10 | parallel -j 5 "echo '{\"id\":\"$id3\",\"set\":{\"p{}\":{}}}' | thoth-set >/dev/null"
same "10 parallel edits, none lost" "$(indexed $id3 '.properties | length')" 10
same "every edit is one log object" "$(thoth-store ls log/ | wc -l)" 20
same "index agrees with a rebuild from the store" \
    "$(thoth-filter -I | jq -S -c . | sort)" \
    "$(THOTH_INDEX=$T/agree thoth-index && THOTH_INDEX=$T/agree thoth-filter -I | jq -S -c . | sort)"

# --- index: rebuild into a fresh index, update (-i)
want=$(thoth-filter -I | jq -S -c . | sort)
echo partial | thoth-store put 44444444444444444444444444444444/core
echo analyzer | thoth-store put analyzers/a
export THOTH_INDEX=$T/fresh-index
expect_err "rebuild says what it skipped" 0 '44444444444444444444444444444444: no info.json \(unfinished upload\), skipped' -- \
    thoth-index -v
same "rebuild restores the index" "$(thoth-filter -I | jq -S -c . | sort)" "$want"
printf 'dump five' >"$T/core.5"
THOTH_INDEX=$T/other-host thoth-put -q < <(rec 55555555555555555555555555555555 "$T/core.5" 400 five) >/dev/null
expect_err "update reads only the new log object" 0 '^thoth-index: 1 new log objects, 1 records changed' -- thoth-index -iv
same "updated index has it" "$(thoth-filter -I | jq -r .cmd | tr '\n' ' ')" "three two one five "
expect_err "update again: nothing new" 0 '^thoth-index: 0 new log objects' -- thoth-index -iv
unset THOTH_INDEX

# --- store objects
echo 'echo hi' | thoth-store put analyzers/hello
same "store put/get" "$(thoth-store get analyzers/hello)" "echo hi"
same "store ls" "$(thoth-store ls analyzers/)" "$(printf 'analyzers/a\nanalyzers/hello')"
echo odd | thoth-store put 'analyzers/odd name+&=%.sh'
same "store key with space, +, &, =, %" "$(thoth-store get 'analyzers/odd name+&=%.sh')" odd
truth "store rm" thoth-store rm 'analyzers/odd name+&=%.sh'
expect_err "store: removed object is gone" 2 "no such object in s3://$bucket/dumps" -- \
    thoth-store get 'analyzers/odd name+&=%.sh'
expect_err "store: key climbing out" 1 "bad store key" -- thoth-store put ../evil </dev/null
expect_err "store: dot-dot inside key" 1 "bad store key" -- thoth-store get analyzers/../../x
expect_err "store path: not a local store" 1 "not a local store" -- thoth-store path analyzers/hello
expect_err "store path: missing object" 2 "no such object" -- thoth-store path analyzers/nope
truth "store get to a file" thoth-store get analyzers/hello "$T/hello"
same "got it whole, no temporary left" "$(cat "$T/hello"; find "$T" -maxdepth 1 -name '*.part' | wc -l)" "$(printf 'echo hi\n0')"

# --- multipart: 12 MiB in 5 MiB parts
export THOTH_S3_PART_SIZE=5242880
idb=66666666666666666666666666666666
head -c 12582912 /dev/urandom >"$T/big"
truth "put a 12 MiB dump in 5 MiB parts" thoth-put -q < <(rec $idb "$T/big" 500 big)
same "stored as a 3-part multipart object" \
    "$(s3curl -I "$base/$bucket/dumps/$idb/dump" | tr -d '\r' | grep -io 'etag: "[0-9a-f]*-[0-9]*"' | sed 's/.*-//')" '3"'
truth "get it back" thoth-store get $idb/dump "$T/big.back"
truth "byte for byte" cmp "$T/big" "$T/big.back"
same "no multipart upload left" "$(uploads)" ""

# --- downloads resume from a partial file, and are checked
etag=$(s3curl -I "$base/$bucket/dumps/$idb/dump" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
partial() {	# partial SOURCE: the first 7 MB of SOURCE as big.got.part, tagged
	head -c 7000000 "$1" >"$T/big.got.part"
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.thoth.s3", sys.argv[2].encode())' \
	    "$T/big.got.part" "$etag 5242880"
}
partial /dev/zero
expect_err "resumed download of a damaged partial file is refused" 1 "download damaged" -- \
    thoth-store get $idb/dump "$T/big.got"
partial "$T/big"
truth "resumed download completes" thoth-store get $idb/dump "$T/big.got"
truth "resumed download byte for byte" cmp "$T/big" "$T/big.got"
same "it asked for the rest only (206, 5582912 bytes)" \
    "$(grep -c "GET /$bucket/dumps/$idb/dump HTTP/1.0 206 - - - - 5582912 " "$srv/log/proxy.log")" 2

# --- the proxy restarts in the middle of an upload
restart_during() {	# restart_during ID: exit status of thoth-put of big2 as ID while the proxy restarts
	THOTH_S3_LIMIT_RATE=2M thoth-put -q < <(rec "$1" "$T/big2" 600 restart) >"$T/r.out" 2>"$T/r.err" &
	sleep 0.7
	"$TOP/tests/s3-server.sh" restart-proxy "$srv" >/dev/null 2>&1
	wait $! && echo 0 || echo $?
}
head -c 12000000 /dev/urandom >"$T/big2"
export THOTH_S3_TRIES=8	# however slowly the proxy comes back here
same "proxy restart mid-upload: retried, stored" "$(restart_during 77777777777777777777777777777777)" 0
thoth-store get 77777777777777777777777777777777/dump "$T/big2.back" 2>/dev/null
truth "after the restart, the dump is whole" cmp "$T/big2" "$T/big2.back"
export THOTH_S3_TRIES=1
same "proxy restart mid-upload, no retries: fails" "$(restart_during 88888888888888888888888888888888)" 1
same "the failure is one clear line" "$(wc -l <"$T/r.err") $(grep -Ec \
    '^thoth-put: .*big2: .*(Send failure|Recv failure|reset|Empty reply|connect|HTTP 50)' "$T/r.err")" "1 1"
unset THOTH_S3_TRIES
expect_err "failed upload published nothing" 2 "no such object" -- \
    thoth-store get 88888888888888888888888888888888/info.json
same "no multipart upload left behind" "$(uploads)" ""
same "every info.json names a whole dump" "$(consistent)" ""
unset THOTH_S3_PART_SIZE

# --- errors people meet
expect_err "wrong secret: 403 names the key id and bucket" 1 \
    "^thoth-store: store: access denied to bucket $bucket for access key id test:tester \(SignatureDoesNotMatch\)" -- \
    env AWS_SECRET_ACCESS_KEY=not-the-secret-4711 thoth-store ls
same "the secret is never printed" "$(grep -c 'not-the-secret-4711\|testing' "$T/stderr")" 0
expect_err "missing bucket" 1 "bucket no-such-bucket does not exist at http://127.0.0.1:$port\$" -- \
    env THOTH_STORE=s3://no-such-bucket/x thoth-store get analyzers/hello
expect_err "missing bucket (HEAD)" 1 "bucket no-such-bucket does not exist" -- \
    env THOTH_STORE=s3://no-such-bucket thoth-store path x
expect_err "wrong region" 1 "bucket $bucket is in region us-east-1, not eu-west-1: set AWS_REGION=us-east-1" -- \
    env AWS_REGION=eu-west-1 thoth-store ls
expect_err "no credentials" 1 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set" -- \
    env -u AWS_SECRET_ACCESS_KEY thoth-store ls
expect_err "part size below 5 MiB" 1 "THOTH_S3_PART_SIZE=1M: want 5242880 to" -- \
    env THOTH_S3_PART_SIZE=1M thoth-store ls
expect_err "no server: retried, then one line" 1 "127.0.0.1:1: .*connect.* \(5 tries\)" -- \
    env AWS_ENDPOINT_URL=http://127.0.0.1:1 THOTH_S3_BACKOFF_MS=1 thoth-store ls
expect_err "bad prefix" 1 "s3://b/../x: bad prefix" -- env THOTH_STORE=s3://b/../x thoth-store ls

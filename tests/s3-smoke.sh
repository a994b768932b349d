#!/usr/bin/env bash
# Usage: tests/s3-smoke.sh   (start local S3 server, create bucket, PUT/GET/list/multipart with curl SigV4, stop; 77 = skip)
#
# Also documents the exact curl (libcurl 7.88) invocations that work against the
# Swift s3api server from tests/s3-server.sh; thoth's C code mirrors them:
#  * SigV4 via --aws-sigv4 "aws:amz:REGION:s3" (CURLOPT_AWS_SIGV4). The access
#    key "test:tester" contains a colon, so pass credentials in the URL with the
#    colon percent-encoded (test%3Atester:testing@host) -- or, in C, use
#    CURLOPT_USERNAME / CURLOPT_PASSWORD, which are never split at a colon.
#  * libcurl 7.88 does not add x-amz-content-sha256; s3api answers 400 without
#    it. Send it yourself (and it is signed, since curl signs every x-amz-*
#    header): hex SHA-256 of the body, or UNSIGNED-PAYLOAD.
#  * Percent-encode query values before signing (prefix=dumps%2F); curl signs
#    the query as given and the server re-encodes it, so "prefix=dumps/" -> 403.
#  * Valueless sub-resources must be written with "=": "?uploads=" (curl signs
#    "uploads", the server canonicalises to "uploads=": 403 otherwise).
#  * Path-style addressing only: http://127.0.0.1:PORT/BUCKET/KEY.
#  * Multipart: every part but the last must be >= 5 MiB (EntityTooSmall).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/thoth-s3.XXXXXX")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/thoth-s3-data.XXXXXX")
cleanup() {
	"$here/s3-server.sh" stop "$dir" || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! env_lines=$("$here/s3-server.sh" start "$dir" 2>"$tmp/start.err"); then
	echo "skip: S3 test server unavailable: $(tail -n 1 "$tmp/start.err")"
	exit 77
fi
eval "$env_lines"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Credentials in the URL, colon of the access key encoded as %3A.
host=${AWS_ENDPOINT_URL#http://}
base="http://${AWS_ACCESS_KEY_ID//:/%3A}:$AWS_SECRET_ACCESS_KEY@$host"
sigv4="aws:amz:$AWS_REGION:s3"

# s3 [CURL ARGS...] URL: signed request, body-hash header UNSIGNED-PAYLOAD,
# fails (curl exit 22) on HTTP >= 400.
s3() {
	curl -fsS --aws-sigv4 "$sigv4" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

bucket=thoth-smoke
# CreateBucket: PUT /bucket
s3 -X PUT "$base/$bucket" -o /dev/null || fail "create bucket"

# PutObject with the payload's real SHA-256 (what a signed, non-streamed PUT sends).
printf 'core dump bytes %s\n' "$RANDOM" >"$tmp/obj"
sha=$(sha256sum "$tmp/obj" | cut -d' ' -f1)
curl -fsS --aws-sigv4 "$sigv4" -H "x-amz-content-sha256: $sha" \
	-T "$tmp/obj" "$base/$bucket/dumps/host1/core.1" -o /dev/null || fail "put object"

# GetObject and compare.
s3 "$base/$bucket/dumps/host1/core.1" -o "$tmp/got" || fail "get object"
cmp -s "$tmp/obj" "$tmp/got" || fail "object round-trip differs"

# ListObjectsV2 with a prefix: query value percent-encoded.
s3 -T "$tmp/obj" "$base/$bucket/other/x" -o /dev/null || fail "put other"
list=$(s3 "$base/$bucket?list-type=2&prefix=dumps%2F") || fail "list objects"
[[ $list == *"<Key>dumps/host1/core.1</Key>"* && $list != *"<Key>other/x</Key>"* ]] ||
	fail "list with prefix: $list"

# Multipart: CreateMultipartUpload (?uploads=), UploadPart x2, CompleteMultipartUpload.
key=dumps/host1/core.big
head -c $((5 * 1024 * 1024)) /dev/urandom >"$tmp/p1"
head -c 1000 /dev/urandom >"$tmp/p2"
init=$(s3 -X POST "$base/$bucket/$key?uploads=") || fail "create multipart upload"
upload_id=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' <<<"$init")
[[ -n $upload_id ]] || fail "no UploadId in: $init"
etags=()
for n in 1 2; do
	etag=$(s3 -D - -o /dev/null -T "$tmp/p$n" "$base/$bucket/$key?partNumber=$n&uploadId=$upload_id" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }') || fail "upload part $n"
	[[ -n $etag ]] || fail "no ETag for part $n"
	etags+=("$etag")
done
body="<CompleteMultipartUpload>"
for n in 1 2; do
	body+="<Part><PartNumber>$n</PartNumber><ETag>${etags[n - 1]}</ETag></Part>"
done
body+="</CompleteMultipartUpload>"
done_xml=$(s3 -X POST -H "Content-Type: application/xml" --data-binary "$body" \
	"$base/$bucket/$key?uploadId=$upload_id") || fail "complete multipart upload"
[[ $done_xml == *"<CompleteMultipartUploadResult"* ]] || fail "complete: $done_xml"
cat "$tmp/p1" "$tmp/p2" >"$tmp/whole"
s3 "$base/$bucket/$key" -o "$tmp/got" || fail "get multipart object"
cmp -s "$tmp/whole" "$tmp/got" || fail "multipart object differs"

echo "s3-smoke: ok"

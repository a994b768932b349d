# tests/bench-s3-lib.sh - sourced by tests/bench-s3.sh and tests/bench-log.sh:
# a scratch directory ($work), the local S3 server of tests/s3-server.sh
# in it (stopped on exit; exit 77 when it cannot start), s3curl, and the
# bucket $bucket made, with THOTH_STORE in it.  Needs $top and NAME set.
# shellcheck shell=bash disable=SC2154
work=$(mktemp -d "${TMPDIR:-/tmp}/thoth-$NAME.XXXXXX")
srv=$work/srv
cleanup() {
	"$top/tests/s3-server.sh" stop "$srv" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

if ! env_lines=$("$top/tests/s3-server.sh" start "$srv" 2>"$work/start.err"); then
	echo "$NAME: skipped: $(tail -n 1 "$work/start.err")" >&2
	exit 77
fi
eval "$env_lines"
base="http://${AWS_ACCESS_KEY_ID//:/%3A}:$AWS_SECRET_ACCESS_KEY@${AWS_ENDPOINT_URL#http://}"
s3curl() {
	curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
	    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
bucket=thoth-bench
s3curl -X PUT "$base/$bucket" -o /dev/null
export THOTH_STORE=s3://$bucket/dumps

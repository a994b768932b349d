# tests/lib.sh - sourced by every tests/*.t (see tests/run).
#
# A test file is a bash script; each check prints one line,
# "ok - NAME", "not ok - NAME" (with details on the following lines,
# indented) or "skip - NAME: why".  tests/run counts them.
#
# Environment from tests/run: BIN (the tools under test), TOP (source
# tree), TMPDIR_T (a scratch directory of this test file).

set -u
export PATH="$BIN:$PATH"
export LC_ALL=C
T=$TMPDIR_T
CORES=$TOP/tests/tmp/cores
export THOTH_STORE="$T/store"
unset THOTH_INDEX

pass() { echo "ok - $1"; }
skip() { echo "skip - $1: $2"; }
fail() {
	echo "not ok - $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/    /'
	return 0
}

# expect NAME STATUS EXPECTED -- CMD...: runs CMD (stdin inherited),
# checks its exit status and that stdout is exactly EXPECTED.
expect() {
	local name=$1 status=$2 want=$3 got rc
	shift 4
	got=$("$@" 2>"$T/stderr") && rc=0 || rc=$?
	if [ "$rc" != "$status" ]; then
		fail "$name" "exit $rc, wanted $status" "stderr: $(head -c 600 "$T/stderr")"
	elif [ "$got" != "$want" ]; then
		fail "$name" "stdout differs:" "$(diff <(echo "$want") <(echo "$got") | head -20)"
	else
		pass "$name"
	fi
}

# expect_err NAME STATUS REGEX -- CMD...: exit status, and one stderr
# line matching REGEX (extended), and nothing on stdout.
expect_err() {
	local name=$1 status=$2 re=$3 got rc
	shift 4
	got=$("$@" 2>"$T/stderr") && rc=0 || rc=$?
	if [ "$rc" != "$status" ]; then
		fail "$name" "exit $rc, wanted $status" "stderr: $(head -c 600 "$T/stderr")"
	elif ! grep -Eq -- "$re" "$T/stderr"; then
		fail "$name" "stderr does not match /$re/:" "$(head -c 600 "$T/stderr")"
	elif [ -n "$got" ]; then
		fail "$name" "unexpected stdout:" "$(echo "$got" | head -5)"
	else
		pass "$name"
	fi
}

# same NAME A B: A and B are equal strings.
same() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got:    $2" "wanted: $3"; fi
}

# truth NAME CMD...: CMD succeeds.
truth() {
	local name=$1; shift
	if "$@" >"$T/out" 2>&1; then pass "$name"; else fail "$name" "$(head -c 600 "$T/out")"; fi
}

# need_cores: makes the real cores once (tests/mkcores.sh); returns 1
# after printing a skip line when this kernel cannot make them.
need_cores() {
	local rc=0
	"$TOP/tests/mkcores.sh" "$CORES" 2>"$T/mkcores.err" || rc=$?
	if [ "$rc" = 77 ]; then
		skip "${1:-cores}" "$(cat "$T/mkcores.err")"
		return 1
	elif [ "$rc" != 0 ]; then
		fail "making cores" "$(cat "$T/mkcores.err")"
		return 1
	fi
}

# Snapshot of the store and index: a listing with sizes and checksums.
store_state() {
	(cd "$THOTH_STORE" 2>/dev/null && find . -type f -print0 | sort -z |
	    xargs -0r md5sum) || true
}

# s3curl ARGS...: a request signed by curl itself, the tests' oracle.
s3curl() {
	curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
	    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# need_s3 NAME BUCKET: the real S3 server of tests/s3-server.sh for this
# test file (stopped when it exits), with BUCKET made and THOTH_STORE set
# to s3://BUCKET/dumps; sets srv, port and base (the URL with the
# credentials, for s3curl).  Returns 1 after a skip line if it cannot start.
need_s3() {
	local name=$1 bucket=$2 env_lines
	srv=$T/s3srv
	if ! "$TOP/tests/s3-server.sh" install >"$T/s3.err" 2>&1 ||
	    ! env_lines=$("$TOP/tests/s3-server.sh" start "$srv" 2>"$T/s3.err"); then
		skip "$name" "$(tail -n 1 "$T/s3.err")"
		return 1
	fi
	trap '"$TOP/tests/s3-server.sh" stop "$srv" >/dev/null 2>&1' EXIT
	eval "$env_lines"
	# shellcheck disable=SC2034	# for the callers
	port=${AWS_ENDPOINT_URL##*:}
	base="http://${AWS_ACCESS_KEY_ID//:/%3A}:$AWS_SECRET_ACCESS_KEY@${AWS_ENDPOINT_URL#http://}"
	s3curl -f -X PUT "$base/$bucket" -o /dev/null
	export THOTH_STORE=s3://$bucket/dumps XDG_CACHE_HOME=$T/cache
}

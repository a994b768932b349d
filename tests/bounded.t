#!/usr/bin/env bash
# tests/bounded.t - analyzers bounded (issue 13): values of any size up
# to thoth-set's limit travel in files, not argv (the shipped backtrace
# analyzer on a real 401-thread core); an edit that fails fails the run
# and does not mark the dump analyzed; THOTH_ANALYZER_TIMEOUT and
# THOTH_ANALYZER_OUTPUT_MAX; a hung autoanalyzer under cron ingest; and
# SIGTERM to thoth stops its children and removes its temporaries.
# shellcheck shell=bash disable=SC2016
. "$TOP/tests/lib.sh"
need_cores bounded || exit 0
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN THOTH_ANALYZER_TIMEOUT THOTH_ANALYZER_OUTPUT_MAX
export THOTH_NOW='' THOTH_INGEST_LOCK="$T/ingest.lock" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
segv=$(thoth-hash -i "$CORES/core.segv")
thoth upload --no-auto "$CORES/core.segv" 2>/dev/null
# gone PID...: waits (10 s at most) until none of the processes is left.
gone() {
	local _ p left
	for _ in $(seq 1 200); do
		left=
		for p in "$@"; do [ -e "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat")" != Z ] && left=1; done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- 6. big values: thoth set from stdin, thoth_set in an analyzer.
head -c 300000 /dev/urandom | base64 -w0 >"$T/big"
truth "thoth set NAME < file of 400 KB" bash -c 'thoth set "$1" big <"$2"' _ "$segv" "$T/big"
same "stored whole" "$(thoth info "$segv" | jq -j .properties.big | cmp - "$T/big" && echo same)" same
printf '{"k": "%s"}' "$(cat "$T/big")" >"$T/big.json"
truth "thoth set NAME < JSON of 400 KB" bash -c 'thoth set "$1" bigjson <"$2"' _ "$segv" "$T/big.json"
same "stored as JSON" "$(thoth info "$segv" | jq -j .properties.bigjson.k | cmp - "$T/big" && echo same)" same

printf 'thoth_set fromanalyzer <"%s"\n' "$T/big" | thoth analyzer bigset 2>/dev/null
expect_err "analyzer thoth_set of 400 KB" 0 "ran bigset on 1 dumps, 0 failed" -- thoth analyze "$segv" bigset
same "stored whole" "$(thoth info "$segv" | jq -j .properties.fromanalyzer | cmp - "$T/big" && echo same)" same

head -c 1100000 /dev/zero | tr '\0' x >"$T/huge"
printf 'thoth_set toobig <"%s"\necho done\n' "$T/huge" | thoth analyzer toobig 2>/dev/null
out=$(thoth analyze "$segv" toobig 2>"$T/stderr") && rc=0 || rc=$?
same "an edit over the limit fails the run" "$rc" 1
truth "and says why" grep -q "toobig: value over 1 MiB" <<<"$out"
same "the dump is not marked analyzed by it" "$(thoth info "$segv" | jq -c '.analyzed.toobig')" null

# The shipped backtrace analyzer on a real core of 401 threads.
cc -O0 -g -pthread -o "$T/many-threads" "$TOP/tests/fixtures/many-threads.c"
mkdir -p "$T/crash"
{ (cd "$T/crash" && ulimit -c unlimited && "$T/many-threads" 400) >/dev/null 2>&1; } 2>/dev/null
core=$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)
if [ -n "$core" ]; then
	many=$(thoth-hash -i "$core")
	thoth upload --no-auto "$core" 2>/dev/null
	thoth analyzer backtrace <"$TOP/analyzers/backtrace" 2>/dev/null
	expect_err "backtrace of 401 threads" 0 "ran backtrace on 1 dumps, 0 failed" -- \
	    bash -c 'thoth analyze "$1" backtrace >/dev/null' _ "$many"
	same "every thread, as eu-stack counts them" "$(thoth info "$many" | jq '.properties.backtrace | length')" \
	    "$(eu-stack --core "$core" 2>/dev/null | grep -c '^TID ')"
	truth "the value is over 128 KiB (the argv limit it used to hit)" \
	    test "$(thoth info "$many" | jq -c .properties.backtrace | wc -c)" -gt 131072
else
	skip "backtrace of 401 threads" "no core from many-threads"
fi

# --- 7. time limit and output cap.
printf 'echo started\nsleep 1000 &\necho $! >"%s"\nwait\n' "$T/child" | thoth analyzer hang 2>/dev/null
start=$SECONDS
out=$(THOTH_ANALYZER_TIMEOUT=2 thoth analyze "$segv" hang 2>"$T/stderr") && rc=0 || rc=$?
same "a hung analyzer is stopped at THOTH_ANALYZER_TIMEOUT and fails" "$rc $((SECONDS - start < 20))" "1 1"
truth "its output says so" grep -q "hang: killed after 2 s (THOTH_ANALYZER_TIMEOUT)" <<<"$out"
truth "its children are gone" gone "$(cat "$T/child")"
same "recorded as run, exit 124 (not run again for ever)" "$(thoth info "$segv" | jq -c .analyzed.hang.exit)" 124

printf 'yes thoth | head -c 5000000\necho alive >done.txt; thoth_set capped "$(cat done.txt)"\n' | thoth analyzer chatty 2>/dev/null
out=$(THOTH_ANALYZER_OUTPUT_MAX=1000 thoth analyze "$segv" chatty 2>"$T/stderr") && rc=0 || rc=$?
same "output over THOTH_ANALYZER_OUTPUT_MAX is cut, the analyzer runs on" "$rc $(wc -c <<<"$out") $(thoth info "$segv" | jq -r .properties.capped)" \
    "0 1001 alive"
expect_err "a bad setting is refused" 1 "must be numbers" -- \
    env THOTH_ANALYZER_TIMEOUT=soon thoth-analyze-one hang "$segv"

# --- 7. a hung autoanalyzer under cron ingest: the dumps are stored,
# the run ends by its deadline, the next run is not locked out.
printf 'sleep 1000\n' | thoth autoanalyzers upload stuck 2>/dev/null
D=$T/dumps
mkdir -p "$D" && cp "$CORES/core.abrt" "$CORES/core.sh" "$D/"
start=$SECONDS
thoth ingest --settle 0 --deadline 5 "$D" 2>"$T/stderr" >/dev/null && rc=0 || rc=$?
same "ingest with a hung autoanalyzer ends by its deadline" "$((SECONDS - start < 30))" 1
truth "and stored the dumps" grep -q "2 new, 2 uploaded" "$T/stderr"
same "it reports the failure" "$rc" 1 || cat "$T/stderr" >&2
thoth ingest --settle 0 "$D" 2>"$T/stderr" >/dev/null
truth "the next run is not locked out" grep -q "^thoth ingest: 2 found, 0 new" "$T/stderr"
thoth autoanalyzers remove stuck 2>/dev/null

# --- SIGTERM to thoth: its children stop, its temporaries go.
printf 'sleep 1000 &\necho $! >"%s"\nwait\n' "$T/child2" | thoth analyzer hang2 2>/dev/null
rm -f "$T/child2"
setsid thoth analyze "$segv" hang2 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$T/child2" ] && break; sleep 0.05; done
kill -TERM "$pid"
truth "thoth exits on SIGTERM" gone "$pid"
truth "the analyzer's children are gone" gone "$(cat "$T/child2")"
for _ in $(seq 1 200); do pgrep -s "$pid" >/dev/null || break; sleep 0.05; done
same "no process of the run is left" "$(pgrep -s "$pid" | wc -l)" 0
same "no temporaries left" "$(find "$TMPDIR" -mindepth 1 | head -n 3)" ""

# SIGTERM to a cron ingest held up by a hung autoanalyzer (as cron's
# own time-out sends it): it ends, leaves nothing, and the lock is free.
printf 'sleep 1000\n' | thoth autoanalyzers upload stuck2 2>/dev/null
D2=$T/dumps2
mkdir -p "$D2" && cp "$CORES/core.gcore" "$D2/"
gid=$(thoth-hash -i "$D2/core.gcore")
setsid thoth ingest --settle 0 "$D2" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do pgrep -s "$pid" -f 'sleep 1000' >/dev/null && break; sleep 0.05; done
truth "the dump was stored before the hung autoanalyzer (the state under test)" test -f "$THOTH_STORE/$gid/info.json"
kill -TERM "$pid"
truth "ingest exits on SIGTERM" gone "$pid"
for _ in $(seq 1 200); do pgrep -s "$pid" >/dev/null || break; sleep 0.05; done
same "no process of the run is left" "$(pgrep -s "$pid" | wc -l)" 0
same "no temporaries left" "$(find "$TMPDIR" -mindepth 1 | head -n 3)" ""
thoth autoanalyzers remove stuck2 2>/dev/null
thoth ingest --settle 0 "$D2" 2>"$T/stderr" >/dev/null
truth "the next run is not locked out" grep -q "^thoth ingest: 1 found, 0 new" "$T/stderr"

# tests/analyze.t - thoth analyze, analyzer(s), debug and the shipped
# analyzers, on real cores, with eu-stack and gdb as oracles.

. "$TOP/tests/lib.sh"
need_cores analyze || exit 0

thoth upload "$CORES"/core.segv "$CORES"/core.abrt "$CORES"/core.sh 2>/dev/null
segv=$(thoth object "$CORES/core.segv")
abrt=$(thoth object "$CORES/core.abrt")

# --- analyzer, analyzers
cat >"$T/diag" <<'ANALYZER'
# an analyzer using every function
[ "$THOTH_TYPE" = core ] || exit 0
[ -f "$THOTH_DUMP" ] && [ -f "$THOTH_INFO" ] || { echo "no dump"; exit 3; }
[ "$(jq -r .id "$THOTH_INFO")" = "$THOTH_NAME" ] || exit 4
[ -z "$(ls)" ] || exit 5		# a fresh, empty directory
touch scratch
thoth_set cmd_seen "$(jq -r .cmd "$THOTH_INFO")"
echo '{"a": [1, 2]}' | thoth_set json_value
thoth_set gone soon
thoth_unset gone
if jq -e '.stack[]? | select(test("crash_here"))' "$THOTH_INFO" >/dev/null; then
	thoth_ticket DIAG-1
	echo "$THOTH_NAME: diagnosed"
fi
exit 0
ANALYZER
expect_err "analyzer stores stdin" 0 "added analyzer 'diag'" -- thoth analyzer diag <"$T/diag"
same "analyzers lists it" "$(thoth analyzers)" "analyzers/diag"
expect_err "analyzer with ../ in its name is refused" 1 "bad analyzer name" -- thoth analyzer ../x </dev/null

# --- analyze
out=$(thoth analyze "" diag 2>"$T/err") && rc=0 || rc=$?
same "analyze exits 0" "$rc" 0
same "analyze shows output" "$out" "$segv: diagnosed"
same "analyze summary" "$(tail -n 1 "$T/err")" "thoth: ran diag on 3 dumps, 0 failed"
same "thoth_set from analyzers" "$(thoth info "$segv" | jq -c '.properties')" \
    '{"cmd_seen":"segv","json_value":{"a":[1,2]}}'
same "thoth_ticket from analyzers" "$(thoth ls ticket=DIAG-1 | tail -n +2 | cut -c1-16)" "${segv:0:16}"
same "provenance of a property" "$(thoth info "$segv" | jq -r '.provenance.properties.cmd_seen.analyzer')" diag
same "provenance of the ticket" \
    "$(thoth info "$segv" | jq -r '.provenance.ticket.hash')" "$(sha256sum <"$T/diag" | cut -c1-16)"
same "provenance is queryable" "$(thoth ls provenance.ticket.analyzer=diag | wc -l)" 2
same "every dump records the run" "$(thoth ls analyzed.diag.exit=0 | wc -l)" 4
expect_err "re-run skips dumps analyzed by this version" 0 "3 of 3 dumps already analyzed" -- thoth analyze "" diag
echo "# v2" >>"$T/diag"
thoth analyzer diag <"$T/diag" 2>/dev/null
expect_err "a new version runs again" 0 "ran diag on 3 dumps" -- bash -c 'thoth analyze "" diag >/dev/null'
expect_err "-f forces a re-run" 0 "ran diag on 1 dumps" -- bash -c "thoth analyze -f $segv diag >/dev/null"
expect_err "analyze: unknown analyzer" 2 "analyzers/nope: no such object" -- thoth analyze "" nope
expect_err "analyze: no matching dump" 2 "." -- thoth analyze cmd=nothing diag

printf 'echo "$THOTH_NAME out"\n[ "$THOTH_NAME" != %s ]\n' "$segv" >"$T/fails"
thoth analyzer fails <"$T/fails" 2>/dev/null
out=$(thoth analyze "" fails 2>"$T/err") && rc=0 || rc=$?
same "exit status counts failed analyzers" "$rc" 1
truth "failure is named" grep -q "thoth: $segv: analyzer fails exited 1" "$T/err"
same "output in time order (as ls)" "$(echo "$out" | cut -c1-16)" \
    "$(thoth ls | tail -n +2 | cut -c1-16)"
out=$(thoth analyze -f --stream -j 1 "" fails 2>/dev/null)
same "--stream shows every output" "$(echo "$out" | wc -l)" 3

# --- edits from parallel analyzers: none lost
printf 'for i in $(seq 1 50); do thoth_set "p$i" "$i"; done\n' >"$T/many"
thoth analyzer many <"$T/many" 2>/dev/null
thoth analyze -j 8 "" many >/dev/null 2>&1
same "150 edits from parallel analyzers all landed" \
    "$(thoth-filter -I | jq -s '[.[].properties | to_entries[] | select(.key | test("^p[0-9]+$"))] | length')" 150
same "index agrees with the store" "$(thoth-filter -I | jq -c . | sort)" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"

# --- shipped analyzers
for a in backtrace systemd-unit stack-ticket; do
	thoth analyzer "$a" <"$TOP/analyzers/$a" 2>/dev/null
done
thoth analyze "$abrt" backtrace >/dev/null 2>&1
same "backtrace: one entry per thread (eu-stack)" \
    "$(thoth info "$abrt" | jq '.properties.backtrace | length')" \
    "$(eu-stack --core "$CORES/core.abrt" -e "$CORES/abrt-threads" 2>/dev/null | grep -c '^TID')"
same "backtrace: the aborting thread's frames (eu-stack)" \
    "$(thoth info "$abrt" | jq -r '.properties.backtrace[0].frames[]' | head -4 | tr '\n' ' ')" \
    "$(eu-stack --core "$CORES/core.abrt" -e "$CORES/abrt-threads" 2>/dev/null |
        grep '^#' | head -n 4 | sed 's/^#[0-9]* *0x[0-9a-f]* *//' | tr '\n' ' ')"
thoth analyze "" stack-ticket >/dev/null 2>&1
same "stack-ticket diagnoses by stack" "$(thoth ls ticket=EXAMPLE-1 | tail -n +2 | cut -c1-16)" "${segv:0:16}"

# systemd-unit: a crash of a process as systemd would have started it
mkdir -p "$T/svc/run" && cp "$CORES/segv" "$T/svc/segv-svc"
{ (cd "$T/svc/run" && ulimit -c unlimited && INVOCATION_ID=0123456789abcdef0123456789abcdef \
    SYSTEMD_UNIT=demo.service ../segv-svc) >/dev/null 2>&1; } 2>/dev/null
core=$(find "$T/svc/run" -name 'core*' | head -n 1)
if [ -n "$core" ]; then
	thoth upload "$core" 2>/dev/null
	svc=$(thoth object "$core")
	thoth analyze "$svc" systemd-unit >/dev/null 2>&1
	same "systemd-unit reads the environment (gdb)" \
	    "$(thoth info "$svc" | jq -c '[.properties.invocation_id, .properties.systemd_unit]')" \
	    '["0123456789abcdef0123456789abcdef","demo.service"]'
else
	skip "systemd-unit" "no core from the service-like crash"
fi

# --- debug, driven through a here-document
echo 'echo first' | thoth analyzer dbg 2>/dev/null
thoth debug "$segv" dbg >"$T/out" 2>"$T/err" <<'SESSION'
thoth_gdb -batch -ex bt 2>/dev/null | grep -o crash_here | head -n 1
echo 'echo edited' >>"$THOTH_ANALYZER"
thoth_analyze
thoth_set from_debug yes
exit 0
SESSION
same "debug: gdb ready on the dump" "$(head -n 1 "$T/out")" crash_here
same "debug: thoth_analyze runs the analyzer" "$(tail -n 1 "$T/out")" edited
same "debug: edits applied at exit" "$(thoth info "$segv" | jq -r .properties.from_debug)" yes
same "debug: changed analyzer saved on exit 0" "$(thoth-store get analyzers/dbg | tail -n 1)" "echo edited"
thoth debug "$segv" dbg >/dev/null 2>&1 <<'SESSION'
echo 'echo not saved' >>"$THOTH_ANALYZER"
exit 3
SESSION
same "debug: not saved on non-zero exit" "$(thoth-store get analyzers/dbg | tail -n 1)" "echo edited"
expect_err "debug: ambiguous spec" 1 "matches [0-9]+ dumps; debug takes one" -- thoth debug type=core

# --- many hosts: GNU parallel over ssh to a key-only sshd on 127.0.0.1
if "$TOP/tests/sshd.sh" install 2>"$T/sshd.err" &&
    login=$("$TOP/tests/sshd.sh" start "$T/sshd" 2>>"$T/sshd.err"); then
	echo "2/$login" >"$T/hosts"
	printf 'thoth_set via "${SSH_CONNECTION:+ssh}"\necho "$THOTH_NAME via ssh"\n' >"$T/remote"
	thoth analyzer remote <"$T/remote" 2>/dev/null
	out=$(THOTH_REMOTE_BIN="$BIN" thoth analyze --hosts "$T/hosts" type=core remote 2>"$T/err")
	same "--hosts: every dump analyzed" "$(wc -l <<<"$out")" "$(thoth ls type=core | tail -n +2 | wc -l)"
	same "--hosts: analyzers ran over ssh" "$(thoth ls via=ssh | tail -n +2 | wc -l)" "$(wc -l <<<"$out")"
	"$TOP/tests/sshd.sh" stop "$T/sshd"
else
	skip "analyze --hosts" "no sshd on 127.0.0.1: $(tr '\n' ' ' <"$T/sshd.err")"
fi

# --- autoanalyzers: declared once, run on every upload in dependency order
printf 'thoth_set first "$(date +%%s%%N)"\n' | thoth autoanalyzers upload first -v 2 -p first 2>/dev/null
printf 'jq -e .properties.first "$THOTH_INFO" >/dev/null || exit 9\nthoth_set second done\n' |
    thoth autoanalyzers upload second -d first -p second 2>/dev/null
same "autoanalyzers ls in dependency order" \
    "$(thoth autoanalyzers ls | jq -r '"\(.name) \(.version) \(.depends | join(","))"' | paste -sd' ')" \
    "first 2  second 1 first"
expect_err "autoanalyzers: a cycle is refused, naming it" 1 "dependency cycle: .*first.*second|dependency cycle: .*second.*first" -- \
    bash -c 'echo true | thoth autoanalyzers upload first -d second'
expect_err "autoanalyzers: unknown dependency" 1 "depends on 'nope'" -- \
    bash -c 'echo true | thoth autoanalyzers upload third -d nope'
expect_err "autoanalyzers: removing a dependency is refused" 1 "first: needed by second" -- \
    thoth autoanalyzers remove first
same "dryrun says what would run" "$(thoth autoanalyzers dryrun "$abrt")" \
    "$(printf 'first: would run on 1 dumps\nsecond: would run on 1 dumps')"
{ (mkdir -p "$T/auto" && cd "$T/auto" && ulimit -c unlimited && "$CORES/segv" 1 2 3) >/dev/null 2>&1; } 2>/dev/null
auto=$(find "$T/auto" -name 'core*' | head -n 1)
thoth upload "$auto" >/dev/null 2>&1
autoid=$(thoth object "$auto")
same "upload ran both autoanalyzers, in order" \
    "$(thoth info "$autoid" | jq -c '[.properties.second, (.analyzed | keys)]')" '["done",["first","second"]]'
same "dryrun after upload: nothing left" "$(thoth autoanalyzers dryrun "$autoid")" \
    "$(printf 'first: would run on 0 dumps\nsecond: would run on 0 dumps')"
truth "autoanalyzers remove" bash -c 'thoth autoanalyzers remove second && thoth autoanalyzers remove first'
same "none left" "$(thoth autoanalyzers ls)" ""

#!/usr/bin/env bash
# tests/report.t - thoth-report: counts by field, and the table of thoth ls.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"

FIX=$TOP/tests/fixtures/records.ndjson
STACK1='["node`crash_here+0x14","node`main+0x2d","libc.so.6`__libc_start_call_main+0x7a"]'
STACK2='["libc.so.6`__pthread_kill_implementation+0x11c","libc.so.6`abort+0xd3","svc.startd`utmpx_postfork+0x44"]'

# esc STRING: STRING with JSON's backslashes, for the inside of a key.
esc() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\"/\\\"}"
}

# report NAME STATUS WANT ARGS...: thoth-report ARGS over the fixture.
report() {
	local name=$1 status=$2 want=$3
	shift 3
	expect "$name" "$status" "$want" -- thoth-report "$@" <"$FIX"
}

# Counts: most frequent first, then by value; 2-space indented JSON.
report "count by cmd" 0 '{
  "node": 3,
  "undefined": 2,
  "$(touch x)": 1,
  "a*b": 1,
  "orphan": 1,
  "python3": 1,
  "svc.configd": 1,
  "svc.startd": 1,
  "svcs": 1
}' cmd
report "count by type" 0 '{
  "core": 11,
  "crash": 1
}' type
report "count by a nested property" 0 '{
  "undefined": 10,
  "bmc": 1,
  "rm": 1
}' triage.engineer
report "properties. spelled out" 0 '{
  "undefined": 10,
  "bmc": 1,
  "rm": 1
}' properties.triage.engineer
report "count by an object, as compact JSON" 0 '{
  "undefined": 10,
  "{\"engineer\":\"bmc\",\"category\":\"SMF\"}": 1,
  "{\"engineer\":\"rm\"}": 1
}' triage
report "a stack counts as one value" 0 "{
  \"undefined\": 8,
  \"$(esc "$STACK2")\": 2,
  \"$(esc "$STACK1")\": 2
}" stack
report "numbers and booleans by their JSON text" 0 '{
  "undefined": 11,
  "true": 1
}' flag
report "integer field" 0 '{
  "1699999000": 2,
  "1690000000": 1,
  "1698000000": 1,
  "1699000000": 1,
  "1699100000": 1,
  "1699395000": 1,
  "1699395100": 1,
  "1699800000": 1,
  "1699990000": 1,
  "1699999100": 1,
  "undefined": 1
}' time
report "a field nobody has" 0 '{
  "undefined": 12
}' nosuch
expect "no records: an empty object" 0 '{}' -- thoth-report cmd </dev/null
expect "-f file, twice" 0 '{
  "crash": 2
}' -- thoth-report -f <(grep '"type":"crash"' "$FIX") \
    -f <(grep '"type":"crash"' "$FIX") type
printf '%s\n' '{"cmd":"a\"b\\c"}' '{"cmd":"tab\there"}' '{"cmd":"a\"b\\c"}' >"$T/odd"
expect "values are escaped as JSON keys" 0 '{
  "a\"b\\c": 2,
  "tab\there": 1
}' -- thoth-report -f "$T/odd" cmd
{ head -2 "$FIX"; echo 'garbage'; sed -n 3p "$FIX"; } >"$T/broken"
expect "a line that does not parse is skipped" 1 '{
  "node": 1,
  "svc.configd": 1,
  "svc.startd": 1
}' -- thoth-report cmd <"$T/broken"
truth "and reported with its line" grep -q '^thoth-report: -:3: parse error' "$T/stderr"
expect_err "no field" 1 '^usage: thoth-report \[-I \| -f file \.\.\.\] \[-s spec\]\.\.\. field$' \
    -- thoth-report </dev/null
expect_err "two fields" 1 '^usage: thoth-report' -- thoth-report cmd type </dev/null
expect_err "unknown option" 1 '^usage: thoth-report' -- thoth-report -x cmd </dev/null
expect "missing file: still a report" 1 '{}' -- thoth-report -f /nonexistent/r cmd
truth "missing file: reported" \
    grep -q '^thoth-report: /nonexistent/r: No such file or directory$' "$T/stderr"

# The table of thoth ls.
report "table" 0 'NAME             TYPE  TIME                NODE/CMD         TICKET
0a1b2c3d4e5f6071 core  2023-11-14T19:26:40 node             OS-2359
ab1200aa5e1c0d2b core  2023-11-12T14:40:00 svc.startd       -
ab12ff0b4c3d2e1f core  2023-11-04T12:13:20 svc.configd      OS-1
ab13001122334455 core  2023-10-22T18:40:00 node             -
c0ffee00deadbeef crash 2023-07-22T04:26:40 95SY9R1          OS-7
d00d0011aabbccdd core  2023-11-14T21:56:40 -                -
e1e1e1e1e1e1e1e1 core  2023-11-14T21:56:40 $(touch x)       -
f00f00aa11bb22cc core  2023-11-14T21:58:20 a*b              -
1234abcd1234abcd core  2023-11-07T22:10:00 svcs             -
5555000011112222 core  2023-11-07T22:11:40 node             OS-2359
-                core  2023-11-03T08:26:40 orphan           -
99990000aaaabbbb core  -                   python3          -' -t
report "table with extra fields" 0 'NAME             TYPE  TIME                NODE/CMD         TICKET           PLATFORM         TRIAGE.ENGINEER  FLAG
0a1b2c3d4e5f6071 core  2023-11-14T19:26:40 node             OS-2359          5.15.0-91-generic bmc              -
ab1200aa5e1c0d2b core  2023-11-12T14:40:00 svc.startd       -                5.15.0-91-generic -                -
ab12ff0b4c3d2e1f core  2023-11-04T12:13:20 svc.configd      OS-1             6.1.0-18-amd64   rm               -
ab13001122334455 core  2023-10-22T18:40:00 node             -                5.15.0-91-generic -                -
c0ffee00deadbeef crash 2023-07-22T04:26:40 95SY9R1          OS-7             6.1.0-18-amd64   -                -
d00d0011aabbccdd core  2023-11-14T21:56:40 -                -                -                -                -
e1e1e1e1e1e1e1e1 core  2023-11-14T21:56:40 $(touch x)       -                6.1.0-18-amd64   -                -
f00f00aa11bb22cc core  2023-11-14T21:58:20 a*b              -                6.1.0-18-amd64   -                -
1234abcd1234abcd core  2023-11-07T22:10:00 svcs             -                5.15.0-91-generic -                true
5555000011112222 core  2023-11-07T22:11:40 node             OS-2359          5.15.0-91-generic -                -
-                core  2023-11-03T08:26:40 orphan           -                -                -                -
99990000aaaabbbb core  -                   python3          -                -                -                -' \
    -t platform triage.engineer flag
expect "table: arrays and objects as compact JSON" 0 "NAME             TYPE  TIME                NODE/CMD         TICKET           STACK
ab13001122334455 core  2023-10-22T18:40:00 node             -                $STACK1" \
    -- thoth-report -t stack < <(grep ab1300 "$FIX")
expect "table: no records, a header" 0 \
    "NAME             TYPE  TIME                NODE/CMD         TICKET" \
    -- thoth-report -t </dev/null
printf '%s\n' '{"id":"abc","type":"core","cmd":"a\tb\nc","ticket":"T-1","time":-1}' \
    '{"type":"weird","cmd":"x","node":"n","time":"yesterday","ticket":7}' \
    '{"type":"crash","cmd":"x","time":99999999999999999}' >"$T/odd-table"
expect "table: odd records" 0 'NAME             TYPE  TIME                NODE/CMD         TICKET
abc              core  1969-12-31T23:59:59 a?b?c            T-1
-                weird -                   x                7
-                crash -                   -                -' \
    -- thoth-report -t -f "$T/odd-table"

# Times in the table are UTC, as date(1) prints them.
while IFS= read -r line; do
	t=$(sed -nE 's/.*"time":([0-9]+).*/\1/p' <<<"$line")
	[ -n "$t" ] || continue
	got=$(printf '%s\n' "$line" | thoth-report -t | sed -n '2s/^.\{23\}\(.\{19\}\).*/\1/p')
	want=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S)
	same "table time of $t" "$got" "$want"
done <"$FIX"

#!/usr/bin/env bash
# tests/filter.t - thoth-filter: every token of the spec language and every error.
# Values in single quotes are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"

FIX=$TOP/tests/fixtures/records.ndjson
export THOTH_NOW=1700000000	# the fixture's "uploaded" times count back from it
ALL="0a1b2c ab1200 ab12ff ab1300 c0ffee d00d00 e1e1e1 f00f00 1234ab 555500 - 999900"
printf 'this is not JSON\n' >"$T/garbage"

# names: the records on stdin as the first 6 digits of their ids ("-"
# for a record without one), on one line.
names() {
	sed -E 's/^\{"id":"([0-9a-f]{6}).*/\1/; t; s/.*/-/' | tr '\n' ' ' |
	    sed 's/ $//'
}

# kept ARGS...: the names of the records thoth-filter ARGS keeps.
kept() {
	local rc=0
	thoth-filter "$@" >"$T/filter.out" || rc=$?
	names <"$T/filter.out"
	return "$rc"
}

# filtered ARGS...: the same, of the fixture's records.
filtered() {
	kept "$@" <"$FIX"
}

# f NAME STATUS WANT SPEC...: one row of the table.
f() {
	local name=$1 status=$2 want=$3
	shift 3
	expect "$name" "$status" "$want" -- filtered "$@"
}

# bad NAME MESSAGE SPEC...: thoth-filter fails with exit 1, nothing on
# stdout and the single stderr line "thoth-filter: MESSAGE", before it
# reads any input (stdin holds a line that does not parse).
bad() {
	local name=$1 msg=$2 got rc=0
	shift 2
	got=$(thoth-filter "$@" <"$T/garbage" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [ "$got" = "thoth-filter: $msg" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, wanted 1" "got:    $got" \
		    "wanted: thoth-filter: $msg"
	fi
}

# Matching on fields.
#  name                                 status want                   spec...
f "no spec keeps every record"          0 "$ALL"
f "field equals value"                  0 "0a1b2c ab1300 555500"  cmd=node
f "no match is not an error"            0 ""                      cmd=nosuch
f "tokens are AND-ed"                   0 "ab1300"                cmd=node node=hostB
f "glob *"                              0 "ab1200 ab12ff 1234ab"  'cmd=svc*'
f "glob ?"                              0 "1234ab"                'cmd=sv?s'
f "glob [...]"                          0 "ab1200 ab12ff"         'cmd=svc.[cs]*'
f "glob matches the whole value"        0 ""                      cmd=ode
f "case matters"                        0 ""                      cmd=NODE
f "backslash quotes a glob character"   0 "f00f00"                'cmd=a\*b'
f "shell syntax is a literal value"     0 "e1e1e1"                'cmd=$(touch x)'
f "quotes and spaces in a value"        0 "e1e1e1"                "psargs=sh -c '\$(touch x)'"
f "value may contain ="                 0 "f00f00"                'psargs=*--max-old=1'
f "number compares as its JSON text"    0 "0a1b2c"                time=1699990000
f "number against a glob"               0 "ab12ff"                'time=16991*'
f "pid is a string"                     0 "1234ab"                pid=123
f "boolean property"                    0 "1234ab"                flag=true
f "number property"                     0 "1234ab"                score=3
f "nested field"                        0 "0a1b2c"                properties.triage.engineer=bmc
f "property found without properties."  0 "0a1b2c"                triage.engineer=bmc
f "nested glob"                         0 "0a1b2c ab12ff"         'triage.engineer=*'
f "object compares as compact JSON"     0 "ab12ff"                'triage={"engineer":"rm"}'
f "path through a string is absent"     0 ""                      cmd.x=node
f "stack: any frame, glob"              0 "0a1b2c ab1300"         'stack=*crash_here*'
f "stack: one exact frame"              0 "ab1200 ab12ff"         'stack=svc.startd`utmpx_postfork+0x44'
f "array of strings in properties"      0 "1234ab"                tags=y
f "array of objects: any element's id"  0 "555500"                'build_ids.id=abc*'
f "array of objects: another field"     0 "0a1b2c 555500"         build_ids.file=/usr/bin/node
f "each token picks its own element"    0 "555500"                build_ids.file=/lib/libc.so.6 build_ids.id=abc999

# undefined
f "undefined: absent field"             0 "ab1200 ab1300 d00d00 e1e1e1 f00f00 1234ab - 999900" ticket=undefined
f "undefined: absent nested field"      0 "ab1200 ab1300 c0ffee d00d00 e1e1e1 f00f00 1234ab 555500 - 999900" triage.engineer=undefined
f "undefined: a present field"          0 ""                      type=undefined
f "undefined: field of array elements"  0 "ab1200 ab12ff ab1300 c0ffee d00d00 e1e1e1 f00f00 1234ab - 999900" build_ids.id=undefined
f "undefined with other tokens"         0 "c0ffee"                type=crash cmd=undefined
f "undefined under a missing parent"    0 "$ALL"                  nosuch.deeper=undefined

# Dump ids and prefixes.
f "full id"                             0 "ab1300"                ab13001122334455667788990aabbccd
f "unique prefix"                       0 "ab1300"                ab13
f "one-digit prefix"                    0 "c0ffee"                c
f "prefix and a field"                  0 "0a1b2c"                0a cmd=node
f "prefix made unique by another token" 0 "ab1200"                ab12 cmd=svc.startd
f "prefix with limit"                   0 "ab1300"                ab13 limit=1
expect_err "ambiguous prefix" 1 \
    '^thoth-filter: ab12: ambiguous dump prefix \(matches ab1200aa5e1c0d2b9f8e7a6b5c4d3e2f, ab12ff0b4c3d2e1f0a9b8c7d6e5f4a3b\)$' \
    -- thoth-filter ab12 <"$FIX"
expect_err "ambiguous prefix, three ids" 1 \
    '^thoth-filter: a: ambiguous dump prefix \(matches ab1200[0-9a-f]{26}, ab12ff[0-9a-f]{26}, ab1300[0-9a-f]{26}\)$' \
    -- thoth-filter a <"$FIX"
expect_err "ambiguous prefix even with limit=1" 1 'ab12: ambiguous dump prefix' \
    -- thoth-filter ab12 limit=1 <"$FIX"
for i in $(seq 1 10); do printf '{"id":"%032x"}\n' "$i"; done >"$T/many"
expect_err "ambiguous prefix lists 8 ids and ..." 1 \
    '^thoth-filter: 0: ambiguous dump prefix \(matches (0{31}[1-8], ){8}\.\.\.\)$' \
    -- thoth-filter 0 <"$T/many"
expect_err "unknown prefix" 2 '^thoth-filter: abcd: no such dump$' \
    -- thoth-filter abcd <"$FIX"
expect_err "unknown full id" 2 '^thoth-filter: ab13001122334455667788990aabbcce: no such dump$' \
    -- thoth-filter ab13001122334455667788990aabbcce <"$FIX"
expect_err "prefix excluded by another token" 2 '^thoth-filter: 0a: no such dump$' \
    -- thoth-filter 0a cmd=svcs <"$FIX"
grep ab1300 "$FIX" >"$T/twice"
grep ab1300 "$FIX" >>"$T/twice"
expect "same id twice is not ambiguous" 0 "ab1300 ab1300" -- filtered -f "$T/twice" ab1
expect_err "records without an id never match a prefix" 2 '^thoth-filter: a: no such dump$' \
    -- thoth-filter -f <(grep orphan "$FIX") a

# limit=
f "limit"                               0 "0a1b2c ab1200"         limit=2
f "limit applies after the other tokens" 0 "0a1b2c ab1300"        cmd=node limit=2
f "limit above the matches"             0 "0a1b2c ab1300 555500"  cmd=node limit=10
f "the smaller limit wins"              0 "0a1b2c"                limit=3 limit=1
cat "$FIX" "$T/garbage" >"$T/fix+garbage"
expect "limit stops reading (no parse error)" 0 "0a1b2c ab1200" \
    -- filtered -f "$T/fix+garbage" limit=2

# mtime= and otime=, against THOTH_NOW.
f "mtime"                               0 "0a1b2c d00d00 e1e1e1 f00f00"        mtime=1h
f "mtime includes its bound"            0 "0a1b2c d00d00 e1e1e1 f00f00 999900" mtime=6h
f "mtime in bare seconds"               0 "0a1b2c d00d00 e1e1e1 f00f00 999900" mtime=21600
f "mtime uses time without uploaded"    0 "d00d00 e1e1e1 f00f00"               mtime=1000
f "mtime=1w includes the boundary"      0 "0a1b2c ab1200 d00d00 e1e1e1 f00f00 555500 999900" mtime=1w
f "otime excludes its bound"            0 "ab12ff ab1300 c0ffee 1234ab -"      otime=1w
f "mtime and otime make a range"        0 "ab12ff 1234ab -"                    mtime=2w otime=1w
f "the narrower mtime wins"             0 "e1e1e1 f00f00"                      mtime=1d mtime=100s
f "empty range"                         0 ""                                   mtime=1d otime=2d
f "ages in y and s"                     0 "$ALL"                               mtime=1y otime=0s
echo '{"id":"77777777777777777777777777777777","cmd":"x"}' >"$T/timeless"
expect "a record without times never matches mtime" 0 "" \
    -- thoth-filter -f "$T/timeless" mtime=100y
expect "nor otime" 0 "" -- thoth-filter -f "$T/timeless" otime=0s

# dump=stdin
printf 'ab13\n\n  c0ffee00deadbeef0123456789abcdef \n{"id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","file":"core.1"}\n' >"$T/ids"
expect "dump=stdin: ids, prefixes and records" 0 "0a1b2c ab1300 c0ffee" \
    -- kept -f "$FIX" dump=stdin <"$T/ids"
expect "dump=stdin AND another token" 0 "0a1b2c ab1300" \
    -- kept -f "$FIX" dump=stdin cmd=node <"$T/ids"
expect "dump=stdin: a prefix may match several" 0 "ab1200 ab12ff" \
    -- kept -f "$FIX" dump=stdin <<<ab12
expect "dump=stdin: no ids, no records" 0 "" -- kept -f "$FIX" dump=stdin </dev/null
expect_err "dump=stdin: -e and no ids" 2 '^thoth-filter: no dump matches$' \
    -- thoth-filter -e -f "$FIX" dump=stdin </dev/null
expect_err "dump=stdin: a line that is no id" 1 "^thoth-filter: -:2: 'Hello': not a dump id$" \
    -- thoth-filter -f "$FIX" dump=stdin < <(printf 'ab13\nHello\n')
expect_err "dump=stdin: a record without id" 1 "^thoth-filter: -:1: '\\{\"file\":\"core\"\\}': not a dump id$" \
    -- thoth-filter -f "$FIX" dump=stdin <<<'{"file":"core"}'
expect_err "dump=stdin: a long bad line is cut" 1 "^thoth-filter: -:1: 'x{40}\.\.\.': not a dump id$" \
    -- thoth-filter -f "$FIX" dump=stdin < <(printf 'x%.0s' $(seq 100); echo)

# Bad specs: one line, exit 1, nothing read.
bad "empty field name"        "=x: empty field name" =x
bad "empty value"             "cmd=: empty value; use cmd=undefined for an absent field" cmd=
bad "empty nested value"      "a.b=: empty value; use a.b=undefined for an absent field" a.b=
bad "two equals signs"        "a==b: write field=value, with one '='" a==b
bad "a word"                  "Hello: neither a dump id (1 to 32 lowercase hex digits) nor prop=value" Hello
bad "upper-case hex"          "AB12: neither a dump id (1 to 32 lowercase hex digits) nor prop=value" AB12
bad "33 hex digits"           "ab13001122334455667788990aabbccd0: neither a dump id (1 to 32 lowercase hex digits) nor prop=value" ab13001122334455667788990aabbccd0
bad "empty token"             "empty spec token" ""
bad "two ids"                 "ab13: only one dump id may be given (already have 0a)" 0a ab13
bad "empty path component"    "a..b=1: empty component in field name" a..b=1
bad "leading dot"             ".a=1: empty component in field name" .a=1
bad "trailing dot"            "a.=1: empty component in field name" a.=1
bad "age with a bad unit"     "mtime=6x: bad age '6x': expected a number and one of s m h d w y" mtime=6x
bad "age not a number"        "otime=abc: bad age 'abc': expected a number and one of s m h d w y" otime=abc
bad "negative age"            "mtime=-1h: bad age '-1h': expected a number and one of s m h d w y" mtime=-1h
bad "empty age"               "mtime=: bad age '': expected a number and one of s m h d w y" mtime=
bad "huge age"                "mtime=99999999999d: bad age '99999999999d': too large" mtime=99999999999d
bad "limit=0"                 "limit=0: limit must be a positive integer" limit=0
bad "negative limit"          "limit=-1: limit must be a positive integer" limit=-1
bad "limit not a number"      "limit=x: limit must be a positive integer" limit=x
bad "limit with a suffix"     "limit=2x: limit must be a positive integer" limit=2x
bad "limit too large"         "limit=99999999999999999999999: limit must be a positive integer" limit=99999999999999999999999
bad "empty limit"             "limit=: limit must be a positive integer" limit=
bad "dump= other than stdin"  "dump=foo: the only dump= token is dump=stdin" dump=foo
bad "dump=stdin, records on stdin" "dump=stdin reads ids from stdin: give the records with -I or -f FILE" dump=stdin
bad "dump=stdin and -f -"     "dump=stdin reads ids from stdin: give the records with -I or -f FILE" -f - dump=stdin
bad "bad token after good ones" "Hello: neither a dump id (1 to 32 lowercase hex digits) nor prop=value" cmd=node Hello
truth "no file made by shell syntax" test ! -e x -a ! -e "$T/x"
expect_err "unknown option" 1 '^usage: thoth-filter \[-ceI\] \[-f file\]\.\.\. \[spec \.\.\.\]$' \
    -- thoth-filter -x </dev/null
expect_err "-I with -f" 1 '^usage: thoth-filter' -- thoth-filter -I -f "$FIX" </dev/null

# -e, -f and bad input.
expect "-e with matches" 0 "1234ab" -- filtered -e cmd=svcs
expect_err "-e without matches" 2 '^thoth-filter: no dump matches$' \
    -- thoth-filter -e cmd=nosuch <"$FIX"
expect "-f twice" 0 "1234ab 1234ab" -- filtered -f "$FIX" -f "$FIX" cmd=svcs
expect_err "-f missing file" 1 '^thoth-filter: /nonexistent/r: No such file or directory$' \
    -- thoth-filter -f /nonexistent/r cmd=svcs
expect "-f missing file: the others still read" 1 "1234ab" \
    -- filtered -f /nonexistent/r -f "$FIX" cmd=svcs
{ head -2 "$FIX"; echo '{"id":'; echo '[1,2]'; tail -n +3 "$FIX"; } >"$T/broken"
expect "parse errors: good lines still filtered" 1 "0a1b2c ab1300 555500" \
    -- filtered -f "$T/broken" cmd=node
truth "parse errors: reported with file and line" \
    grep -q "^thoth-filter: $T/broken:3: parse error" "$T/stderr"
expect_err "parse errors on stdin" 1 '^thoth-filter: -:4: parse error: not a JSON object$' \
    -- thoth-filter cmd=nosuch <"$T/broken"
for spec in "" cmd=node 'cmd=svc*' limit=2 ab13 ticket=undefined; do
	# shellcheck disable=SC2086
	same "-c '$spec' counts the records kept" "$(thoth-filter -c -f "$FIX" $spec 2>/dev/null)" \
	    "$(thoth-filter -f "$FIX" $spec 2>/dev/null | wc -l)"
done
expect "-c of a file with bad lines: the good ones, exit 1" 1 0 -- thoth-filter -c -f "$T/broken" cmd=nosuch
svcs=$(sed -n 9p "$FIX")
expect "output is the input record, compact" 0 "$svcs" -- thoth-filter -f "$FIX" cmd=svcs

# -I: the index of a store made from the fixture, oldest "time" first.
mkdir -p "$THOTH_STORE"
while IFS= read -r line; do
	case $line in '{"id":"'*) ;; *) continue ;; esac
	mkdir -p "$THOTH_STORE/${line:7:32}"
	printf '%s\n' "$line" >"$THOTH_STORE/${line:7:32}/info.json"
done <"$FIX"
if ! command -v thoth-index >/dev/null; then
	skip "-I" "no thoth-index to build the index"
elif ! thoth-index >"$T/index.out" 2>&1; then
	fail "-I: thoth-index" "$(cat "$T/index.out")"
else
	expect "-I field" 0 "ab1300 555500 0a1b2c" -- filtered -I cmd=node
	expect "-I limit" 0 "ab1300" -- filtered -I cmd=node limit=1
	expect "-I mtime, otime" 0 "0a1b2c d00d00" -- filtered -I mtime=1h otime=100s
	expect "-I prefix" 0 "ab1300" -- filtered -I ab13
	expect_err "-I ambiguous prefix" 1 'ab12: ambiguous dump prefix' -- thoth-filter -I ab12
	expect_err "-I unknown id" 2 '^thoth-filter: ab14: no such dump$' -- thoth-filter -I ab14
	expect "-I dump=stdin" 0 "c0ffee ab1300 0a1b2c" -- kept -I dump=stdin <"$T/ids"
	expect_err "-I -e without matches" 2 'no dump matches' -- thoth-filter -I -e cmd=nosuch
	expect "-I -c" 0 3 -- thoth-filter -c -I cmd=node
	expect "-I -c limit" 0 1 -- thoth-filter -c -I cmd=node limit=1
	expect "-I -c prefix" 0 1 -- thoth-filter -c -I ab13
	expect_err "-I -c ambiguous prefix: no count" 1 'ab12: ambiguous dump prefix' -- thoth-filter -c -I ab12
	expect "-I -c ambiguous prefix: nothing on stdout" 1 "" -- thoth-filter -c -I ab12
	expect "-I -c -e without matches: 0, exit 2" 2 0 -- thoth-filter -c -e -I cmd=nosuch
fi

# The pipeline of "thoth info CORE": thoth-hash's records give the ids.
if need_cores "thoth-hash | thoth-filter dump=stdin"; then
	thoth-hash "$CORES/core.segv" >"$T/hash" 2>&1
	id=$(sed -nE 's/.*"id":"([0-9a-f]{32})".*/\1/p' "$T/hash")
	{ cat "$FIX"; echo "{\"id\":\"$id\",\"cmd\":\"segv\"}"; } >"$T/with-segv"
	expect "thoth-hash | dump=stdin: known core" 0 "{\"id\":\"$id\",\"cmd\":\"segv\"}" \
	    -- bash -c 'thoth-hash "$1" | thoth-filter -e -f "$2" dump=stdin' - \
	    "$CORES/core.segv" "$T/with-segv"
	expect_err "thoth-hash | dump=stdin: unknown core" 2 '^thoth-filter: no dump matches$' \
	    -- bash -c 'thoth-hash "$1" | thoth-filter -e -f "$2" dump=stdin' - \
	    "$CORES/core.abrt" "$T/with-segv"
fi

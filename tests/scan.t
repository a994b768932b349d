#!/usr/bin/env bash
# tests/scan.t - the fast record loops (lib/scan*.c) against the jansson
# reference (THOTH_SCAN=jansson): thoth-filter, thoth-report, thoth-filter
# -I and compaction must print the same bytes, say the same things and
# exit the same way, whatever the chunk size, thread count and input kind.
# Values in single quotes are meant literally (backslashes too: bash's
# echo leaves them alone):
# shellcheck disable=SC2016,SC2028
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"

GEN=$TOP/../shared/bench/gen-index
export THOTH_NOW=1500100000	# inside the sample's times

# run MODE FILE TOOL ARGS...: TOOL ARGS reading FILE as MODE says: "file"
# (-f FILE), "stdin" (FILE on stdin) or "pipe" (through cat).
run() {
	local mode=$1 file=$2
	shift 2
	case $mode in
	file)	"$@" -f "$file" ;;
	stdin)	"$@" <"$file" ;;
	pipe)	# shellcheck disable=SC2002 # a pipe is the point
		cat "$file" | "$@" ;;
	index)	"$@" ;;
	esac
}

# outcome NAME ENV... -- MODE FILE TOOL ARGS...: runs and keeps stdout,
# stderr and the exit status in $T/NAME.
outcome() {
	local name=$1 envs=() rc=0
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	(export "${envs[@]}"; run "$@") >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "exit $rc" >>"$T/$name.err"
}

# agree NAME VARIANT... -- MODE FILE TOOL ARGS...: the reference once,
# then each variant (space-separated VAR=value settings) must agree.
agree() {
	local name=$1 variants=() v bad=""
	shift
	while [ "$1" != -- ]; do variants+=("$1"); shift; done
	shift
	outcome ref THOTH_SCAN=jansson -- "$@"
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2086
		outcome got $v THOTH_SCAN=fast -- "$@"
		if ! cmp -s "$T/ref.out" "$T/got.out" ||
		    ! cmp -s "$T/ref.err" "$T/got.err"; then
			bad="$v"
			break
		fi
	done
	if [ -z "$bad" ]; then
		pass "$name"
	else
		fail "$name" "with $bad:" \
		    "$(diff "$T/ref.out" "$T/got.out" | head -6)" \
		    "$(diff "$T/ref.err" "$T/got.err" | head -6)"
	fi
}

# Variants: default chunks; small chunks so that many records straddle
# chunk edges; a chunk of one byte; one thread; three.
V_ALL=("THOTH_SCAN_CHUNK=4096" "THOTH_SCAN_CHUNK=1 THOTH_SCAN_THREADS=3"
    "THOTH_SCAN_CHUNK=100 THOTH_SCAN_THREADS=1" "THOTH_SCAN_CHUNK=777")

# --- Lines jansson must decide: each is a trap for a scanner that trusts
# what it sees.  The file ends without a newline.
long=$(printf 'x%.0s' $(seq 1 6000))
key300=$(printf 'k%.0s' $(seq 1 300))
{
	echo '{"id":"00000000000000000000000000000001","cmd":"node","time":1499999000,"uploaded":1500099000}'
	echo '{"id": "00000000000000000000000000000002", "cmd": "node"}'
	printf '%s\r\n' '{"id":"00000000000000000000000000000003","cmd":"node"}'
	echo '  {"id":"00000000000000000000000000000004","cmd":"node"}'
	echo '{"id":"00000000000000000000000000000005","cmd":"no\u0064e"}'
	echo '{"id":"00000000000000000000000000000006","cmd":"a\/b","psargs":"\u00e9t\u00E9"}'
	echo '{"id":"00000000000000000000000000000007","cmd":"node","time":1.5}'
	echo '{"id":"00000000000000000000000000000008","cmd":"node","time":-0}'
	echo '{"id":"00000000000000000000000000000009","cmd":"node","time":123456789012345678901}'
	echo '{"id":"0000000000000000000000000000000a","cmd":"node","cmd":"java"}'
	echo '{"id":"0000000000000000000000000000000b","properties":{"a":1,"a":2}}'
	printf '%s\xff%s\n' '{"id":"0000000000000000000000000000000c","cmd":"' '"}'
	echo '{"id":"0000000000000000000000000000000d","cmd":"héllo wörld ✓ 😀","psargs":"ét"}'
	printf '%s\t%s\n' '{"id":"0000000000000000000000000000000e","cmd":"tab' 'here"}'
	echo '{"id":"0000000000000000000000000000000f","cmd":"nl\nx\"q\\b\u0001\u001F\u007f","n":0}'
	echo
	printf '   \t  \n\r\n'
	echo '[1,2,3]'
	echo '"string"'
	echo '{}'
	echo '{"id":"00000000000000000000000000000010","a":{"b":{"c":[[1,{"d":"x"}],{"d":"y"}]}}}'
	echo '{"id":"00000000000000000000000000000011","c\u006dd":"node"}'
	echo '{"id":"00000000000000000000000000000012","k\"ey":"v","cmd":"node","t\u0001":"c"}'
	echo '{"id":"00000000000000000000000000000013","":"empty key","properties":{"cmd":"props","":"e"}}'
	echo '{"id":"00000000000000000000000000000014","properties":{"triage":{"engineer":"bmc"}},"triage":"top"}'
	echo '{"id":"00000000000000000000000000000015","uploaded":"yesterday","time":1500099000}'
	echo '{"id":"00000000000000000000000000000016","stack":[]}'
	echo '{"id":"00000000000000000000000000000017","stack":["a*b","x\"abort\"y",null,true,3,{"f":"abort"},[]]}'
	echo '{"id":"0000000000000000000000000000001","cmd":"node"}'
	echo '{"id":"00000000000000000000000000000018","cmd":null,"flag":false,"n":-12,"o":{},"properties":"x"}'
	echo '{"id":"00000000000000000000000000000019","deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'
	echo '{"id":"0000000000000000000000000000001a","big":999999999999999999,"big2":1000000000000000000,"neg":-999999999999999999}'
	echo '{"id":"0000000000000000000000000000001b","x":1e5,"time":15E8}'
	echo '{"id":"0000000000000000000000000000001c","cmd":"node"} trailing'
	echo '{"id":"0000000000000000000000000000001d","x":tru}'
	echo '{"id":"0000000000000000000000000000001e","x":"\u0000"}'
	printf '{"id":"0000000000000000000000000000001f","cmd":"nul\0byte"}\n'
	printf '{"id":"00000000000000000000000000000020","cmd":"node"}\0\n'
	echo "{\"id\":\"00000000000000000000000000000021\",\"cmd\":\"$long\",\"$key300\":1,\"p\":{\"$key300\":2}}"
	echo '{"id":"00000000000000000000000000000022","cmd":"nod'
	echo '{"id":"00000000000000000000000000000023","time":1500098000,"pid":"12","pid2":12,"w":[1,"1"]}'
	echo '{"id":"00000000000000000000000000000024","x":"\ud83d\ude00","y":"\uD83D"}'
	echo '{"id":"00000000000000000000000000000025","a":{"b":1},"a.b":2,"properties":{"a":{"b":3}}}'
	echo '{"id":"00000000000000000000000000000026","t":true,"f":false,"z":null,"e":"","s":" "}'
	printf '%s' '{"id":"00000000000000000000000000000027","cmd":"last"}'
} >"$T/tricky"

for spec in cmd=node 'cmd=*' cmd=undefined 'cmd=h*' 'cmd=*✓*' 'psargs=ét*' \
    'cmd=nl*' 'cmd=*\"*' 'stack=*abort*' 'stack=a\*b' stack=null stack=true \
    stack=3 'stack={"f":"abort"}' stack.f=abort stack=undefined 'stack=[]' \
    a.b.c.d=x a.b.c.d=y 'a.b.c={"d":"y"}' a.b.c=1 'a.b=*' a.b=3 cmd=props \
    triage=top triage.engineer=bmc 'time=1.5' time=0 'time=15*' 'big=9*' \
    n=-12 'o={}' flag=false cmd=null 'deep=1' 'k"ey=v' 'pid=12' 'pid2=12' \
    'w=1' 'x=*' 'y=*' e=undefined 's= ' 'cmd=x*' "$key300=1" "p.$key300=2" \
    "$key300=undefined" 0000 00000000000000000000000000000001 00000000000000000000000000000012 \
    mtime=1h mtime=1d otime=1h limit=2 'cmd=node limit=3' 'cmd=*\**'; do
	agree "tricky lines: $spec" "${V_ALL[@]}" -- file "$T/tricky" thoth-filter "$spec"
done
agree "tricky lines on stdin" "${V_ALL[@]}" -- stdin "$T/tricky" thoth-filter cmd=node
agree "tricky lines through a pipe" "${V_ALL[@]}" -- pipe "$T/tricky" thoth-filter 'cmd=*'
for field in cmd stack a a.b a.b.c properties properties.cmd triage \
    triage.engineer '' . a..b cmd. .cmd time big n o id x "$key300" p."$key300"; do
	agree "tricky lines: report '$field'" "${V_ALL[@]}" -- file "$T/tricky" thoth-report "$field"
done
agree "tricky lines: report on stdin" "${V_ALL[@]}" -- pipe "$T/tricky" thoth-report cmd

# limit= stops reading: no parse error after the last record printed,
# whichever chunk it falls in.
{ head -c 3000 "$T/tricky"; echo; } >"$T/limit"
for n in 1 2 3 4 10; do
	agree "limit=$n and parse errors after" "${V_ALL[@]}" -- file "$T/tricky" thoth-filter "limit=$n"
done
agree "-f twice, limit across files" "${V_ALL[@]}" -- file "$T/tricky" thoth-filter -f "$T/tricky" 'cmd=*' limit=30
agree "-f missing file between" "${V_ALL[@]}" -- file "$T/tricky" thoth-filter -f /nonexistent cmd=node
agree "a line longer than a chunk, on a pipe" "THOTH_SCAN_CHUNK=64" -- pipe "$T/tricky" thoth-filter cmd=undefined
printf '' >"$T/empty"
agree "empty file" "${V_ALL[@]}" -- file "$T/empty" thoth-filter cmd=node
agree "empty pipe" "${V_ALL[@]}" -- pipe "$T/empty" thoth-report cmd

# --- A sample of the benchmark index, many specs.
if [ ! -x "$GEN" ] || ! command -v python3 >/dev/null; then
	skip "gen-index sample" "no $GEN (or python3)"
	exit 0
fi
# Under ASan the reference parses slowly: a smaller sample there.
case $BIN in *asan*) n=4000 ;; *) n=20000 ;; esac
"$GEN" "$n" 7 >"$T/sample"
V_SAMPLE=("" "THOTH_SCAN_CHUNK=65536" "THOTH_SCAN_CHUNK=100000 THOTH_SCAN_THREADS=3")
for spec in cmd=node 'cmd=svc*' 'stack=*abort*' 'stack=libc.so.6`abort+0xd3' \
    properties.triage.engineer=bmc triage.category=SMF triage=undefined \
    'ticket=OS-1*' ticket=undefined 'fmri=svc:/system/*' type=crash 'pid=1?3' \
    'psargs=*flag-[12]' 'platform=joyent_2017*' 'node=0*' 'properties={}' \
    'time=15000003*' mtime=3d 'mtime=10d otime=5d' limit=100 '9' \
    'cmd=node platform=Linux* limit=7' 'stack=*Abort()*' 'name=*0'; do
	agree "sample: $spec" "${V_SAMPLE[@]}" -- file "$T/sample" thoth-filter "$spec"
done
agree "sample on stdin" "${V_SAMPLE[@]}" -- stdin "$T/sample" thoth-filter 'cmd=svc*'
agree "sample through a pipe" "${V_SAMPLE[@]}" -- pipe "$T/sample" thoth-filter 'stack=*abort*'
for field in platform cmd triage.engineer stack properties ticket type; do
	agree "sample: report $field" "${V_SAMPLE[@]}" -- file "$T/sample" thoth-report "$field"
done

# Reports with a spec (-s), in one process: the table and the counts
# agree with the reference and with thoth-filter piped into thoth-report.
for spec in cmd=node 'stack=*abort*' 'ticket=OS-1*' 'cmd=node limit=5' 'psargs=*flag-[12]'; do
	agree "sample: report -t -s '$spec'" "${V_SAMPLE[@]}" -- file "$T/sample" thoth-report -t -s "$spec" platform stack
	agree "sample: report -s '$spec' cmd" "${V_SAMPLE[@]}" -- file "$T/sample" thoth-report -s "$spec" cmd
	same "sample: report -t -s '$spec' = filter | report -t" \
	    "$(thoth-report -t -f "$T/sample" -s "$spec" platform stack | md5sum)" \
	    "$(thoth-filter -f "$T/sample" "$spec" | thoth-report -t platform stack | md5sum)"
done

# --- The index: base sorted by time, a journal replacing some records,
# adding others and ending in a torn line, a bad line in the base.
export THOTH_INDEX=$T/index
mkdir -p "$THOTH_INDEX" "$THOTH_STORE"
{ head -2000 "$T/sample"; echo 'not a record'; echo; tail -n +2001 "$T/sample"; } >"$THOTH_INDEX/base.ndjson"
python3 - "$T/sample" >"$THOTH_INDEX/journal.ndjson" <<'EOF'
import json, random, sys
rng = random.Random(3)
lines = open(sys.argv[1]).read().splitlines()
for i in rng.sample(range(len(lines)), 60):
    r = json.loads(lines[i])
    r["ticket"] = "J-%d" % i
    r["uploaded"] = r["time"] + rng.randint(0, 400000)
    print(json.dumps(r, separators=(",", ":")))
for k in range(30):
    r = json.loads(lines[k])
    r["id"] = "%032x" % (k + 77)
    r["time"] = 1500000000 + rng.randint(-1000, 700000)
    r["cmd"] = "journal"
    print(json.dumps(r, separators=(",", ":")))
print('{"id": "00000000000000000000000000000099", "time": 1500100000, "cmd": "spaced"}')
sys.stdout.write('{"id":"torn')
EOF
ISPECS=("" cmd=node cmd=journal 'ticket=J-*' mtime=6h mtime=1d 'mtime=2d otime=1d'
    'mtime=1w cmd=journal' otime=3d limit=3 'mtime=6h limit=2' 'mtime=1h cmd=spaced')
# Specs the literal prefilter (lib/scan/lit.c) reads: quoted and bare
# needles, values that are also keys, numbers, objects, id prefixes,
# several needles at once, next to blocks it may not pass over.
ISPECS+=('stack=*abort*' 'cmd=svc*' 'psargs=*flag-1' properties.triage.engineer=bmc
    'ticket=J-1*' 'stack=cmd' cmd=name 'time=1500000*' version=1 'properties={}'
    'name=*0' type=crash 9 'cmd=node stack=*Abort()*' 'fmri=svc:/system/*'
    'platform=*Z' 'cmd=node mtime=1d' 'stack=libc.so.6`abort+0xd3')
V_INDEX=("" "THOTH_SCAN_CHUNK=5000 THOTH_SCAN_THREADS=3")
for spec in "${ISPECS[@]}"; do
	# shellcheck disable=SC2086
	agree "index: '$spec'" "${V_INDEX[@]}" -- index - thoth-filter -I $spec
done
for spec in "${ISPECS[@]}"; do
	[ "$spec" = 9 ] && continue	# ambiguous: no count (filter.t)
	# shellcheck disable=SC2086
	same "index: -c '$spec' counts the records kept" "$(thoth-filter -c -I $spec 2>/dev/null)" \
	    "$(thoth-filter -I $spec 2>/dev/null | wc -l)"
done
for spec in "" cmd=node 'ticket=J-*' 'mtime=1d limit=4' 'stack=*abort*'; do
	agree "index: report -t -I -s '$spec'" "${V_INDEX[@]}" -- index - thoth-report -t -I -s "$spec" ticket
	agree "index: report -I -s '$spec' cmd" "${V_INDEX[@]}" -- index - thoth-report -I -s "$spec" cmd
done
truth "index: a time range made the block summary" test -s "$THOTH_INDEX/base.ndjson.idx"
for now in 1500010000 1500060000 1500400000; do
	agree "index: mtime=6h at $now" "${V_INDEX[@]}" -- index - env THOTH_NOW=$now thoth-filter -I mtime=6h
done
# Tokens the blocks' filters answer (lib/scan/keys.c): with blocks of one
# line each (THOTH_INDEX_BLOCK=1) most are passed over, so a filter that
# lacked a key would lose records; and without the filters.
line=$(sed -n 1500p "$THOTH_INDEX/base.ndjson")
id=$(jq -r .id <<<"$line")
node=$(jq -r .node <<<"$line")
jt=$(grep -o '"ticket":"J-[0-9]*"' "$THOTH_INDEX/journal.ndjson" | head -1 | cut -d'"' -f4)
V_KEYS=("" "THOTH_INDEX_BLOCK=1" "THOTH_INDEX_BLOCK=1000 THOTH_SCAN_CHUNK=5000"
    "THOTH_INDEX_BLOOM=off THOTH_INDEX_BLOCK=1")
# Specs of several tokens are split on spaces; the JSON quotes are data.
# shellcheck disable=SC2089,SC2090
for spec in "id=$id" "${id:0:8}" "${id:0:5}" "id=${id:0:6}*" "node=$node" "ticket=$jt" \
    ticket=OS-1234 'cmd=svc.startd ticket=MANTA-150' triage.engineer=bmc \
    'triage={"engineer":"dap","category":"ZFS"}' 'fmri=svc:/system/sshd:default' \
    properties.fmri=svc:/system/nginx:default signature.hash=00 "node=$node cmd=java" \
    'node=nobody mtime=2d'; do
	# shellcheck disable=SC2086
	agree "index, block filters: '$spec'" "${V_KEYS[@]}" -- index - thoth-filter -I $spec
done
agree "index, block filters: report -I -s 'node=$node' cmd" "${V_KEYS[@]}" -- index - \
    thoth-report -I -s "node=$node" cmd
# A field outside the summed-up ones shadows a property of that name.
mkdir -p "$T/shadow"
printf '%s\n' '{"id":"0000000000000000000000000000000a","time":1,"properties":{"triage":{"engineer":"bmc"}}}' \
    '{"id":"0000000000000000000000000000000b","time":2,"triage":{"engineer":"zed"},"properties":{"ticket":"P-1"}}' \
    '{"id":"0000000000000000000000000000000c","time":3,"ticket":"T-1","properties":{"ticket":"P-2","node":[{"a":"x"}]}}' \
    >"$T/shadow/base.ndjson"
for spec in triage.engineer=zed triage.engineer=bmc ticket=P-1 ticket=P-2 ticket=T-1 \
    properties.ticket=P-2 'node={"a":"x"}' node.a=x; do
	agree "shadowed fields, block filters: '$spec'" "THOTH_INDEX_BLOCK=1" -- index - \
	    env THOTH_INDEX="$T/shadow" thoth-filter -I "$spec"
done

cp "$THOTH_INDEX/base.ndjson" "$T/base.copy"
sed -i 's/"cmd":"node"/"cmd":"nodE"/' "$THOTH_INDEX/base.ndjson"
agree "index: a stale summary is made again" "${V_INDEX[@]}" -- index - thoth-filter -I mtime=3d 'cmd=nod*'
# Unsorted base: with a journal no block may be skipped (order), without one it may.
{ tail -n +3001 "$T/base.copy"; head -3000 "$T/base.copy"; } >"$THOTH_INDEX/base.ndjson"
agree "index: unsorted base, journal" "${V_INDEX[@]}" -- index - thoth-filter -I mtime=2d
mv "$THOTH_INDEX/journal.ndjson" "$T/journal.copy"
agree "index: unsorted base, no journal" "${V_INDEX[@]}" -- index - thoth-filter -I mtime=2d
printf '%s' '{"id":"00000000000000000000000000000098","time":1500099999}' >>"$THOTH_INDEX/base.ndjson"
agree "index: base without a final newline" "${V_INDEX[@]}" -- index - thoth-filter -I mtime=1d
mv "$T/journal.copy" "$THOTH_INDEX/journal.ndjson"
cp "$T/base.copy" "$THOTH_INDEX/base.ndjson"

# Lines jansson must decide in a base (read there without the check for
# duplicate keys), with a journal.
mkdir -p "$T/tindex"
cp "$T/tricky" "$T/tindex/base.ndjson"
printf '%s\n' '{"id":"00000000000000000000000000000001","cmd":"node","time":1,"j":1}' \
    '{"id":"000000000000000000000000000000ff","cmd":"node","time":1500099990}' \
    >"$T/tindex/journal.ndjson"
for spec in "" cmd=node 'cmd=*' mtime=1d otime=1h limit=5 'mtime=1d limit=1'; do
	# shellcheck disable=SC2086
	agree "tricky index: '$spec'" "${V_ALL[@]}" -- index - env THOTH_INDEX="$T/tindex" thoth-filter -I $spec
done

# Tricky lines amid canonical ones: their blocks are read line by line
# (a spaced "cmd": "node" holds no needle), the others prefiltered.
mkdir -p "$T/mindex"
{ head -3000 "$T/sample"; cat "$T/tricky"; echo; tail -n +3001 "$T/sample"; } >"$T/mindex/base.ndjson"
for spec in cmd=node 'cmd=no*' 'stack=*abort*' 'properties.triage.engineer=bmc' 1 'cmd=*'; do
	agree "mixed index: '$spec'" "${V_INDEX[@]}" -- index - env THOTH_INDEX="$T/mindex" thoth-filter -I "$spec"
done

# A summary that lies (the base changed in place, its size and mtime
# kept): lines it calls canonical are read field by field, each checked,
# so the reader never runs off a line; what it prints is then undefined.
mkdir -p "$T/lie"
head -3000 "$T/sample" >"$T/lie/base.ndjson"
THOTH_INDEX=$T/lie thoth-filter -I cmd=node >/dev/null
cp -p "$T/lie/base.ndjson" "$T/lie.orig"
python3 - "$T/lie/base.ndjson" <<'EOF2'
import sys
with open(sys.argv[1], "r+b") as f:
    b = bytearray(f.read())
    for old, new in ((b',"pid":"', b'}"pid":"'), (b'"cmd":"', b'"cmd" "'), (b'","', b'"\x00,')):
        b = b.replace(old, new)
    f.seek(0)
    f.write(bytes(b[:len(b)]))
EOF2
touch -r "$T/lie.orig" "$T/lie/base.ndjson"
for spec in cmd=node 'stack=*abort*' properties.triage.engineer=bmc 'ticket=OS-1*' \
    'cmd=node journal' 'stack=*abort* journal'; do
	# with a journal, the ids of the base are looked up too
	if [[ $spec == *journal ]]; then
		spec=${spec% journal}
		head -1 "$T/sample" >"$T/lie/journal.ndjson"
	fi
	THOTH_INDEX=$T/lie thoth-filter -I "$spec" >/dev/null 2>"$T/lie.err"
	rc=$?
	if [ "$rc" -le 1 ]; then pass "lying summary, '$spec': no crash (exit $rc)"
	else fail "lying summary, '$spec': exit $rc" "$(head -5 "$T/lie.err")"; fi
done

# Compaction through the fast path writes the same base as the reference.
for how in jansson fast; do
	rm -rf "$T/c-$how" && cp -r "$THOTH_INDEX" "$T/c-$how"
	THOTH_INDEX=$T/c-$how THOTH_SCAN=$how thoth-index -c 2>"$T/c-$how.err"
done
truth "compaction: the same base" cmp "$T/c-jansson/base.ndjson" "$T/c-fast/base.ndjson"
same "compaction: the same messages" "$(sed "s,$T/c-jansson/,," "$T/c-jansson.err")" \
    "$(sed "s,$T/c-fast/,," "$T/c-fast.err")"
truth "compaction: summary made" test -s "$T/c-fast/base.ndjson.idx"
agree "compacted index: mtime=1d" "${V_INDEX[@]}" -- index - env THOTH_INDEX="$T/c-fast" thoth-filter -I mtime=1d

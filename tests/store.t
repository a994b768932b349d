# tests/store.t - thoth-put, thoth-set, thoth-index, thoth-store on the
# directory store, with hand-made records (no dump parsing involved).

. "$TOP/tests/lib.sh"

id1=11111111111111111111111111111111
id2=22222222222222222222222222222222
id3=33333333333333333333333333333333
printf 'dump one' >"$T/core.one"
printf 'dump two' >"$T/core two"
printf 'dump three' >"$T/core.3"
rec() {	# rec ID FILE TIME CMD: the size is the file's (thoth-put checks it)
	printf '{"id":"%s","type":"core","file":"%s","size":%s,"time":%s,"cmd":"%s"}\n' \
	    "$1" "$2" "$(stat -c %s "$2" 2>/dev/null || echo 8)" "$3" "$4"
}
export THOTH_NOW=1700000000

# --- put
rec $id1 "$T/core.one" 300 one >"$T/in1"
out=$(thoth-put -q "$T/in1" 2>"$T/err") && rc=0 || rc=$?
same "put exits 0" "$rc" 0
same "put prints the stored record" "$(jq -c '[.id,.name,.dump,.uploaded,.version,has("file")]' <<<"$out")" \
    "[\"$id1\",\"$THOTH_STORE/$id1\",\"$THOTH_STORE/$id1/core.one\",1700000000,\"1\",false]"
same "dump copied byte for byte" "$(cat "$THOTH_STORE/$id1/core.one")" "dump one"
same "info.json is the record" "$(jq -c . "$THOTH_STORE/$id1/info.json")" "$(jq -c . <<<"$out")"
same "index holds the record" "$(thoth-filter -I | jq -r .id)" "$id1"
same "no temporary files left" "$(find "$THOTH_STORE" -type f -name '.*' | wc -l)" 0

before=$(store_state)
expect_err "put again: already stored" 0 "core.one: already stored as $id1" -- \
    bash -c 'thoth-put "$1" >/dev/null' _ "$T/in1"
same "second put changes nothing" "$(store_state)" "$before"

rec $id2 "$T/core two" 200 two >"$T/in2"
rec $id3 "$T/core.3" 100 three >>"$T/in2"
truth "put two more (one name with a space)" thoth-put -q "$T/in2"
same "unsafe characters in dump names are replaced" \
    "$(ls "$THOTH_STORE/$id2")" "$(printf 'core_two\ninfo.json')"
same "index lists oldest first" "$(thoth-filter -I | jq -r .cmd | tr '\n' ' ')" "three two one "

# --- put: bad input leaves store and index alone
before=$(store_state)
expect_err "put: record without file" 1 '^thoth-put: -:1: record needs "id" and "file"' -- \
    thoth-put <<<"{\"id\":\"$id1\"}"
expect_err "put: missing dump file" 1 "^thoth-put: $T/nope: .*No such file" -- \
    thoth-put < <(rec 44444444444444444444444444444444 "$T/nope" 1 x)
expect_err "put: parse error named with line" 1 '^thoth-put: -:2: parse error' -- \
    thoth-put < <(printf '\n{bad\n')
same "store and index unchanged after bad puts" "$(store_state)" "$before"

# --- set
expect "set a string property" 0 '"bmc"' -- \
    bash -c "echo '{\"id\":\"$id1\"}' | thoth-set -s triage bmc | jq .properties.triage"
same "info.json has it" "$(jq -c .properties "$THOTH_STORE/$id1/info.json")" '{"triage":"bmc"}'
same "index has it" "$(thoth-filter -I | jq -c "select(.id==\"$id1\") | .properties")" '{"triage":"bmc"}'
echo "{\"id\":\"$id1\"}" | thoth-set -j triage '{"category":"SMF","engineer":"bmc"}' >/dev/null
same "set a JSON object" "$(jq -c .properties.triage "$THOTH_STORE/$id1/info.json")" \
    '{"category":"SMF","engineer":"bmc"}'
echo "{\"id\":\"$id1\"}" | thoth-set -s triage.engineer rm >/dev/null
same "set a nested property" "$(jq -r .properties.triage.engineer "$THOTH_STORE/$id1/info.json")" rm
echo "{\"id\":\"$id1\"}" | thoth-set -u triage >/dev/null
same "unset (the emptied properties go too, as in an S3 store)" "$(jq -c .properties "$THOTH_STORE/$id1/info.json")" null
echo "{\"id\":\"$id1\"}" | thoth-set -t OS-2359 >/dev/null
same "ticket" "$(jq -r .ticket "$THOTH_STORE/$id1/info.json")" OS-2359
echo "{\"id\":\"$id1\"}" | thoth-set -T >/dev/null
same "unticket" "$(jq -r 'has("ticket")' "$THOTH_STORE/$id1/info.json")" false
printf '{"id":"%s","set":{"a":1,"b":[2]},"ticket":"MANTA-1"}\n{"id":"%s","unset":["a"]}\n' $id2 $id2 |
    thoth-set >/dev/null
same "edit records (analyzer style)" "$(jq -c '[.properties,.ticket]' "$THOTH_STORE/$id2/info.json")" \
    '[{"b":[2]},"MANTA-1"]'
same "index agrees with the store" \
    "$(thoth-filter -I | jq -c '[.id,.properties,.ticket]' | sort)" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -c '[.id,.properties,.ticket]' | sort)"

before=$(store_state)
expect_err "set: bad ticket" 1 "^thoth-set: 'OS 1; rm': bad ticket" -- thoth-set -t 'OS 1; rm' </dev/null
expect_err "set: bad property name" 1 "^thoth-set: '../x': bad property name" -- thoth-set -s ../x v </dev/null
expect_err "set: bad JSON value" 1 "^thoth-set: p: bad JSON value" -- thoth-set -j p '{' </dev/null
expect_err "set: unknown dump" 2 "^thoth-set: 55555555555555555555555555555555: no such dump" -- \
    thoth-set -s a b <<<'{"id":"55555555555555555555555555555555"}'
expect_err "set: record without id" 1 '^thoth-set: -:1: record has no valid "id"' -- thoth-set -s a b <<<'{"x":1}'
expect_err "set: edit that changes nothing" 1 '^thoth-set: -:1: edit changes nothing' -- thoth-set <<<"{\"id\":\"$id1\"}"
expect_err "set: two options" 1 '^usage: thoth-set' -- thoth-set -t A -T </dev/null
same "store and index unchanged after bad sets" "$(store_state)" "$before"

# --- index: rebuild, torn journal, compaction, concurrent edits
want=$(thoth-filter -I)
rm -rf "$THOTH_STORE/index"
mkdir -p "$THOTH_STORE/$id3-not-an-id" "$THOTH_STORE/44444444444444444444444444444444"
expect_err "rebuild says what it skipped" 0 '44444444444444444444444444444444: no info.json \(unfinished upload\), skipped' -- \
    thoth-index -v
same "rebuild restores the index" "$(thoth-filter -I)" "$want"
printf '{"id":"%s","time":5,"cmd":"torn"' $id1 >>"$THOTH_STORE/index/journal.ndjson"
same "reader skips a torn last line" "$(thoth-filter -I)" "$want"
echo "{\"id\":\"$id3\"}" | thoth-set -s after torn >/dev/null
same "writer cuts the torn line before appending" \
    "$(grep -c torn "$THOTH_STORE/index/journal.ndjson")" 1
truth "compact" thoth-index -c
same "journal empty after compaction" "$(wc -c <"$THOTH_STORE/index/journal.ndjson")" 0
same "compacted index agrees with the store" \
    "$(thoth-filter -I | jq -c . | sort)" "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"
export THOTH_INDEX_JOURNAL_MAX=1
echo "{\"id\":\"$id2\"}" | thoth-set -s auto compact >/dev/null
same "journal compacted when it grows past THOTH_INDEX_JOURNAL_MAX" \
    "$(wc -c <"$THOTH_STORE/index/journal.ndjson")" 0
# A rebuild in progress holds rebuild.lock: here flock(1) stands in.
flock "$THOTH_STORE/index/rebuild.lock" sleep 3 & holder=$!
sleep 0.3
echo "{\"id\":\"$id2\"}" | thoth-set -s during rebuild >/dev/null
same "no compaction while a rebuild runs" "$(grep -c during "$THOTH_STORE/index/journal.ndjson")" 1
expect_err "no explicit compaction either" 1 "a rebuild is running" -- thoth-index -c
start=$(date +%s%N)
truth "a second rebuild waits for the first" thoth-index
same "... and ran after it" "$(( ($(date +%s%N) - start) / 1000000000 >= 2 ))" 1
wait "$holder"
echo "{\"id\":\"$id2\"}" | thoth-set -s after rebuild >/dev/null
same "a finished (or killed) rebuild leaves nothing behind" "$(wc -c <"$THOTH_STORE/index/journal.ndjson")" 0
unset THOTH_INDEX_JOURNAL_MAX
seq 1 40 | parallel -j 8 "echo '{\"id\":\"$id1\",\"set\":{\"p{}\":{}}}' | thoth-set >/dev/null"
same "40 parallel edits, none lost (store)" "$(jq '.properties | length' "$THOTH_STORE/$id1/info.json")" 40
same "40 parallel edits, none lost (index)" \
    "$(thoth-filter -I | jq "select(.id==\"$id1\") | .properties | length")" 40

# --- store objects
echo 'echo hi' | thoth-store put analyzers/hello
same "store put/get" "$(thoth-store get analyzers/hello)" "echo hi"
same "store ls" "$(thoth-store ls analyzers/)" "analyzers/hello"
expect_err "store: key climbing out" 1 "bad store key" -- thoth-store put ../evil </dev/null
expect_err "store: dot-dot inside key" 1 "bad store key" -- thoth-store get analyzers/../../x
expect_err "store: missing object" 2 "^thoth-store: analyzers/nope: no such object" -- thoth-store get analyzers/nope
expect_err "store: unknown scheme" 1 "unknown store scheme" -- env THOTH_STORE=ftp://x thoth-store ls

# --- temporaries of killed writers are swept by the next put there
d="$THOTH_STORE/$id1"
touch -d '1 hour ago' "$d/.core.one.part.999999999" "$d/.info.json.tmp.999999998"
touch "$d/.core.two.part.999999997"				# recent: maybe live elsewhere
touch -d '1 hour ago' "$d/.core.three.part.$$"			# owner alive
echo "{\"id\":\"$id1\"}" | thoth-set -s sweep yes >/dev/null
same "stale temporaries of dead writers swept, others kept" \
    "$(find "$d" -mindepth 1 -maxdepth 1 -name '.*' -printf '%f\n' | sort | paste -sd' ')" ".core.three.part.$$ .core.two.part.999999997"
rm -f "$d/.core.three.part.$$" "$d/.core.two.part.999999997"

# --- sparse dumps keep their holes (SEEK_DATA/SEEK_HOLE), and blocks
# of zeros become holes too: checked by du (at most the source's)
sparse_case() {	# sparse_case NAME FILE ID [MAX-KIB]
	local name=$1 src=$2 id=$3 max=${4:-} dst
	if [ -z "$max" ] && [ "$(du -k "$src" | cut -f1)" -ge $(( $(stat -c %s "$src") / 2048 )) ]; then
		skip "$name" "this filesystem made $src dense"
		return
	fi
	printf '{"id":"%s","type":"core","file":"%s","size":%s,"time":1}\n' \
	    "$id" "$src" "$(stat -c %s "$src")" | thoth-put -q >/dev/null
	dst=$(find "$THOTH_STORE/$id" -type f ! -name info.json)
	max=${max:-$(du -k "$src" | cut -f1)}
	if ! cmp -s "$src" "$dst"; then
		fail "$name" "stored bytes differ from $src"
	else
		same "$name" "$(stat -c %s "$dst") $(( $(du -k "$dst" | cut -f1) <= max ))" \
		    "$(stat -c %s "$src") 1"
	fi
}
# Written zeros (dense on disk) around data at unaligned places, ending
# in zeros short of a block: only the blocks with data take space.
{ printf 'head'; head -c 3000000 /dev/zero; printf 'tail'; head -c 5000 /dev/zero; } >"$T/zeros"
printf 'mid' | dd of="$T/zeros" bs=1 seek=1048570 conv=notrunc status=none
sparse_case "written zeros: same bytes, the zero blocks left as holes" "$T/zeros" \
    44444444444444444444444444444444 64
truncate -s 64M "$T/sparse"
printf 'head' | dd of="$T/sparse" conv=notrunc status=none
printf 'middle' | dd of="$T/sparse" bs=1M seek=20 conv=notrunc status=none
truncate -s 96M "$T/sparse"		# and a hole at the end
sparse_case "sparse file: same bytes, holes kept" "$T/sparse" \
    55555555555555555555555555555555
if need_cores "sparse real core"; then
	sparse_case "kernel-made core: same bytes, at most the du of the source" \
	    "$CORES/core.abrt" 66666666666666666666666666666666
fi

# --- index -i: the index's ids read in place, only new dumps fetched
export THOTH_STORE="$T/istore"
for k in 1 2 3; do
	printf 'core %s' "$k" >"$T/icore.$k"
	rec "$k$k$k$k${id1:4}" "$T/icore.$k" "$k" "i$k" | thoth-put -q >/dev/null
done
expect_err "index -i: nothing new" 0 '^thoth-index: 0 new records$' -- thoth-index -iv
mkdir "$THOTH_STORE/$id3"	# another host's upload, on a shared filesystem
printf '{"id":"%s","type":"core","time":9,"cmd":"other"}\n' "$id3" >"$THOTH_STORE/$id3/info.json"
# a journal line jansson must read (spaces): its id is known all the same
printf '{"id": "1111%s", "type": "core", "time": 1, "cmd": "i1", "x": 1}\n' "${id1:4}" \
    >>"$THOTH_STORE/index/journal.ndjson"
expect_err "index -i: the one new dump" 0 '^thoth-index: 1 new records$' -- thoth-index -iv
same "index -i: it is in the index, the others once" \
    "$(thoth-filter -I | jq -r .cmd | sort | paste -sd' ')" "i1 i2 i3 other"
expect_err "index -i again: nothing new" 0 '^thoth-index: 0 new records$' -- thoth-index -iv

#!/usr/bin/env bash
# tests/purge.t - thoth purge and thoth-purge: retention by spec, age
# and newest-N per signature; tickets; records kept and queryable; the
# store and the index consistent; record-only storing for ingest.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores purge || exit 0
unset THOTH_SIGNATURE_RULES
export THOTH_NOW=''

# Four crashes of segv (one signature), made 1 to 4 days ago, and abrt.
day=86400 now=$(date +%s)
for i in 1 2 3 4; do
	{ (mkdir -p "$T/c$i" && cd "$T/c$i" && ulimit -c unlimited && "$CORES/segv" "$i") >/dev/null 2>&1; } 2>/dev/null
	core=$(find "$T/c$i" -name 'core*' | head -n 1)
	touch -d "@$((now - i * day))" "$core"
	cores[i]=$core
	ids[i]=$(thoth-hash -i "$core")
done
cp "$CORES/core.abrt" "$T/core.abrt"
touch -d "@$((now - 10 * day))" "$T/core.abrt"
abrt=$(thoth-hash -i "$T/core.abrt")
thoth-hash "${cores[@]:1}" "$T/core.abrt" | thoth-meta 2>/dev/null | thoth-sign | thoth-put -q >/dev/null
same "five dumps stored" "$(thoth ls | tail -n +2 | wc -l)" 5
dump_of() { find "$THOTH_STORE/$1" -type f ! -name info.json | wc -l; }
consistent() { same "$1: index agrees with the store" "$(thoth-filter -I | jq -c . | sort)" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"; }

# --- dry run
before=$(store_state)
out=$(thoth purge --dry-run --older-than 2d --keep-newest 1 "" 2>"$T/err")
same "dry run lists what would go: old, not the newest of its signature" \
    "$(jq -r .id <<<"$out" | sort)" "$(printf '%s\n' "${ids[2]}" "${ids[3]}" "${ids[4]}" | sort)"
truth "dry run summary" grep -q "would purge 3 dumps .* 2 newest of their signature, 0 younger" "$T/err"
same "dry run changes nothing" "$(store_state)" "$before"

# --- tickets protect dumps
thoth ticket "${ids[4]}" OS-1
out=$(thoth purge --older-than 2d "cmd=segv" 2>"$T/err")
same "purge --older-than: the old unticketed dumps" "$(jq -r .id <<<"$out" | sort)" \
    "$(printf '%s\n' "${ids[2]}" "${ids[3]}" | sort)"
truth "purge summary counts the ticketed dump kept" grep -q "purged 2 dumps .* kept 1 with a ticket, 0 newest of their signature, 1 younger" "$T/err"
same "purged dumps' objects are gone" "$(dump_of "${ids[2]}")$(dump_of "${ids[3]}")" 00
same "the ticketed dump is still stored" "$(dump_of "${ids[4]}")" 1
same "records stay, marked purged" "$(jq -c '[.purged.reason, (.purged.time > 0), has("dump")]' "$THOTH_STORE/${ids[2]}/info.json")" \
    '["older-than 2d",true,false]'
same "purged dumps are queryable" "$(thoth ls purged=undefined | tail -n +2 | wc -l) $(thoth ls purged.reason=older-than* | tail -n +2 | wc -l)" "3 2"
consistent "after purge"
expect_err "fetch of a purged dump says so" 1 "${ids[2]}: record has no dump" -- thoth-fetch "${ids[2]}"

# --- idempotent; newest-N per signature
before=$(store_state)
expect "purging again does nothing" 0 "" -- thoth purge --older-than 2d cmd=segv
same "store unchanged by a second purge" "$(store_state)" "$before"
out=$(thoth purge --keep-newest 1 --include-ticketed "" 2>"$T/err")
same "keep-newest 1: all but the newest of each signature (tickets included)" "$(jq -r .id <<<"$out")" "${ids[4]}"
same "the newest segv and the only abrt are kept" "$(dump_of "${ids[1]}")$(dump_of "$abrt")" 11
consistent "after keep-newest"

# --- a crash between deleting the dump and writing the record
rm "$THOTH_STORE/${ids[1]}/"core*
expect_err "fetch of a dump missing from the store fails" 1 "." -- thoth-fetch "${ids[1]}"
expect_err "purging it completes: the record is marked" 0 "purged 1 dumps" -- bash -c "thoth purge ${ids[1]} >/dev/null"
same "marked after the crash" "$(thoth info "${ids[1]}" | jq -r .purged.reason)" requested

# --- record-only: a record not in the store yet (thoth ingest --keep-per-signature)
{ (mkdir -p "$T/c5" && cd "$T/c5" && ulimit -c unlimited && "$CORES/segv" 5) >/dev/null 2>&1; } 2>/dev/null
c5=$(find "$T/c5" -name 'core*' | head -n 1)
id5=$(thoth-hash -i "$c5")
out=$(thoth-hash "$c5" | thoth-meta 2>/dev/null | thoth-sign | thoth-purge -q -r "keep-per-signature 1/7d")
same "record-only: stored record printed" "$(jq -c '[.id, .purged.reason, has("file"), has("dump"), (.uploaded > 0)]' <<<"$out")" \
    "[\"$id5\",\"keep-per-signature 1/7d\",false,false,true]"
same "record-only: info.json and nothing else" "$(ls "$THOTH_STORE/$id5")" info.json
same "record-only: in the index" "$(thoth info "$id5" | jq -r .signature.text)" "$(jq -r .signature.text <<<"$out")"
truth "record-only: the local dump is untouched" test -s "$c5"
consistent "after record-only"

# --- errors
before=$(store_state)
expect_err "purge without a spec" 1 "^usage: thoth" -- thoth purge
expect_err "purge with only options" 1 "^usage: thoth" -- thoth purge --dry-run
expect_err "purge with a bad spec" 1 "^thoth-filter: " -- thoth purge mtime=6x
expect_err "bad age" 1 "^thoth-purge: bad age '2x'" -- thoth purge --older-than 2x ""
expect_err "bad count" 1 "^thoth-purge: 0: -k wants a count" -- thoth purge --keep-newest 0 ""
expect_err "unknown option" 1 "^usage: thoth-purge" -- thoth purge --frobnicate ""
expect_err "unknown dump: exit 2" 2 "ffffffffffffffffffffffffffffffff: no such dump" -- \
    thoth-purge -q <<<'{"id":"ffffffffffffffffffffffffffffffff"}'
expect_err "record without id" 1 "-:1: record has no valid \"id\"" -- thoth-purge -q <<<'{"cmd":"x"}'
expect_err "parse error" 1 "-:1: parse error" -- thoth-purge -q <<<'nope'
same "store unchanged after errors" "$(store_state)" "$before"

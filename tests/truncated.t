#!/usr/bin/env bash
# tests/truncated.t - cores the kernel cut short at ulimit -c (notes
# whole, memory cut): a record with truncated, size and expected_size,
# the stack eu-stack finds in what is there, stored by thoth ingest.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "truncated cores" || exit 0
unset THOTH_SIGNATURE_RULES
export THOTH_INGEST_LOCK="$T/lock" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
peek() { python3 "$TOP/tests/fixtures/mkcore.py" peek "$@"; }

# cut NAME KB PROGRAM: a core of PROGRAM made under ulimit -c KB.
cut() {
	rm -rf "$T/s" && mkdir -p "$T/s"
	{ (cd "$T/s" && ulimit -c "$2" && "$3") >/dev/null 2>&1; } 2>/dev/null
	mv "$T/s"/core* "$T/$1" 2>/dev/null
}
# names CORE: function names of thoth-meta's stack (or the address of a
# frame in no module); oracle: eu-stack's.
names() { thoth-hash "$1" | thoth-meta | jq -r '.stack[] | sub("^[^`]*`"; "") | sub("\\+0x[0-9a-f]+$"; "")'; }
oracle() {
	eu-stack --core "$1" 2>/dev/null |
	    awk '/^TID/ { n++; next } n == 1 && /^#/ { sub(/^0x0*/, "0x", $2); print (NF > 2 ? $3 : $2) }'
}
cut core.segv50 50 "$CORES/segv"
cut core.abrt60 60 "$CORES/abrt-threads"
for c in core.segv50 core.abrt60; do
	f=$T/$c
	[ -f "$f" ] || { fail "$c: no core under ulimit -c"; continue; }
	end=$(peek end "$f")
	truth "$c: cut short by the kernel" test "$(stat -c %s "$f")" -lt "$end"
	expect "$c: thoth-hash: truncated, size, expected_size" 0 \
	    "true $(stat -c %s "$f") $end" -- \
	    bash -c 'thoth-hash "$1" | jq -r "[.truncated, .size, .expected_size] | join(\" \")"' - "$f"
	same "$c: the stack is eu-stack's" "$(names "$f")" "$(oracle "$f")"
	same "$c: stack_status says the core is truncated" \
	    "$(thoth-hash "$f" | thoth-meta | jq -r .stack_status)" "partial: core truncated"
done
same "segv cut: the faulting frame is there" "$(names "$T/core.segv50" | head -n 1)" crash_here

# Compressed: thoth-hash cannot tell without decompressing, thoth-meta can.
zstd -q -c <"$T/core.segv50" >"$T/segv50.zst"
same "compressed cut core: thoth-meta says truncated" \
    "$(thoth-hash "$T/segv50.zst" | thoth-meta -S | jq -c '[.truncated, .size, .expected_size]')" \
    "[true,$(stat -c %s "$T/core.segv50"),$(peek end "$T/core.segv50")]"

# Ingested and stored, not "not dumps"; the stored record says truncated.
mkdir -p "$T/spool"
cp "$T/core.segv50" "$T/core.abrt60" "$T/segv50.zst" "$T/spool/" 2>/dev/null
rm -f "$T/spool/segv50.zst"
touch -d @1600000000 "$T/spool"/*
expect "ingest of truncated cores" 0 "" -- thoth ingest --settle 0 "$T/spool"
truth "... both stored, none \"not dumps\"" grep -q \
    '^thoth ingest: 2 found, 2 new, 2 uploaded, 0 record only, 0 failed, 0 skipped (busy), 0 not dumps' "$T/stderr"
same "... the index says truncated" "$(thoth-filter -I | jq -c '[.truncated, .stack_status]' | sort -u)" \
    '[true,"partial: core truncated"]'

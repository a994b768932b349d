#!/usr/bin/env bash
# tests/ingest-compressed.t - thoth ingest of gzip, xz, lz4 and zstd cores
# (zstd streamed without a content size, as systemd-coredump writes it):
# every one stored, none counted as "not dumps"; --remove-after-upload
# checks a compressed source against the stored copy before removing it.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "ingest of compressed cores" || exit 0
unset THOTH_SIGNATURE_RULES THOTH_REMOTE_BIN
export THOTH_NOW='' THOTH_INGEST_LOCK="$T/lock" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
for z in gzip xz lz4 zstd; do
	command -v "$z" >/dev/null || { skip "ingest of compressed cores" "no $z command"; exit 0; }
done
summary() { grep '^thoth ingest: [0-9]* found' "$T/stderr"; }

# spool DIR: four cores, each compressed another way, and a plain one.
spool() {
	mkdir -p "$1"
	gzip -c "$CORES/core.segv" >"$1/core.segv.gz"
	xz -T1 -c "$CORES/core.abrt" >"$1/core.abrt.xz"
	lz4 -q -c "$CORES/core.sh" >"$1/core.sh.lz4"
	zstd -q -c <"$CORES/core.gcore" >"$1/core.gcore.zst"
	echo "not a dump" | gzip -c >"$1/notes.gz"
	touch -d @1600000000 "$1"/*
}
D=$T/spool
spool "$D"
same "the streamed zstd has no content size (thoth-hash gives no size)" \
    "$(thoth-hash "$D/core.gcore.zst" | jq -c 'has("size")')" false
ids=$(for c in segv abrt sh gcore; do thoth-hash -i "$CORES/core.$c"; done | sort)

expect "dry run: the four compressed cores are new" 0 "$ids" -- \
    bash -c 'thoth ingest --dry-run --settle 0 "$1" | cut -d" " -f1 | sort' - "$D"
same "dry run summary: one not a dump (notes.gz), no dump dropped" "$(summary)" \
    "thoth ingest: 5 found, 4 new, 0 uploaded, 0 record only, 0 failed, 0 skipped (busy), 1 not dumps, 0 deferred (deadline)"
thoth-hash "$CORES/core.segv" | thoth-put -q -Z >/dev/null
expect "ingest stores every compressed core" 0 "" -- thoth ingest --settle 0 "$D"
same "... summary" "$(summary)" \
    "thoth ingest: 5 found, 3 new, 3 uploaded, 0 record only, 0 failed, 0 skipped (busy), 1 not dumps, 0 deferred (deadline)"
same "... the index has all four" "$(thoth-filter -I | jq -r .id | sort)" "$ids"
for c in abrt sh gcore; do
	id=$(thoth-hash -i "$CORES/core.$c")
	same "core.$c: size is the plain core's, compression kept" \
	    "$(thoth-filter -I | jq -c --arg id "$id" 'select(.id == $id) | [.size, .compression]')" \
	    "[$(stat -c %s "$CORES/core.$c"),$(thoth-hash "$D"/core."$c".* | jq .compression)]"
done
truth "the streamed zstd is stored as it was" \
    cmp -s "$D/core.gcore.zst" "$THOTH_STORE/$(thoth-hash -i "$CORES/core.gcore")/core.gcore.zst"

# --remove-after-upload: the already stored compressed files are
# removed once found equal to the store's copies (core.segv.gz against
# the zstd the store made of the plain core: compared decompressed).
expect "remove-after-upload of stored compressed cores" 0 "" -- \
    thoth ingest --settle 0 --remove-after-upload "$D"
same "... every dump removed, the non-dump left" "$(cd "$D" && ls)" "notes.gz"
rm -rf "$THOTH_STORE" "$D"
spool "$D"
expect "fresh store: upload then remove" 0 "" -- thoth ingest --settle 0 --remove-after-upload "$D"
same "... summary" "$(summary)" \
    "thoth ingest: 5 found, 4 new, 4 uploaded, 0 record only, 0 failed, 0 skipped (busy), 1 not dumps, 0 deferred (deadline), 4 removed"
same "... every dump removed" "$(cd "$D" && ls)" "notes.gz"

# The same core compressed another way (other bytes, same id): kept
# unless it decompresses to the stored core; a damaged one is kept.
gzip -1 -c "$CORES/core.segv" >"$D/again.gz"
zstd -q -c "$CORES/core.abrt" >"$D/again.zst"
head -c -100 "$CORES/core.sh" | xz -T1 -c >"$D/short.xz"
touch -d @1600000000 "$D"/*
expect "recompressed copies of stored cores" 0 "" -- thoth ingest --settle 0 --remove-after-upload "$D"
same "... removed when they decompress to the stored core" "$(cd "$D" && ls)" "notes.gz
short.xz"

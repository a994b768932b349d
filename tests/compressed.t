#!/usr/bin/env bash
# tests/compressed.t - gzip, zstd, xz and lz4 cores: same ids and facts as plain, put -z/-Z, fetch.
# shellcheck disable=SC2016  # bash -c scripts take their arguments as $1...
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "compressed cores" || exit 0
mkcore() { python3 "$TOP/tests/fixtures/mkcore.py" core "$@"; }
mkdump() { python3 "$TOP/tests/fixtures/mkdump.py" "$@"; }
export TMPDIR="$T/tmp" THOTH_CACHE="$T/cache"
mkdir -p "$TMPDIR"

# squeeze FORMAT IN OUT: IN compressed with the FORMAT's own CLI.
squeeze() {
	case $1 in
	gzip) gzip -c "$2" >"$3" ;;
	zstd) zstd -q -c "$2" >"$3" ;;
	xz) xz -T1 -c "$2" >"$3" ;;
	lz4) lz4 -q -c "$2" >"$3" ;;
	esac
}
suffix() { case $1 in gzip) echo gz ;; zstd) echo zst ;; *) echo "$1" ;; esac; }
# facts FILE [FLAGS]: thoth-hash | thoth-meta, without what depends on
# the file rather than the dump (a core's time is its file's mtime).
facts() {
	thoth-hash "$1" | thoth-meta "${@:2}" 2>/dev/null | jq -cS 'del(.file,
	    .compression, .stored_size) | if .type == "core" then del(.time) else . end'
}
# dumps: the files of dumps in the store (not the index's).
dumps() { find "$THOTH_STORE" -path "$THOTH_STORE/index" -prune -o -type f -print 2>/dev/null; }

formats=()
for f in gzip zstd xz lz4; do
	if command -v "$f" >/dev/null; then
		formats+=("$f")
	else
		skip "$f cores" "no $f command here (Debian package ${f/xz/xz-utils})"
	fi
done

# Every real core, each way: the id of the plain core, and thoth-meta's
# facts (stack, build-ids, size included) those of the plain core.
for c in segv abrt sh gcore; do
	id=$(thoth-hash -i "$CORES/core.$c")
	plain=$(facts "$CORES/core.$c" -S)
	for f in "${formats[@]}"; do
		z=$T/core.$c.$(suffix "$f")
		squeeze "$f" "$CORES/core.$c" "$z"
		expect "core.$c.$f: the plain core's id" 0 "$id" -- thoth-hash -i "$z"
		same "core.$c.$f: thoth-meta -S facts = the plain core's" \
		    "$(facts "$z" -S)" "$plain"
	done
done
for f in "${formats[@]}"; do
	same "core.segv.$f: stack = the plain core's" \
	    "$(facts "$T/core.segv.$(suffix "$f")" | jq -c .stack)" \
	    "$(facts "$CORES/core.segv" | jq -c .stack)"
	same "core.segv.$f: compression and stored_size" \
	    "$(thoth-hash "$T/core.segv.$(suffix "$f")" | jq -c '[.compression, .stored_size]')" \
	    "[\"$f\",$(stat -c %s "$T/core.segv.$(suffix "$f")")]"
done
same "no temporary file left in TMPDIR" "$(find "$TMPDIR" -mindepth 1)" ""

# size: the uncompressed size when the frame header states it.
size=$(stat -c %s "$CORES/core.abrt")
same "zstd from a file: size from the frame header" \
    "$(thoth-hash "$T/core.abrt.zst" | jq .size)" "$size"
zstd -q -c <"$CORES/core.abrt" >"$T/pipe.zst"
same "zstd from a pipe (as systemd-coredump): no size from thoth-hash" \
    "$(thoth-hash "$T/pipe.zst" | jq -c 'has("size")')" false
same "... thoth-meta decompresses it and knows it" \
    "$(printf '{"file":"%s"}\n' "$T/pipe.zst" | thoth-meta -S | jq .size)" "$size"
lz4 -q --content-size -c "$CORES/core.abrt" >"$T/size.lz4"
same "lz4 --content-size: size from the frame header" \
    "$(thoth-hash "$T/size.lz4" | jq .size)" "$size"
same "gzip: no size from thoth-hash (ISIZE is modulo 4 GiB)" \
    "$(thoth-hash "$T/core.abrt.gz" | jq -c 'has("size")')" false
cp -p "$CORES/core.segv" "$T/old" &&
    touch -d @981173106 "$T/old" && gzip -c "$T/old" >"$T/old.gz"
same "gzip: time is the compressed file's MTIME" \
    "$(thoth-hash "$T/old.gz" | jq .time)" 981173106
head -c 100000 "$CORES/core.abrt" >"$T/part1" && tail -c +100001 "$CORES/core.abrt" >"$T/part2"
{ gzip -c "$T/part1"; gzip -c "$T/part2"; } >"$T/multi.gz"
expect "gzip of two members: the plain core's id" 0 "$(thoth-hash -i "$CORES/core.abrt")" \
    -- thoth-hash -i "$T/multi.gz"
same "... and its size once decompressed" \
    "$(printf '{"file":"%s"}\n' "$T/multi.gz" | thoth-meta -S | jq .size)" "$size"

# Crash dumps and foreign cores compressed: ids and facts kept.
mkdump kdump "$T/kdump"
mkdump illumos "$T/vmdump"
mkcore "$T/vmcore" os=vmcore
mkcore "$T/illumos" os=illumos
for d in kdump vmdump vmcore illumos; do
	zstd -q -c "$T/$d" >"$T/$d.zst"
	same "$d.zst: same id and facts as $d" "$(facts "$T/$d.zst")" "$(facts "$T/$d")"
done

# Malformed: "thoth-hash: FILE: reason", exit 1, nothing stored.
bad() {	# bad NAME REGEX FILE
	expect_err "$1" 1 "^thoth-hash: $3: $2\$" -- thoth-hash "$3"
}
head -c 300 "$T/core.segv.gz" >"$T/cut.gz"
bad "gzip cut in the headers" "gzip: unexpected end of compressed data" "$T/cut.gz"
head -c 30 "$T/core.segv.zst" >"$T/cut.zst"
bad "zstd cut in the headers" "zstd: unexpected end of compressed data" "$T/cut.zst"
head -c 200 "$T/core.segv.xz" >"$T/cut.xz"
bad "xz cut in the headers" "xz: unexpected end of compressed data" "$T/cut.xz"
head -c 200 "$T/core.segv.lz4" >"$T/cut.lz4"
bad "lz4 cut in the headers" "lz4: unexpected end of compressed data" "$T/cut.lz4"
cp "$T/core.segv.gz" "$T/corrupt.gz"
printf '\377\377\377\377\377\377\377\377' | dd of="$T/corrupt.gz" bs=1 seek=20 conv=notrunc 2>/dev/null
bad "gzip with corrupt data" "gzip: .+" "$T/corrupt.gz"
cp "$T/core.segv.zst" "$T/corrupt.zst"
printf '\377\377\377\377\377\377\377\377' | dd of="$T/corrupt.zst" bs=1 seek=4 conv=notrunc 2>/dev/null
bad "zstd with a corrupt frame header" "zstd: .+" "$T/corrupt.zst"
printf 'not a core at all\n' | gzip -c >"$T/garbage.gz"
bad "gzip of something else" "not an ELF file or a kernel crash dump" "$T/garbage.gz"
: | gzip -c >"$T/empty.gz"
bad "gzip of nothing" "gzip: empty dump" "$T/empty.gz"
read -r noff _ < <(python3 "$TOP/tests/fixtures/mkcore.py" peek note "$CORES/core.abrt")
head -c $((noff + 100)) "$CORES/core.abrt" | zstd -q -c >"$T/short.zst"
bad "a core cut in its notes, compressed" "truncated: $((noff + 100)) of [0-9]+ bytes" "$T/short.zst"
# Headers whole, memory cut: thoth-hash cannot tell (it reads only the
# headers), thoth-meta decompresses it all and refuses it.
head -c $(($(stat -c %s "$T/core.abrt.gz") - 2000)) "$T/core.abrt.gz" >"$T/memcut.gz"
expect "memory cut short: thoth-hash gives the id" 0 "$(thoth-hash -i "$CORES/core.abrt")" \
    -- thoth-hash -i "$T/memcut.gz"
before=$(dumps)
expect_err "... thoth-meta refuses it, nothing stored" 1 \
    "^thoth-meta: $T/memcut.gz: gzip: unexpected end of compressed data\$" -- bash -c \
    'set -o pipefail; thoth-hash "$1" | thoth-meta -S | thoth-put -q' - "$T/memcut.gz"
same "... the store is unchanged" "$(dumps)" "$before"
chmod 500 "$TMPDIR"
if [ "$(id -u)" != 0 ]; then
	expect_err "no room for the temporary file: a clear error" 1 \
	    "^thoth-meta: $T/core.segv.gz: temporary file $TMPDIR/thoth-meta\\.[A-Za-z0-9]+: Permission denied\$" \
	    -- bash -c 'printf "{\"file\":\"%s\"}\n" "$1" | thoth-meta -S' - "$T/core.segv.gz"
else
	TMPDIR=$T/nosuch expect_err "no temporary directory: a clear error" 1 \
	    "^thoth-meta: $T/core.segv.gz: temporary file $T/nosuch/thoth-meta\\.[A-Za-z0-9]+: No such file or directory\$" \
	    -- bash -c 'printf "{\"file\":\"%s\"}\n" "$1" | thoth-meta -S' - "$T/core.segv.gz"
fi
chmod 700 "$TMPDIR"

# thoth-put -z / -Z: stored compressed, same id, fetched plain.
id=$(thoth-hash -i "$CORES/core.abrt")
cp "$CORES/core.abrt" "$T/up.abrt"
rec=$(thoth-hash "$T/up.abrt" | thoth-put -q -Z)
same "put -Z: stored as NAME.zst" "$(jq -r .dump <<<"$rec")" "$THOTH_STORE/$id/up.abrt.zst"
same "put -Z: compression, size, stored_size" "$(jq -c '[.compression, .size, .stored_size]' <<<"$rec")" \
    "[\"zstd\",$size,$(stat -c %s "$THOTH_STORE/$id/up.abrt.zst")]"
truth "put -Z: the stored object is the core, compressed" \
    cmp -s "$CORES/core.abrt" <(zstd -dc "$THOTH_STORE/$id/up.abrt.zst")
same "put -Z: the stored object has the core's id" "$(thoth-hash -i "$THOTH_STORE/$id/up.abrt.zst")" "$id"
same "put -Z: no temporary file left" "$(find "$TMPDIR" -mindepth 1)" ""
path=$(thoth-fetch "$id")
same "fetch: a plain core in the cache" "$path" "$THOTH_CACHE/$id/up.abrt"
truth "fetch: ... equal to the original" cmp -s "$path" "$CORES/core.abrt"
same "fetch again: the cached copy" "$(thoth-fetch "$id")" "$path"
id=$(thoth-hash -i "$CORES/core.segv")
rec=$(thoth-hash "$CORES/core.segv" | thoth-put -q -z)
same "put -z: stored as NAME.gz, gzip" "$(jq -c '[.dump, .compression]' <<<"$rec")" \
    "[\"$THOTH_STORE/$id/core.segv.gz\",\"gzip\"]"
truth "put -z: gunzip gives the core back" cmp -s "$CORES/core.segv" <(gzip -dc "$THOTH_STORE/$id/core.segv.gz")
truth "fetch of a gzip dump: plain" cmp -s "$(thoth-fetch "$id")" "$CORES/core.segv"
id=$(thoth-hash -i "$CORES/core.sh")
rec=$(thoth-hash "$T/core.sh.xz" | thoth-put -q -z)
same "put -z of a compressed dump: stored as it is" "$(jq -c '[.dump, .compression]' <<<"$rec")" \
    "[\"$THOTH_STORE/$id/core.sh.xz\",\"xz\"]"
truth "fetch of an xz dump: plain" cmp -s "$(thoth-fetch "$id")" "$CORES/core.sh"
expect_err "put: -z and -Z, usage" 1 '^usage: thoth-put \[-q\] \[-z \| -Z\]' -- thoth-put -x

#!/usr/bin/env bash
# usage: tests/fuzz/seed.sh -- (re)make the seed inputs of every harness
# in tests/fuzz/corpus/NAME/seed-*: small synthetic dumps of every kind
# (tests/fixtures/mkcore.py, mkdump.py), slimmed real cores
# (tests/mkcores.sh, slimcore.py), compressed ones, records, specs and
# index files.  Seeds are small: a few KB each, 64 KB at most.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
fx=$top/tests/fixtures
cd "$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in fuzz_dump_hash fuzz_dump_meta fuzz_dump_stack fuzz_records fuzz_spec fuzz_index; do
	mkdir -p "corpus/$h"
	rm -f "corpus/$h"/seed-*
done

# --- dumps
d=$tmp/dumps
mkdir -p "$d"
mk() { python3 "$fx/mkcore.py" core "$d/$1" "${@:2}"; }
mk core64lsb class=64 order=lsb psargs='sh -c "echo it'"'"'s"'
mk core64msb class=64 order=msb
mk core32lsb class=32 order=lsb idsize=2
mk core32msb class=32 order=msb
mk core-few class=64 order=lsb notes=prstatus,file
mk core-none class=64 order=lsb notes=
mk illumos class=64 order=lsb os=illumos
mk illumos32 class=32 order=msb os=illumos
mk vmcore class=64 order=lsb os=vmcore
mk vmcore32 class=32 order=lsb os=vmcore uts=0
mk note-out class=64 order=lsb note_offset=100000
mk note-huge class=64 order=lsb note_filesz=0xffffffff
python3 "$fx/mkdump.py" kdump "$d/kdump" >/dev/null
python3 "$fx/mkdump.py" kdump "$d/kdump32msb" word=32 order=msb >/dev/null
python3 "$fx/mkdump.py" kdump "$d/diskdump" sig=DISKDUMP >/dev/null
python3 "$fx/mkdump.py" kdump "$d/kdump-flat" flat=1 >/dev/null
python3 "$fx/mkdump.py" illumos "$d/illumos-dump" >/dev/null
python3 "$fx/mkdump.py" illumos "$d/illumos-dump32" word=32 order=msb >/dev/null
gzip -9 -n -c "$d/core64lsb" >"$d/core64lsb.gz"
zstd -q -19 -c "$d/core64lsb" >"$d/core64lsb.zst"
xz -c "$d/vmcore" >"$d/vmcore.xz"
lz4 -q -c "$d/kdump" >"$d/kdump.lz4"
# Real cores, slimmed to their headers, notes and small segments.
if "$top/tests/mkcores.sh" "$top/tests/tmp/cores" 2>/dev/null; then
	for c in segv abrt sh gcore; do
		python3 slimcore.py "$top/tests/tmp/cores/core.$c" "$d/real-$c" 4096
	done
	gzip -n -c "$d/real-segv" >"$d/real-segv.gz"
fi
for f in "$d"/*; do
	[ "$(stat -c %s "$f")" -le 65536 ] || { rm -f "$f"; continue; }
	for h in fuzz_dump_hash fuzz_dump_meta fuzz_dump_stack; do
		cp "$f" "corpus/$h/seed-$(basename "$f")"
	done
done
rm -f corpus/fuzz_dump_stack/seed-*{32,msb,illumos,vmcore,kdump,diskdump}* \
    corpus/fuzz_dump_stack/seed-note-*

# --- records
r=corpus/fuzz_records
cp "$fx/records.ndjson" "$r/seed-fixture"
python3 /work/shared/bench/gen-index 8 >"$r/seed-gen-index" 2>/dev/null ||
    head -n 8 "$fx/records.ndjson" >"$r/seed-gen-index"
printf '{"id":"%s","psargs":"a\\"b\\nc\\u0000\\ud83d\\ude00","n":1e400}\n\n  \n{"id":1}\n[1]\n{"a":{"a":{"a":[[[{}]]]}}}\n{"x":"\xff\xfe"}\n{"dup":1,"dup":2}\n{"torn":' \
    0123456789abcdef0123456789abcdef >"$r/seed-odd"

# --- specs: a line of tokens, then records
s=corpus/fuzz_spec
recs=$(cat "$fx/records.ndjson")
n=0
while IFS= read -r spec; do
	n=$((n + 1))
	printf '%s\n%s\n' "$spec" "$recs" >"$s/seed-$n"
done <<'SPECS'
cmd=node
@platform cmd=svc.*
stack=*crash_here* @stack
properties.triage.engineer=bmc @properties.triage
triage.engineer=bmc ticket=undefined
mtime=6h limit=3
otime=1w @ticket
cmd=[a-s]* psargs=*server?js
0a1b @id
uploaded=1699996400 time=1699990000
build_ids.file=/usr/bin/* @build_ids
node=host\* pid=1?1
undefined=undefined
SPECS
printf 'dump=stdin\n0a1b2c3d4e5f60718293a4b5c6d7e8f9\nab12\n' >"$s/seed-stdin-ids"
printf 'dump=stdin cmd=node\n%s\n' "$recs" >"$s/seed-stdin-recs"
printf 'cmd=a\n{"cmd":"a","id":"0123456789abcdef0123456789abcdef"}\n{"cmd" : "a"}\n{"cmd":"\\u0061"}\n{"cmd":"a","cmd":"a"}\n{"cmd":"a"' >"$s/seed-canon"

# --- index: spec line, base, ~J, journal, ~S, summary body
x=corpus/fuzz_index
sorted=$(jq -c -s 'sort_by(.time) | .[]' "$fx/records.ndjson")
newer=$(head -n 3 "$fx/records.ndjson" | jq -c '.time += 100000 | .ticket = "NEW-1"')
printf '\n%s\n' "$sorted" >"$x/seed-base"
printf 'mtime=200y\n%s\n~J\n%s\n' "$sorted" "$newer" >"$x/seed-journal"
printf 'cmd=node\n%s\n~J\n%s\n{"id":"torn' "$sorted" "$newer" >"$x/seed-torn"
printf 'otime=1d\n%s\n' "$(cat "$fx/records.ndjson")" >"$x/seed-unsorted"
printf 'mtime=1d\n%s\n~S\n%s' "$sorted" "$(head -c 64 /dev/zero | tr '\0' '\1')" >"$x/seed-summary"
printf '\n~J\n%s\n' "$newer" >"$x/seed-journal-only"
# Tokens the block filters answer (with one-line blocks, most are passed over).
for t in ticket=OS-2359 triage.engineer=bmc properties.triage.engineer=rm \
    node=hostB ab12 id=ab12ff0b4c3d2e1f0a9b8c7d6e5f4a3b 'id=ab12*' \
    'cmd=svc.configd ticket=OS-1' signature.hash=0011223344556677 \
    'properties.triage={"engineer":"bmc","category":"SMF"}'; do
	printf '%s\n%s\n' "$t" "$sorted" >"$x/seed-keys-${t%%[=* ]*}"
done
# Summaries that pass the reader's checks (size, block size): one and two
# blocks, offsets at the start, in a line, backwards, past the end.
python3 - "$x" "$sorted" <<'PY'
import struct, sys
x, base = sys.argv[1], sys.argv[2].encode() + b"\n"
def blk(off, flags=2, mn=0, mx=1 << 62, line0=0, bloom=0):
    return struct.pack("<QQqqII", off, line0, mn, mx, flags, bloom)
def body(*blocks, buckets=b""):
    return struct.pack("<QIIQ", len(blocks), 1, 65536, len(buckets) // 32) + \
        b"".join(blocks) + blocks[0] + buckets
for name, b in [("ok", body(blk(0))), ("mid-line", body(blk(100))),
                ("two", body(blk(0), blk(300))), ("backwards", body(blk(500), blk(20))),
                ("far", body(blk(1 << 40))),
                # filters that lie (an empty one), or point past the end
                ("bloom-empty", body(blk(0), buckets=bytes(32))),
                ("bloom-past", body(blk(0, bloom=1), buckets=bytes(32)))]:
    with open("%s/seed-summary-%s" % (x, name), "wb") as f:
        f.write(b"mtime=200y\n" + base + b"~S\n" + b)
PY
echo "seeds: $(find corpus -name 'seed-*' | wc -l) files, $(du -sh corpus | cut -f1)"

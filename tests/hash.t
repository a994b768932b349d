#!/usr/bin/env bash
# tests/hash.t - thoth-hash: ids against an independent SHA-256, and every rejection.
# shellcheck disable=SC2016  # bash -c scripts take their arguments as $1...
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "thoth-hash on real cores" || exit 0

# Synthetic cores and an independent hash: tests/fixtures/mkcore.py.
peek() { python3 "$TOP/tests/fixtures/mkcore.py" peek "$@"; }
mkcore() { python3 "$TOP/tests/fixtures/mkcore.py" core "$@"; }
core32() { python3 "$TOP/tests/fixtures/mkcore.py" core32 "$1"; }

# record FILE [PATH]: the record thoth-hash should print for FILE (named
# PATH on the command line), from python's SHA-256 and stat(1).
record() {
	printf '{"id":"%s","type":"core","file":"%s","size":%s,"time":%s}' \
	    "$(peek id "$1")" "${2:-$1}" "$(stat -c %s "$1")" "$(stat -c %Y "$1")"
}

# The real cores: exact records.
for c in segv abrt sh gcore; do
	expect "core.$c: id, type, file, size, time" 0 "$(record "$CORES/core.$c")" \
	    -- thoth-hash "$CORES/core.$c"
done
expect "several files: one record each, in order" 0 \
    "$(record "$CORES/core.segv"; echo; record "$CORES/core.abrt")" \
    -- thoth-hash "$CORES/core.segv" "$CORES/core.abrt"
expect "-i: ids only" 0 "$(peek id "$CORES/core.segv"; peek id "$CORES/core.sh")" \
    -- thoth-hash -i "$CORES/core.segv" "$CORES/core.sh"
same "the four cores have four ids" \
    "$(thoth-hash -i "$CORES"/core.* | sort -u | wc -l)" 4

# The id belongs to the dump, not to its name, place or age.
mkdir -p "$T/copies/deeper"
cp "$CORES/core.segv" "$T/copies/renamed"
cp "$CORES/core.segv" "$T/copies/deeper/core.segv"
touch -d @981173106 "$T/copies/deeper/core.segv"
ln -s "$CORES/core.segv" "$T/copies/link"
id=$(peek id "$CORES/core.segv")
expect "same id: copy, other name, other mtime, symlink" 0 \
    "$id"$'\n'"$id"$'\n'"$id"$'\n'"$id" -- thoth-hash -i "$T/copies/renamed" \
    "$T/copies/deeper/core.segv" "$T/copies/link" "$CORES/core.segv"
expect "relative path: same id, file as given" 0 "$(record "$CORES/core.segv" core.segv)" \
    -- bash -c 'cd "$1" && thoth-hash core.segv' - "$CORES"
expect "time is the file's mtime" 0 981173106 \
    -- bash -c 'thoth-hash "$1" | jq .time' - "$T/copies/deeper/core.segv"

# What the id covers: a byte in the notes changes it, one in memory does not.
read -r noff _ < <(peek note "$CORES/core.segv")
cp "$CORES/core.segv" "$T/notebyte"
printf 'X' | dd of="$T/notebyte" bs=1 seek=$((noff + 200)) conv=notrunc 2>/dev/null
cp "$CORES/core.segv" "$T/loadbyte"
printf 'X' | dd of="$T/loadbyte" bs=1 seek=$(($(stat -c %s "$T/loadbyte") - 100)) \
    conv=notrunc 2>/dev/null
expect "a changed note byte: a new id (python agrees)" 0 "$(peek id "$T/notebyte")" \
    -- thoth-hash -i "$T/notebyte"
truth "... which differs from the original" test "$(peek id "$T/notebyte")" != "$id"
expect "a changed memory byte: the same id" 0 "$id" -- thoth-hash -i "$T/loadbyte"

# Other classes and byte orders.
if core32 "$T/m32" && [ -f "$T/m32/core" ]; then
	expect "32-bit i386 core: record" 0 "$(record "$T/m32/core")" \
	    -- thoth-hash "$T/m32/core"
else
	skip "32-bit i386 core" "cannot build or crash a -m32 program here (gcc-multilib?)"
fi
mkcore "$T/be64"
mkcore "$T/be32" class=32 machine=20
mkcore "$T/le32" class=32 order=lsb machine=3 idsize=2
for c in be64 be32 le32; do
	expect "synthetic $c core: record" 0 "$(record "$T/$c")" -- thoth-hash "$T/$c"
done
truth "big- and little-endian twins differ" test \
    "$(thoth-hash -i "$T/be32")" != "$(thoth-hash -i "$T/le32")"

# Rejections: exit 1, "thoth-hash: FILE: reason", nothing on stdout.
# bad NAME REGEX FILE: thoth-hash FILE fails saying REGEX about FILE.
bad() {
	expect_err "$1" 1 "^thoth-hash: $3: $2\$" -- thoth-hash "$3"
}
printf 'this is not a core\n' >"$T/garbage"
: >"$T/empty"
cc -c -o "$T/obj.o" "$TOP/tests/fixtures/segv.c"
bad "garbage" "not an ELF file or a kernel crash dump" "$T/garbage"
bad "empty file" "empty file" "$T/empty"
bad "PIE executable" "ELF shared object or PIE executable, not a core" "$CORES/segv"
bad "relocatable object" "ELF relocatable object, not a core" "$T/obj.o"
bad "a directory" "is a directory" "$T/copies"
bad "a missing file" "No such file or directory" "$T/nosuch"
bad "a device" "not a regular file" /dev/null
cp "$CORES/core.segv" "$T/unreadable" && chmod 000 "$T/unreadable"
if [ "$(id -u)" != 0 ]; then
	bad "unreadable file" "Permission denied" "$T/unreadable"
elif setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN/thoth-hash"; then
	expect_err "unreadable file (as nobody)" 1 \
	    "^thoth-hash: $T/unreadable: Permission denied\$" -- setpriv \
	    --reuid=65534 --regid=65534 --clear-groups "$BIN/thoth-hash" "$T/unreadable"
else
	skip "unreadable file" "root reads any file and cannot become nobody here"
fi

# Truncated real cores: cut inside each part, "truncated: N of M bytes"
# with M what that part says the file needs (python reads the headers).
size=$(stat -c %s "$CORES/core.segv")
phend=$(peek phend "$CORES/core.segv")
truth "core.segv's last segment ends at its size" test "$(peek end "$CORES/core.segv")" = "$size"
cut() {	# cut NAME BYTES NEED
	head -c "$2" "$CORES/core.segv" >"$T/cut.$2"
	bad "truncated inside $1" "truncated: $2 of $3 bytes" "$T/cut.$2"
}
cut "the ELF magic" 3 64
cut "the ELF header" 40 64
cut "the program headers" 100 "$phend"
cut "the program headers, at their start" 64 "$phend"
cut "the notes" $((noff + 300)) "$size"
cut "the notes, at their start" "$noff" "$size"
# Notes whole, memory cut (as ulimit -c cuts): a record that says so
# (tests/truncated.t has the kernel's own).
head -c $((size - 4096)) "$CORES/core.segv" >"$T/cut.mem"
expect "cut inside the memory segments: truncated, sizes" 0 \
    "$(thoth-hash -i "$CORES/core.segv") true $((size - 4096)) $size" -- \
    bash -c 'thoth-hash "$1" | jq -r "[.id, .truncated, .size, .expected_size] | join(\" \")"' - "$T/cut.mem"
gsize=$(stat -c %s "$CORES/core.gcore")
head -c $((gsize - 20000)) "$CORES/core.gcore" >"$T/cut.gcore"
bad "truncated gcore (notes last)" \
    "truncated: $((gsize - 20000)) of $(peek end "$CORES/core.gcore") bytes" "$T/cut.gcore"
cp "$CORES/core.segv" "$T/farnote"
peek set-note-offset "$T/farnote" 0x10000000
bad "PT_NOTE past the end of the file" \
    "PT_NOTE at offset 0x10000000 is past the end of the file \\($size bytes\\)" "$T/farnote"

# Broken headers, made synthetic.
mkcore "$T/nonotes" notes= load_filesz=16
mkcore "$T/nophdrs" notes=
mkcore "$T/hugenote" note_filesz=$((1 << 62))
mkcore "$T/wrapload" load_offset=0xfffffffffffffff0 load_filesz=4096
mkcore "$T/badorder" data=3
mkcore "$T/badclass" class=32 machine=20 size=100
printf '\003' | dd of="$T/badclass" bs=1 seek=4 conv=notrunc 2>/dev/null
mkcore "$T/exec" type=2
bad "no PT_NOTE" "no PT_NOTE segment" "$T/nonotes"
bad "no program headers" "no program headers" "$T/nophdrs"
bad "absurd note size" "absurd PT_NOTE size 4611686018427387904 bytes" "$T/hugenote"
bad "segment offset + size overflows" "absurd segment 1: offset 0xfffffffffffffff0, 4096 bytes" \
    "$T/wrapload"
bad "bad byte order" "bad ELF byte order 3" "$T/badorder"
bad "bad class" "bad ELF class 3" "$T/badclass"
bad "ET_EXEC" "ELF executable, not a core" "$T/exec"

# Good and bad together: good records printed, each bad one named, exit 1.
expect "one bad file among good ones: exit 1, good records out" 1 \
    "$(record "$CORES/core.segv"; echo; record "$CORES/core.sh")" \
    -- thoth-hash "$CORES/core.segv" "$T/garbage" "$CORES/core.sh" "$T/nosuch"
same "... and one line per bad file on stderr" "$(cat "$T/stderr")" \
    "thoth-hash: $T/garbage: not an ELF file or a kernel crash dump"$'\n'"thoth-hash: $T/nosuch: No such file or directory"

# Usage.
expect_err "no file: usage" 1 '^usage: thoth-hash \[-i\] file \.\.\.$' -- thoth-hash
expect_err "unknown flag: usage" 1 '^usage: thoth-hash' -- thoth-hash -x "$CORES/core.segv"

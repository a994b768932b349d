#!/usr/bin/env bash
# tests/hash.t - thoth-hash: ids against an independent SHA-256, and every rejection.
# shellcheck disable=SC2016  # bash -c scripts take their arguments as $1...
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "thoth-hash on real cores" || exit 0

# BEGIN shared: meta.t sources the lines from here to "END shared".
#
# elfpeek.py WHAT FILE: facts about an ELF core read with python's struct,
# independently of thoth: "id" (DESIGN §3: first 32 hex digits of the
# SHA-256 of ELF header, program headers and PT_NOTE contents), "phend"
# (end of the program header table), "note" (offset and size of the first
# PT_NOTE), "end" (end of the last segment); "set-note-offset FILE N"
# patches the first PT_NOTE's p_offset.
cat >"$T/elfpeek.py" <<'EOF'
import hashlib, struct, sys
what, path = sys.argv[1], sys.argv[2]
f = open(path, "r+b" if what.startswith("set-") else "rb")
def at(off, n):
    f.seek(off)
    return f.read(n)
ident = at(0, 16)
e, is64 = (">" if ident[5] == 2 else "<"), ident[4] == 2
if is64:
    phoff, = struct.unpack(e + "Q", at(32, 8))
    ehsize, phentsize, phnum = struct.unpack(e + "HHH", at(52, 6))
else:
    phoff, = struct.unpack(e + "I", at(28, 4))
    ehsize, phentsize, phnum = struct.unpack(e + "HHH", at(40, 6))
segs = []
for i in range(phnum):
    b = at(phoff + i * phentsize, phentsize)
    if is64:
        t, _, off, _, _, size = struct.unpack(e + "IIQQQQ", b[:40])
    else:
        t, off, _, _, size = struct.unpack(e + "IIIII", b[:20])
    segs.append((t, off, size, phoff + i * phentsize + (8 if is64 else 4)))
notes = [s for s in segs if s[0] == 4]
if what == "id":
    h = hashlib.sha256(at(0, ehsize) + at(phoff, phnum * phentsize))
    for _, off, size, _ in notes:
        h.update(at(off, size))
    print(h.hexdigest()[:32])
elif what == "phend":
    print(phoff + phnum * phentsize)
elif what == "note":
    print(notes[0][1], notes[0][2])
elif what == "end":
    print(max(off + size for _, off, size, _ in segs if size))
elif what == "set-note-offset":
    f.seek(notes[0][3])
    f.write(struct.pack(e + ("Q" if is64 else "I"), int(sys.argv[3], 0)))
EOF

# mkcore.py OUT [KEY=VALUE...]: a small synthetic Linux core (ET_CORE,
# one PT_NOTE) for what this host cannot make for real: big-endian, odd
# or broken headers.  Keys: class=32|64 order=msb|lsb machine=N
# idsize=2|4 (bytes of pr_uid) pid= uid= sig= cursig= fname= psargs=
# notes=prstatus,prpsinfo,siginfo,auxv,file (which, in order; "" none)
# note_offset= note_filesz= load_offset= load_filesz= size= (file size)
# type= (e_type) data= (EI_DATA).  NT_FILE maps /lib/libc.so.6 first,
# then /opt/big/bin/bigcrash, whose mapping holds AT_PHDR.
cat >"$T/mkcore.py" <<'EOF'
import struct, sys
out, kv = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
num = lambda k, d: int(str(kv.get(k, d)), 0)
cls, msb = num("class", 64), kv.get("order", "msb") == "msb"
e, W = (">" if msb else "<"), ("Q" if cls == 64 else "I")
pid, uid, sig = num("pid", 4242), num("uid", 1000), num("sig", 11)
cursig = num("cursig", sig)
raw = lambda k, d: kv.get(k, d).encode("utf-8", "surrogateescape")
fname, psargs = raw("fname", "bigcrash"), raw("psargs", "bigcrash -x  ")
maps = [(0x20000000, 0x20002000, b"/lib/libc.so.6"),
        (0x10000000, 0x10001000, b"/opt/big/bin/bigcrash")]

def note(ntype, desc):
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack(e + "III", 5, len(desc), ntype) + pad(b"CORE\0") + pad(desc)

def prpsinfo():
    idf = "H" if num("idsize", 4) == 2 else "I"
    head = struct.pack(e + ("BcBb4xQ" if cls == 64 else "BcBbI"), 0, b"R", 0, 0, 0x400600)
    return head + struct.pack(e + idf * 2 + "iiii16s80s", uid, uid, pid, 1, pid, 1,
                              fname, psargs)

def prstatus():
    d = struct.pack(e + "iiih2x" + W * 2 + "iiii", sig, 0, 0, cursig, 0, 0, pid, 1, pid, 1)
    return d + b"\0" * ((336 if cls == 64 else 144) - len(d))

def files():
    d = struct.pack(e + W * 2, len(maps), 4096)
    d += b"".join(struct.pack(e + W * 3, s, t, 0) for s, t, _ in maps)
    return d + b"".join(p + b"\0" for *_, p in maps)

make = {"prstatus": lambda: note(1, prstatus()), "prpsinfo": lambda: note(3, prpsinfo()),
        "siginfo": lambda: note(0x53494749, struct.pack(e + "iii", sig, 0, 0) + b"\0" * 116),
        "auxv": lambda: note(6, struct.pack(e + W * 4, 3, 0x10000040, 0, 0)),
        "file": lambda: note(0x46494c45, files())}
names = [n for n in kv.get("notes", "prstatus,prpsinfo,siginfo,auxv,file").split(",") if n]
notes = b"".join(make[n]() for n in names)
ehsize, phentsize = (64, 56) if cls == 64 else (52, 32)
phdrs = [[4, None, num("note_filesz", len(notes))]] if names else []
if "load_filesz" in kv:
    phdrs.append([1, num("load_offset", 0), num("load_filesz", 0)])
body_end = ehsize + phentsize * len(phdrs)
if names:
    phdrs[0][1] = num("note_offset", body_end)
for p in phdrs[1:]:
    p[1] = p[1] or body_end + len(notes)
ident = b"\x7fELF" + bytes([cls // 32, num("data", 2 if msb else 1), 1]) + b"\0" * 9
ehdr = struct.pack(e + "16sHHI" + W * 3 + "IHHHHHH", ident, num("type", 4),
                   num("machine", 22), 1, 0, ehsize, 0, 0, ehsize, phentsize,
                   len(phdrs), 0, 0, 0)
def phdr(t, off, size):
    if cls == 64:
        return struct.pack(e + "IIQQQQQQ", t, 4, off, 0x10000000, 0, size, size, 4)
    return struct.pack(e + "IIIIIIII", t, off, 0x10000000, 0, size, size, 4, 4)
with open(out, "wb") as f:
    f.write(ehdr + b"".join(phdr(*p) for p in phdrs) + notes)
    if "size" in kv:
        f.truncate(num("size", 0))
EOF

# core32 DIR: makes DIR/core, a real 32-bit (i386) core of segv.c, with
# its binary DIR/segv32; fails when this host has no -m32 toolchain.
core32() {
	mkdir -p "$1/run" &&
	    cc -m32 -g -O0 -o "$1/segv32" "$TOP/tests/fixtures/segv.c" \
	    >/dev/null 2>&1 || return 1
	{ (cd "$1/run" && ulimit -c unlimited && ../segv32) >/dev/null 2>&1; } \
	    2>/dev/null
	mv "$(find "$1/run" -maxdepth 1 -name 'core*' | head -n 1)" "$1/core" \
	    2>/dev/null
}
# END shared

peek() { python3 "$T/elfpeek.py" "$@"; }
mkcore() { python3 "$T/mkcore.py" "$@"; }

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
bad "garbage" "not an ELF file" "$T/garbage"
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
cut "the memory segments" $((size - 4096)) "$size"
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
    "thoth-hash: $T/garbage: not an ELF file"$'\n'"thoth-hash: $T/nosuch: No such file or directory"

# Usage.
expect_err "no file: usage" 1 '^usage: thoth-hash \[-i\] file \.\.\.$' -- thoth-hash
expect_err "unknown flag: usage" 1 '^usage: thoth-hash' -- thoth-hash -x "$CORES/core.segv"

# tests/hostile.t - hostile input (issue 8): ELF cores with huge,
# negative and out-of-file note and header sizes (made by python3 from
# tests/fixtures/mkcore.py), real crashing processes whose name, argv and
# executable path hold quotes, newlines, invalid UTF-8, control
# characters and shell code, spec values and property values with shell
# metacharacters, analyzer names with ../, dump file names with spaces
# and newlines, and store keys and records that try to leave the store.
# Each is refused or handled; records stay valid JSON; nothing is ever
# executed (a marker file would appear) or written outside the store.
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"
need_cores hostile || exit 0
export THOTH_NOW=
pwned=$T/pwned
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

# clean NAME: an exit status that is not a crash, and no marker file.
status_ok() { [ "$1" = 0 ] || [ "$1" = 1 ] || [ "$1" = 2 ]; }

# ---------------------------------------------------------------- hostile ELF cores
cat >"$T/hostile.py" <<'EOF'
"""Hostile variants of synthetic cores (tests/fixtures/mkcore.py)."""
import os, struct, sys
sys.path.insert(0, sys.argv[1])
import mkcore
out = sys.argv[2]

def core(**kv):
    return bytearray(mkcore.Core({k: str(v) for k, v in kv.items()}).build())

def layout(b):
    """(endian, class, phoff, phentsize, phnum) of an ELF header."""
    e = ">" if b[5] == 2 else "<"
    if b[4] == 2:
        phoff, = struct.unpack_from(e + "Q", b, 32)
        phent, phnum = struct.unpack_from(e + "HH", b, 54)
    else:
        phoff, = struct.unpack_from(e + "I", b, 28)
        phent, phnum = struct.unpack_from(e + "HH", b, 42)
    return e, b[4] * 32, phoff, phent, phnum

def phdr(b, i):
    """Offsets of p_type, p_offset, p_filesz of program header i, and their format."""
    e, cls, phoff, phent, _ = layout(b)
    at = phoff + i * phent
    if cls == 64:
        return e, at, at + 8, at + 32, "Q"
    return e, at, at + 4, at + 16, "I"

def note_phdr(b):
    _, _, _, _, phnum = layout(b)
    for i in range(phnum):
        e, t, o, s, w = phdr(b, i)
        if struct.unpack_from(e + "I", b, t)[0] == 4:
            return e, o, s, w
    raise SystemExit("no PT_NOTE")

def first_note(b):
    e, o, s, w = note_phdr(b)
    return e, struct.unpack_from(e + w, b, o)[0]

def notes(b):
    """(offset, namesz, descsz, type) of every note of the first PT_NOTE."""
    e, o, s, w = note_phdr(b)
    off, = struct.unpack_from(e + w, b, o)
    size, = struct.unpack_from(e + w, b, s)
    res, p = [], off
    while p + 12 <= off + size:
        n, d, t = struct.unpack_from(e + "III", b, p)
        res.append((p, n, d, t))
        p += 12 + (n + 3) // 4 * 4 + (d + 3) // 4 * 4
    return res

def write(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)

def patch(b, fmt, off, v):
    struct.pack_into(fmt, b, off, v)
    return b

b = core(order="lsb"); e, n = first_note(b)
write("namesz-huge", patch(b, e + "I", n, 0xffffffff))
b = core(order="lsb"); e, n = first_note(b)
write("descsz-huge", patch(b, e + "I", n + 4, 0xffffffff))
b = core(order="lsb"); e, n = first_note(b)
write("descsz-negative", patch(b, e + "I", n + 4, 0x80000000))
b = core(order="lsb"); e, n = first_note(b)
patch(b, e + "I", n, 0xfffffff0)
write("sizes-wrap", patch(b, e + "I", n + 4, 0x20))
b = core(order="msb", **{"class": 32}); e, n = first_note(b)
write("msb32-descsz-huge", patch(b, e + "I", n + 4, 0xffffffff))
b = core(order="lsb"); e, o, s, w = note_phdr(b)
write("note-past-eof", patch(b, e + w, o, len(b) + 1000000))
b = core(order="lsb"); e, o, s, w = note_phdr(b)
write("note-filesz-negative", patch(b, e + w, s, 0xffffffffffffffff))
b = core(order="lsb"); e, o, s, w = note_phdr(b)
patch(b, e + w, o, 0xfffffffffffffff0)
write("note-wraps", patch(b, e + w, s, 0x100))
b = core(order="msb", **{"class": 32}); e, o, s, w = note_phdr(b)
write("msb32-note-filesz-huge", patch(b, e + w, s, 0xffffffff))
b = core(order="lsb")
write("phoff-past-eof", patch(b, "<Q", 32, 1 << 40))
b = core(order="lsb")
patch(b, "<H", 56, 0xffff)
write("phnum-xnum-no-section", patch(b, "<Q", 40, 0))
b = core(order="lsb")
patch(b, "<H", 56, 0xffff)
write("phnum-xnum-section-past-eof", patch(b, "<Q", 40, 1 << 50))
b = core(order="lsb")
write("phentsize-bad", patch(b, "<H", 54, 7))
b = core(order="lsb", load_offset=1 << 40, load_filesz=4096)
write("load-past-eof", b)
b = core(order="lsb", load_offset=0xfffffffffffff000, load_filesz=0x2000)
write("load-wraps", b)
# NT_FILE: an absurd count, and names without their NUL.
b = core(order="lsb")
for p, nsz, dsz, t in notes(b):
    if t == 0x46494c45:
        d = p + 12 + (nsz + 3) // 4 * 4
        write("ntfile-count-huge", patch(bytearray(b), "<Q", d, 1 << 62))
        c = bytearray(b)
        for i in range(d, d + dsz):
            if c[i] == 0 and i > d + 16 + 3 * 8 * 2:
                c[i] = ord("x")
        write("ntfile-unterminated", c)
# prpsinfo cut short (its size says 10 bytes), and a 0-sized one.
b = core(order="lsb")
for p, nsz, dsz, t in notes(b):
    if t == 3:
        write("prpsinfo-short", patch(bytearray(b), "<I", p + 4, 10))
        write("prpsinfo-empty", patch(bytearray(b), "<I", p + 4, 0))
# 20000 tiny notes in one PT_NOTE.
b = core(order="lsb", notes="prstatus")
many = b"".join(struct.pack("<III", 5, 4, 1) + b"CORE\0\0\0\0" + b"\1\2\3\4"
                for _ in range(20000))
hdr = b[:64 + 56]
hdr = bytearray(hdr)
struct.pack_into("<Q", hdr, 64 + 8, len(hdr))
struct.pack_into("<Q", hdr, 64 + 32, len(many))
write("many-notes", bytes(hdr) + many)
# psargs and fname with quotes, newlines, invalid UTF-8, escapes, shell code.
write("psargs-odd", core(order="lsb",
      fname='q"\n\udcff\x01\x1b[31m',
      psargs='a"b \'c\' \\d\ne\tf \udcff\udcfe \x01\x1b]0;title\x07 $(touch pwned) `touch pwned`'))
EOF
mkdir -p "$T/hostile"
python3 "$T/hostile.py" "$TOP/tests/fixtures" "$T/hostile" 2>"$T/py.err" ||
    fail "making hostile cores" "$(cat "$T/py.err")"

for f in "$T"/hostile/*; do
	name=$(basename "$f")
	rc=0
	out=$(timeout 20 thoth-hash "$f" 2>"$T/err") || rc=$?
	why=""
	if ! status_ok "$rc"; then
		why="thoth-hash exit $rc: $(head -c 300 "$T/err")"
	elif [ "$rc" = 0 ] && ! jq -e . >/dev/null 2>&1 <<<"$out"; then
		why="thoth-hash printed bad JSON: $out"
	elif [ "$rc" != 0 ] && ! grep -q "^thoth-hash: $f: " "$T/err"; then
		why="refused without saying why: $(head -c 300 "$T/err")"
	elif [ "$rc" = 0 ]; then
		rc=0
		meta=$(timeout 20 thoth-meta <<<"$out" 2>"$T/err") || rc=$?
		if ! status_ok "$rc"; then
			why="thoth-meta exit $rc: $(head -c 300 "$T/err")"
		elif [ "$rc" = 0 ] && ! jq -e '.id and (.psargs // "" | type == "string")' >/dev/null 2>&1 <<<"$meta"; then
			why="thoth-meta printed a bad record: $meta"
		fi
	fi
	same "hostile core $name: refused with a reason or read into valid JSON" "$why" ""
done
same "hostile psargs: quotes, newline, backslash kept; invalid UTF-8 replaced" \
    "$(thoth-hash "$T/hostile/psargs-odd" | thoth-meta 2>/dev/null | jq -r '.psargs | [contains("a\"b"), contains("\\d\ne"), contains("\ufffd"), contains("$(touch pwned)")] | @csv')" \
    "true,true,true,true"

# Regression (was a bug in lib/dump/meta.c + elfutils): a core of another machine
# (s390) whose thread notes libdwfl cannot read makes dwfl_getthreads
# stop early and leak its thread iterator (16 bytes): harmless in a
# short-lived thoth-meta, but a LeakSanitizer report (exit 99) under
# make check's ASan tools.  Found by tests/fuzz (fuzz_dump_stack).
leak=$TOP/tests/fuzz/crashes/fuzz_dump_stack/libdw-getthreads-leak
if [ -f "$leak" ]; then
	thoth-hash "$leak" >"$T/leak.rec" 2>/dev/null
	rc=0
	thoth-meta "$T/leak.rec" >/dev/null 2>&1 || rc=$?
	same "thoth-meta unwinding a foreign core that libdwfl cannot read: no leak report" "$rc" 0
else
	skip "thoth-meta on the libdw leak input" "tests/fuzz/crashes/fuzz_dump_stack/libdw-getthreads-leak missing"
fi

# Regression (was a bug in lib/dump/elf.c): a 4 MB core whose 60000 program
# headers are all PT_NOTE over the same 1 MB makes thoth-hash digest 60
# GB (and thoth-meta walk the notes 60000 times): minutes of CPU for
# one small file, which stalls ingestion.  Each PT_NOTE is checked
# against NOTE_MAX but their sum is not.
python3 - "$T/amp.core" <<'EOF'
import struct, sys
n, size = 60000, 1 << 20
desc = size - 20
note = struct.pack("<III", 5, desc, 1) + b"CORE\0\0\0\0" + b"\0" * desc
at = 64 + n * 56
eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack(
    "<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, n, 0, 0, 0)
ph = struct.pack("<IIQQQQQQ", 4, 4, at, 0, 0, len(note), 0, 4) * n
open(sys.argv[1], "wb").write(eh + ph + note)
EOF
rc=0
timeout 5 thoth-hash "$T/amp.core" >/dev/null 2>&1 || rc=$?
same "60000 PT_NOTEs over one 1 MB note: thoth-hash answers within 5 s" "$rc" "$(status_ok "$rc" && echo "$rc" || echo "0 or 1")"

# ---------------------------------------------------------------- real odd processes
# The segv program run through a symlink with an odd name (the kernel's
# comm), with odd argv (psargs), and copied to an odd file name (the
# executable path of NT_FILE, "exe").
crash() {	# crash OUT PROGRAM ARGS...: a real core of PROGRAM ARGS
	local core
	rm -rf "$T/crash" && mkdir "$T/crash"
	{ (cd "$T/crash" && ulimit -c unlimited && "${@:2}") >/dev/null 2>&1; } 2>/dev/null
	core=$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)
	[ -n "$core" ] && mv "$core" "$1"
}
mkdir -p "$T/odd"
oddlink=$'s"g\n\xff\x01\e[7m$(touch pwned)'
ln -s "$CORES/segv" "$T/odd/$oddlink"
# Run by name through PATH: argv[0] is the bare name, so that psargs
# (80 bytes) holds the odd arguments.
crash "$T/core.oddargv" env "PATH=$T/odd:$PATH" "$oddlink" 'x"y' $'a\nb' $'\xff\xfe' $'\x01\e[31m' "'; touch pwned; '" '$(touch pwned)' '`touch pwned`'
oddexe=$'ex"e\n\xff\t\e]0;t\a'
cp "$CORES/segv" "$T/odd/$oddexe"
crash "$T/core.oddexe" env "PATH=$T/odd:$PATH" "$oddexe"
injexe='x; }; cd ..; cd ..; touch pwned; f() {'
cp "$CORES/segv" "$T/odd/$injexe"
crash "$T/core.inject" env "PATH=$T/odd:$PATH" "$injexe" '$(touch pwned)'
truth "three real cores of odd processes made" test -f "$T/core.oddargv" -a -f "$T/core.oddexe" -a -f "$T/core.inject"

expect_err "upload the odd cores" 0 "uploading" -- thoth upload --no-auto "$T/core.oddargv" "$T/core.oddexe" "$T/core.inject"
argvid=$(thoth-hash -i "$T/core.oddargv")
exeid=$(thoth-hash -i "$T/core.oddexe")
injid=$(thoth-hash -i "$T/core.inject")
bad=""
for f in "$THOTH_STORE"/*/info.json; do jq -e . "$f" >/dev/null 2>&1 || bad+="$f "; done
same "every info.json is valid JSON" "$bad" ""
same "every index line is valid JSON" "$(cat "$THOTH_STORE"/index/*.ndjson | jq -c . 2>&1 >/dev/null)" ""
same "index has the three odd dumps" "$(thoth-filter -I | wc -l)" 3
info=$THOTH_STORE/$argvid/info.json
same "odd argv: psargs keeps quotes, newline, shell code as text" \
    "$(jq -r '.psargs | [contains("x\"y"), contains("a\nb"), contains("'"'"'; touch pwned; '"'"'"), contains("$(touch pwned)")] | @csv' "$info")" \
    "true,true,true,true"
same "odd argv: invalid UTF-8 becomes U+FFFD, control characters stay escaped in JSON" \
    "$(jq -r '[(.psargs | contains("\ufffd")), (.psargs | contains("\u0001\u001b[31m"))] | @csv' "$info"; grep -c $'\x01' "$info")" \
    "$(printf 'true,true\n0')"
same "odd symlink name: cmd is the (cut) link name, as one JSON string" \
    "$(jq -r '.cmd | startswith("s\"g\n\ufffd\u0001")' "$info")" true
same "odd executable name: exe starts with the real directory and keeps the quote and newline" \
    "$(jq -r --arg d "$T/odd/" '.exe | startswith($d + "ex\"e\n")' "$THOTH_STORE/$exeid/info.json")" true
same "thoth info of the odd dumps: valid JSON" "$(thoth info type=core | jq -s length)" 3
same "thoth report cmd counts the odd names" "$(thoth report cmd | jq 'add')" 3
same "spec matching a value with a quote and newline" "$(thoth ls 'psargs=*x"y*' | tail -n +2 | wc -l)" 1
# Control characters of a record (ESC, BEL, newline in cmd or psargs)
# must not reach the terminal raw: a crafted process name could rewrite
# the screen or fake rows.
out=$(thoth ls cmd psargs)
same "thoth ls prints no raw control characters (ESC, BEL, \\x01)" \
    "$(tr -d '\n' <<<"$out" | LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]')" 0
same "thoth ls prints one line per dump (a newline in cmd cannot fake a row)" \
    "$(wc -l <<<"$out")" 4
same "nothing ran: no marker file" "$(find "$T" -name pwned | wc -l)" 0

# Regression (was a bug in pipelines/thoth debug_rc): the record's exe path is
# pasted unquoted into the rc file of `thoth debug` (the quotes of
# ${2:+"$2"} go in quote removal); an executable named
# 'x; }; cd ..; cd ..; touch pwned; f() {' that crashed on this host
# runs its name as shell code in the analyst's shell as soon as
# `thoth debug` starts.
echo exit | thoth debug "$injid" >/dev/null 2>&1
same "thoth debug on a core of an executable named with shell code runs none of it" \
    "$(find "$T" -name pwned | wc -l)" 0
rm -f "$TMPDIR/pwned" "$T/pwned"

# ---------------------------------------------------------------- spec and values
for spec in 'cmd=$(touch '"$pwned"')' 'cmd=`touch '"$pwned"'`' 'cmd=;touch '"$pwned"';' \
    'cmd=|touch '"$pwned" "cmd=' ; touch $pwned ; '" 'cmd=$(touch${IFS}'"$pwned"')' '$(touch '"$pwned"')=x'; do
	thoth ls "$spec" >/dev/null 2>&1
	thoth info "$spec" >/dev/null 2>&1
	thoth report "$spec" cmd >/dev/null 2>&1
	thoth set "$spec" p v >/dev/null 2>&1
	thoth ticket "$spec" T-1 >/dev/null 2>&1
	thoth analyze "$spec" none >/dev/null 2>&1
	thoth purge --dry-run "$spec" >/dev/null 2>&1
	thoth ls cmd=segv "$spec" >/dev/null 2>&1
done
truth "spec values with \$( ) \` ; | and quotes: never executed" test ! -e "$pwned"
thoth ls '$(touch '"$pwned"')' >/dev/null 2>&1
thoth ls 'cmd=*' '$(touch '"$pwned"')' >/dev/null 2>&1
truth "field names with shell code: never executed" test ! -e "$pwned"
val='$(touch '"$pwned"') `touch '"$pwned"'` ; touch '"$pwned"' "'"'"
thoth set "$argvid" evil "$val" 2>/dev/null
same "a property value with shell code is stored as text" \
    "$(jq -r .properties.evil "$THOTH_STORE/$argvid/info.json")" "$val"
printf '%s' "$val" | thoth set "$argvid" evil2 2>/dev/null
same "a property value from stdin with shell code is stored as text" \
    "$(jq -r .properties.evil2 "$THOTH_STORE/$argvid/info.json")" "$val"
printf '%s' "$val" >"$T/val"
cat >"$T/evil-analyzer" <<EOF
thoth_set evil3 "\$(cat '$T/val')"
thoth_set evil4 "\$(jq -r .psargs "\$THOTH_INFO")"
thoth_ticket 'T-1; touch $pwned' 2>/dev/null
echo "\$THOTH_NAME"
EOF
thoth analyzer evil <"$T/evil-analyzer" 2>/dev/null
thoth analyze "$argvid" evil >/dev/null 2>&1
same "analyzer edits with shell code and odd psargs stored as text" \
    "$(jq -r '[.properties.evil3 == $v, .properties.evil4 == .psargs, has("ticket")] | @csv' --arg v "$val" "$THOTH_STORE/$argvid/info.json")" \
    "true,true,false"
truth "analyzer values: never executed" test ! -e "$pwned"

# ---------------------------------------------------------------- analyzer names
before=$(store_state)
for name in ../evil ../../evil analyzers/../../evil /etc/passwd . .. 'a b' $'a\nb' '-rf' 'x;touch '"$pwned"; do
	rc=0
	echo 'echo hi' | thoth analyzer "$name" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "bad analyzer name" "$T/err" || echo "$name: exit $rc: $(cat "$T/err")"
done >"$T/names.out"
same "analyzer names with ../, /, spaces, newlines, options, ; refused" "$(cat "$T/names.out")" ""
for name in ../../evil ../index/lock '../'"$argvid"'/info.json'; do
	thoth analyze "$argvid" "$name" >/dev/null 2>&1
	thoth debug "$argvid" "$name" </dev/null >/dev/null 2>&1
	thoth autoanalyzers upload "$name" </dev/null >/dev/null 2>&1
done
same "analyze, debug, autoanalyzers with ../ names: store unchanged" "$(store_state)" "$before"
truth "no file written outside the store" test ! -e "$T/evil" -a ! -e "$T/../evil" -a ! -e "$pwned"

# ---------------------------------------------------------------- dump file names
names=('core with spaces' $'core\nnewline' '-core.dash' '.hidden' $'core\x01\t' 'core*?[' "core'\"\$(touch pwned)" $'core\xff.bin')
files=()
for n in "${names[@]}"; do
	f=$T/names/$n
	mkdir -p "$T/names"
	cp "$CORES/core.sh" "$f"
	files+=("$f")
done
# Each a different dump: the same core, one byte of its padding changed.
i=0
for f in "${files[@]}"; do
	i=$((i + 1))
	printf '%b' "\\x$(printf %02x "$i")" | dd of="$f" bs=1 seek="$(python3 "$TOP/tests/fixtures/mkcore.py" peek note "$f" | awk '{print $1 + $2 - 1}')" conv=notrunc status=none
done
latin=${files[-1]}
unset 'files[-1]'
expect_err "upload dumps named with spaces, newlines, dashes, dots, control characters, globs, quotes" 0 "uploading" -- \
    thoth upload --no-auto "${files[@]}"
stored=$(for f in "${files[@]}"; do id=$(thoth-hash -i "$f") && ls "$THOTH_STORE/$id"; done | grep -v '^info.json$')
same "each stored under a sanitised name" "$(tr '\n' ' ' <<<"$stored")" \
    "core_with_spaces core_newline -core.dash _hidden core__ core___ core____touch_pwned_ "
same "the records name the stored files" \
    "$(for f in "${files[@]}"; do id=$(thoth-hash -i "$f"); d=$(jq -r .dump "$THOTH_STORE/$id/info.json"); [ -f "$d" ] && echo ok; done | sort -u)" ok
# Regression (was a bug in thoth-hash "file"): a path that is not UTF-8 reaches
# thoth-meta and thoth-put with U+FFFD for its bad bytes (lossy JSON)
# and names no file: such a dump can never be uploaded.  core_pattern
# core.%e puts the process name, any bytes, into core file names.
expect_err "upload a dump whose file name is not UTF-8 (core\\xff.bin)" 0 "uploading" -- \
    thoth upload --no-auto "$latin"
same "no odd names leaked into the store" "$(find "$THOTH_STORE" -name '*[^A-Za-z0-9._+-]*' | wc -l)" 0
truth "file names: never executed" test ! -e "$pwned" -a ! -e "$T/names/pwned"

# ---------------------------------------------------------------- store keys and records
before=$(store_state)
bad=""
for key in ../x ../../x /etc/passwd analyzers/../../x analyzers/./x ./x x/.. '' analyzers/ $'analyzers/a\nb' $'analyzers/a\x01' 'analyzers//x' "$argvid/../../x"; do
	rc=0
	echo x | thoth-store put "$key" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || bad+="put '$key': exit $rc; "
	rc=0
	thoth-store get "$key" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 1 ] || bad+="get '$key': exit $rc; "
	rc=0
	thoth-store rm "$key" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 1 ] || bad+="rm '$key': exit $rc; "
done
same "store keys with .., ., absolute, empty, control characters: refused (exit 1)" "$bad" ""
same "store unchanged by bad keys" "$(store_state)" "$before"
truth "nothing written outside the store" test ! -e "$T/x" -a ! -e "$T/../x"

# Records that point outside the store.
victim=$T/victim
echo precious >"$victim"
for id in '../../x' "$argvid/.." '.' "${argvid}x"; do
	printf '{"id":"%s","file":"%s","type":"core"}\n' "$id" "$T/core.oddexe"
done | thoth-put >/dev/null 2>&1
same "thoth-put refuses records whose id is not an id" "$(store_state)" "$before"
mkdir -p "$THOTH_STORE/ffffffffffffffffffffffffffffffff"
jq -c --arg d "$THOTH_STORE/ffffffffffffffffffffffffffffffff/../../victim" \
    '.id = "ffffffffffffffffffffffffffffffff" | .dump = $d' "$THOTH_STORE/$argvid/info.json" \
    >"$THOTH_STORE/ffffffffffffffffffffffffffffffff/info.json"
cp "$victim" "$THOTH_STORE/victim"
thoth index >/dev/null 2>&1
thoth purge ffffffffffffffffffffffffffffffff >/dev/null 2>&1
thoth-fetch ffffffffffffffffffffffffffffffff >/dev/null 2>&1
same "a record whose dump names ../../victim: purge and fetch touch nothing outside its directory" \
    "$(cat "$victim" "$THOTH_STORE/victim")" "$(printf 'precious\nprecious')"
jq -c '.dump = "x/.."' "$THOTH_STORE/$argvid/info.json" | jq -c '.id = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"' \
    >"$T/dotdot.json"
mkdir -p "$THOTH_STORE/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
cp "$T/dotdot.json" "$THOTH_STORE/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/info.json"
rc=0
thoth-fetch eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee >/dev/null 2>&1 || rc=$?
same "a record whose dump is '..': fetch refuses" "$rc" 1
thoth purge eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee >/dev/null 2>&1
truth "purge of a record whose dump is '..' leaves its directory" test -d "$THOTH_STORE/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
truth "nothing ever executed" test ! -e "$pwned"

#!/usr/bin/env bash
# tests/meta.t - thoth-meta: every field against eu-readelf, eu-stack, eu-addr2line and eu-unstrip.
# shellcheck disable=SC2016  # bash -c scripts take their arguments as $1...
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores "thoth-meta on real cores" || exit 0

# Synthetic cores: tests/fixtures/mkcore.py.
mkcore() { python3 "$TOP/tests/fixtures/mkcore.py" core "$@"; }
core32() { python3 "$TOP/tests/fixtures/mkcore.py" core32 "$1"; }

# meta FILE [FLAGS...]: the record thoth-meta makes of {"file": FILE}.
meta() {
	local f=$1
	shift
	printf '{"file":"%s"}\n' "$f" | thoth-meta "$@" 2>"$T/meta.err"
}
# get FIELD < RECORD: the field, raw ("" when absent).
get() { jq -r --arg f "$1" '.[$f] // empty | if type == "array" then .[] else . end'; }

# note CORE TYPE: the body of the first TYPE note (PRPSINFO, PRSTATUS,
# SIGINFO, FILE, AUXV) as eu-readelf -n prints it.
note() {
	eu-readelf -n "$1" | awk -v type="$2" '
	    /^  [^ ]/ { if (inside) exit; inside = ($3 == type); next }
	    inside { print }'
}
# The oracles of each field, from eu-readelf.
want_pid() { note "$1" PRPSINFO | sed -n 's/.*[ ,]pid: \(-\{0,1\}[0-9]*\),.*/\1/p'; }
want_uid() { note "$1" PRPSINFO | sed -n 's/^ *uid: \([0-9]*\),.*/\1/p'; }
want_cmd() { note "$1" PRPSINFO | sed -n 's/^ *fname: \(.*\), psargs: .*/\1/p'; }
want_psargs() { note "$1" PRPSINFO | sed -n 's/.*, psargs: //p' | sed 's/ *$//'; }
# A signal only when the process got one (cursig; gdb's gcore has 0).
want_signal() {
	local cursig signo
	cursig=$(note "$1" PRSTATUS | sed -n 's/.*cursig: \([0-9]*\).*/\1/p')
	signo=$(note "$1" SIGINFO | sed -n 's/^ *si_signo: \([0-9]*\),.*/\1/p')
	[ "$cursig" = 0 ] && return 0
	signo=${signo:-$cursig}
	[ -n "$signo" ] && echo "SIG$(kill -l "$signo")"
}

# facts NAME CORE EXE: pid, cmd, psargs, uid, signal and exe against
# eu-readelf (EXE: the binary that crashed, by its real path).
facts() {
	local name=$1 core=$2 exe=$3 out=$T/facts.out
	meta "$core" -S >"$out"
	same "$name: pid (a string)" "$(jq -c .pid <"$out")" "\"$(want_pid "$core")\""
	same "$name: cmd" "$(get cmd <"$out")" "$(want_cmd "$core")"
	same "$name: psargs" "$(get psargs <"$out")" "$(want_psargs "$core")"
	same "$name: uid (a number)" "$(jq -c .uid <"$out")" "$(want_uid "$core")"
	same "$name: signal" "$(get signal <"$out")" "$(want_signal "$core")"
	same "$name: exe" "$(get exe <"$out")" "$exe"
}

# eu_frames CORE EXE: eu-stack's frames of the first thread (the one
# that crashed), as "module`function" or "module" with no symbol.
eu_frames() {
	eu-stack -m --core "$1" -e "$2" 2>/dev/null | awk '
	    /^TID/ { n++ } n == 1 && /^#/ {
		if ($3 == "-") { mod = $4; fn = "" } else { mod = $5; fn = $3 }
		sub(/.*\//, "", mod)
		print (fn == "" ? mod : mod "`" fn) }'
}
# eu_where CORE EXE: eu-stack -b's "BUILDID+0xOFF" of each frame (OFF
# from the module's load address), a caller's one byte on (eu-stack
# shows pc - 1, thoth the return address).
eu_where() {
	local id off f
	eu-stack -b --core "$1" -e "$2" 2>/dev/null | awk '
	    /^TID/ { n++ } n == 1 && /^#/ { f = substr($1, 2) + 0; next }
	    n == 1 && /^ *\[[0-9a-f]+\]@/ {
		id = $1; sub(/^\[/, "", id); sub(/\].*/, "", id)
		off = $1; sub(/.*\+0x/, "", off)
		print id, off, (f > 0) }' |
	while read -r id off f; do printf '%s+0x%x\n' "$id" $((0x$off + f)); done
}
eu_pcs() {
	eu-stack --core "$1" -e "$2" 2>/dev/null |
	    awk '/^TID/ { n++ } n == 1 && /^#/ { print $2 }'
}

# stack NAME CORE EXE: thoth-meta's stack frame by frame against
# eu-stack's names, and each offset against eu-addr2line at that pc
# (where addr2line names the same function: for a call that ends a
# function, eu-stack and thoth look up pc - 1, addr2line the pc).
stack() {
	local name=$1 core=$2 exe=$3 ours a2l bad=""
	meta "$core" >"$T/stack.out"
	ours=$(get stack <"$T/stack.out")
	same "$name: stack = eu-stack" "$(sed -E 's/(@[0-9a-f]+)?\+0x[0-9a-f]+$//' <<<"$ours")" \
	    "$(eu_frames "$core" "$exe")"
	same "$name: stack_pcs = eu-stack -b's build-ids and offsets" \
	    "$(get stack_pcs <"$T/stack.out")" "$(eu_where "$core" "$exe")"
	same "$name: a frame without a symbol is its module@stack_pcs" \
	    "$(jq -r '[.stack, .stack_pcs] | transpose[] | select(.[0] | test("`") | not) |
		select(.[0] != (.[0] | sub("@.*"; "")) + "@" + .[1]) | .[0]' <"$T/stack.out")" ""
	# shellcheck disable=SC2046
	a2l=$(eu-addr2line -S --core="$core" -e "$exe" $(eu_pcs "$core" "$exe") |
	    awk 'NR % 2 == 1 { print (/\+0x/ ? $0 : $0 "+0x0") }')
	while IFS=' ' read -r o a; do
		o=${o#*\`}
		[ "${o%+*}" = "${a%+*}" ] && [ "$o" != "$a" ] && bad="$bad $o/$a"
	done < <(paste -d ' ' <(echo "$ours") <(echo "$a2l"))
	same "$name: frame offsets = eu-addr2line" "$bad" ""
	same "$name: no warning" "$(cat "$T/meta.err")" ""
}

# build_ids NAME CORE: the module build-ids are eu-unstrip's; each file
# is a path the core's NT_FILE maps, or (vdso) a module name.
build_ids() {
	local name=$1 core=$2 files
	meta "$core" -S >"$T/ids.out"
	same "$name: build_ids = eu-unstrip -n" \
	    "$(jq -r '.build_ids[].id' <"$T/ids.out" | sort)" \
	    "$(eu-unstrip -n --core "$core" | awk '$2 ~ /^[0-9a-f]+@/ {
		sub(/@.*/, "", $2); print $2 }' | sort)"
	files=$(note "$core" FILE | awk '$NF ~ /^\// { print $NF }' | sort -u)
	same "$name: build_ids files are mapped paths or names" \
	    "$(jq -r '.build_ids[].file' <"$T/ids.out" |
	    grep -vxF -e "$files" | grep /)" ""
}

# The real cores.
segv=$(realpath "$CORES/segv")
abrt=$(realpath "$CORES/abrt-threads")
facts core.segv "$CORES/core.segv" "$segv"
facts core.abrt "$CORES/core.abrt" "$abrt"
facts core.sh "$CORES/core.sh" "$(realpath /bin/sh)"
facts core.gcore "$CORES/core.gcore" "$(realpath "$CORES/sleeper")"
same "core.gcore: no signal (gcore of a live process)" \
    "$(meta "$CORES/core.gcore" -S | jq 'has("signal")')" false
stack core.segv "$CORES/core.segv" "$segv"
stack core.abrt "$CORES/core.abrt" "$abrt"
stack core.sh "$CORES/core.sh" "$(realpath /bin/sh)"
stack core.gcore "$CORES/core.gcore" "$CORES/sleeper"
same "core.segv: crash_here, call_crash x2, main on top" \
    "$(meta "$CORES/core.segv" | jq -r '.stack[0:4][]' | sed 's/+0x.*//')" \
    "segv\`crash_here"$'\n'"segv\`call_crash"$'\n'"segv\`call_crash"$'\n'"segv\`main"
same "core.abrt: the aborting thread, not a sleeper" \
    "$(meta "$CORES/core.abrt" | jq -r '.stack[]' | sed -n 's/.*`\(raise\|abort\|give_up\)+.*/\1/p')" \
    "raise"$'\n'"abort"$'\n'"give_up"
build_ids core.segv "$CORES/core.segv"
build_ids core.abrt "$CORES/core.abrt"
build_ids core.gcore "$CORES/core.gcore"
same "core.segv: the exe's build-id is eu-readelf's NT_GNU_BUILD_ID" \
    "$(meta "$CORES/core.segv" -S | jq -r --arg f "$segv" '.build_ids[] | select(.file == $f) | .id')" \
    "$(eu-readelf -n "$CORES/segv" | sed -n 's/^ *Build ID: //p')"

# Host fields, version, and what the record already had.
full=$(meta "$CORES/core.segv")
same "platform: this host's uname -s -r" "$(get platform <<<"$full")" "$(uname -s) $(uname -r)"
same "node: this host's uname -n" "$(get node <<<"$full")" "$(uname -n)"
same "version 1 added" "$(get version <<<"$full")" 1
same "fields in order" "$(jq -r 'keys_unsorted | join(" ")' <<<"$full")" \
    "file pid cmd psargs uid signal exe stack stack_pcs stack_depth stack_status build_ids platform node version"
same "-S: the same record without the stack" \
    "$(meta "$CORES/core.segv" -S)" "$(jq -c 'del(.stack, .stack_pcs, .stack_depth, .stack_status)' <<<"$full")"
same "-p and -n" "$(meta "$CORES/core.segv" -S -p 'SmartOS 20240101' -n hostB |
    jq -r '.platform + "/" + .node')" "SmartOS 20240101/hostB"
expect "the record's own fields win over -p/-n; others are kept" 0 \
    "mine/n1/0/T-1/$(want_pid "$CORES/core.segv")" -- bash -c 'printf "%s\n" \
    "{\"file\":\"$1\",\"platform\":\"mine\",\"node\":\"n1\",\"version\":\"0\",\"ticket\":\"T-1\",\"pid\":\"1\"}" |
    thoth-meta -S -p P -n N | jq -r "[.platform, .node, .version, .ticket, .pid] | join(\"/\")"' \
    - "$CORES/core.segv"
printf '{"file":"%s"}\n' "$CORES/core.sh" >"$T/recs"
printf '{"file":"%s"}\n' "$CORES/core.abrt" >"$T/recs2"
expect "several records, in order, from files and stdin" 0 \
    "$CORES/core.sh $CORES/core.segv $CORES/core.abrt" -- bash -c 'set -o pipefail
    printf "{\"file\":\"%s\"}\n" "$3" | thoth-meta -S "$1/recs" - "$1/recs2" |
    jq -r .file | tr "\n" " " | sed "s/ $//"' - "$T" "$CORES/core.sh" "$CORES/core.segv"

# Other classes and byte orders.
if core32 "$T/m32" && [ -f "$T/m32/core" ]; then
	facts "32-bit i386 core" "$T/m32/core" "$(realpath "$T/m32/segv32")"
	stack "32-bit i386 core" "$T/m32/core" "$T/m32/segv32"
	same "32-bit i386 core: uid is 16-bit in its NT_PRPSINFO" \
	    "$(eu-readelf -n "$T/m32/core" | awk '$3 == "PRPSINFO" { print $2 }')" 124
else
	skip "32-bit i386 core" "cannot build or crash a -m32 program here (gcc-multilib?)"
fi
mkcore "$T/be64" pid=31337 uid=2000000000 fname=bigcrash psargs='bigcrash -x  '
mkcore "$T/be32" class=32 machine=20 pid=77 uid=65534 sig=6
mkcore "$T/le32" class=32 order=lsb machine=3 idsize=2 uid=500
facts "big-endian 64-bit (s390x) core" "$T/be64" /opt/big/bin/bigcrash
facts "big-endian 32-bit (ppc) core" "$T/be32" /opt/big/bin/bigcrash
facts "little-endian 32-bit, 16-bit uid core" "$T/le32" /opt/big/bin/bigcrash
mkcore "$T/biguid" uid=4000000000
same "uid is unsigned (eu-readelf prints s390x's signed)" \
    "$(meta "$T/biguid" -S | jq .uid)" 4000000000
mkcore "$T/noauxv" notes=prstatus,prpsinfo,file
same "no AT_PHDR: exe is the first mapping" "$(meta "$T/noauxv" -S | get exe)" /lib/libc.so.6

# Unknown is absent, never "" or null.
mkcore "$T/psonly" notes=prpsinfo fname= psargs=
expect "only NT_PRPSINFO, empty names: just pid and uid" 0 \
    "file pid uid platform node version" -- bash -c \
    'printf "{\"file\":\"%s\"}\n" "$1" | thoth-meta -S | jq -r "keys_unsorted | join(\" \")"' \
    - "$T/psonly"
expect_err "no NT_PRSTATUS: a warning, no stack, exit 0" 0 \
    "^thoth-meta: $T/psonly: cannot unwind: no NT_PRSTATUS\$" -- bash -c \
    'printf "{\"file\":\"%s\"}\n" "$1" | thoth-meta | jq -e "has(\"stack\") | not" >/dev/null' \
    - "$T/psonly"
mkcore "$T/badutf8" psargs=$'bad\xffarg'
same "bytes that are not UTF-8 become U+FFFD" "$(meta "$T/badutf8" -S | get psargs)" \
    $'bad\xef\xbf\xbdarg'

# Failures: the record is dropped, "thoth-meta: WHAT: reason", exit 1.
printf 'this is not a core\n' >"$T/garbage"
head -c 1000 "$CORES/core.segv" >"$T/cut"
bad() {	# bad NAME REGEX FILE
	expect_err "$1" 1 "^thoth-meta: $3: $2\$" -- bash -c \
	    'printf "{\"file\":\"%s\"}\n" "$1" | thoth-meta' - "$3"
}
bad "dump missing" "No such file or directory" "$T/nosuch"
bad "dump not ELF" "not an ELF file or a kernel crash dump" "$T/garbage"
bad "dump is an executable" "ELF shared object or PIE executable, not a core" "$CORES/segv"
bad "dump truncated" "truncated: 1000 of [0-9]+ bytes" "$T/cut"
expect_err "no file field (stdin)" 1 '^thoth-meta: -:2: no file field$' -- bash -c \
    'printf "\n{\"id\":\"x\"}\n" | thoth-meta'
printf '{"file":"%s"}\n{"file":17}\n' "$CORES/core.segv" >"$T/recs.bad"
expect_err "file that is not a string (file argument)" 1 \
    "^thoth-meta: $T/recs.bad:2: no file field\$" -- bash -c 'thoth-meta -S "$1" >/dev/null' - "$T/recs.bad"
expect_err "a line that is not JSON" 1 '^thoth-meta: -:1: parse error' -- bash -c \
    'echo "{nope" | thoth-meta'
expect_err "records file missing" 1 "^thoth-meta: $T/nosuch.ndjson: No such file" \
    -- thoth-meta "$T/nosuch.ndjson"
expect "good records out, bad dropped, exit 1" 1 \
    "$(want_pid "$CORES/core.segv") $(want_pid "$CORES/core.sh")" -- bash -c '
    printf "{\"file\":\"%s\"}\n" "$1" "$2" "$3" "$4" | thoth-meta -S |
    jq -r .pid | tr "\n" " " | sed "s/ $//"; exit "${PIPESTATUS[1]}"' \
    - "$CORES/core.segv" "$T/garbage" "$CORES/core.sh" "$T/nosuch"
same "... one message per bad record" "$(cat "$T/stderr")" \
    "thoth-meta: $T/garbage: not an ELF file or a kernel crash dump"$'\n'"thoth-meta: $T/nosuch: No such file or directory"
expect_err "unknown flag: usage" 1 \
    '^usage: thoth-meta \[-S\] \[-p platform\] \[-n node\] \[file \.\.\.\]$' -- thoth-meta -x

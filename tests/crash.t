#!/usr/bin/env bash
# tests/crash.t - kernel crash dumps: kdump (compressed, flattened), ELF vmcores, illumos dumps.
# shellcheck disable=SC2016  # bash -c scripts take their arguments as $1...
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# The dumps are made by tests/fixtures/mkdump.py and mkcore.py from the
# published layouts; ids come from their independent SHA-256.
mkdump() { python3 "$TOP/tests/fixtures/mkdump.py" "$@"; }
mkcore() { python3 "$TOP/tests/fixtures/mkcore.py" core "$@"; }
peek() { python3 "$TOP/tests/fixtures/mkcore.py" peek "$@"; }
meta() { printf '{"file":"%s"}\n' "$1" | thoth-meta "${@:2}"; }
# fields FILE JQ: thoth-hash | thoth-meta of FILE, through a jq filter.
fields() { thoth-hash "$1" | thoth-meta | jq -c "$2"; }
host_node=$(uname -n)
# dumps: the files of dumps in the store (not the index's).
dumps() { find "$THOTH_STORE" -path "$THOTH_STORE/index" -prune -o -type f -print 2>/dev/null; }

# --- makedumpfile's compressed kdump, every byte order and word size
want_kdump='{"type":"crash","time":1700000100,"platform":"Linux 6.1.0-27-amd64","node":"crashhost","dump_format":"FORMAT","dump_complete":true}'
pick='{type, time, platform, node, dump_format, dump_complete}'
for v in "lsb 64" "msb 64" "lsb 32" "msb 32"; do
	read -r order word <<<"$v"
	f=$T/kdump.$order$word
	mkdump kdump "$f" order="$order" word="$word"
	expect "kdump $order $word-bit: id = SHA-256 of the header blocks" 0 \
	    "$(mkdump id "$f")" -- thoth-hash -i "$f"
	same "kdump $order $word-bit: crash, time, platform, node, format" \
	    "$(fields "$f" "$pick")" "${want_kdump/FORMAT/kdump}"
	mkdump kdump "$f.flat" order="$order" word="$word" flat=1 sub=3
	mkdump kdump "$f.sub3" order="$order" word="$word" sub=3
	expect "flattened kdump $order $word-bit: the id of the dump rearranged" 0 \
	    "$(mkdump id "$f.sub3")" -- thoth-hash -i "$f.flat"
	same "flattened kdump $order $word-bit: facts" \
	    "$(fields "$f.flat" "$pick")" "${want_kdump/FORMAT/kdump-flat}"
done
same "kdump: the kernel's build-id from VMCOREINFO" \
    "$(fields "$T/kdump.lsb64" .build_ids)" \
    '[{"file":"vmlinux","id":"fedcba9876543210fedcba9876543210fedcba98"}]'
same "kdump: thoth-hash's record" "$(thoth-hash "$T/kdump.msb64")" \
    "{\"id\":\"$(mkdump id "$T/kdump.msb64")\",\"type\":\"crash\",\"file\":\"$T/kdump.msb64\",\"size\":$(stat -c %s "$T/kdump.msb64"),\"time\":1700000100}"
mkdump kdump "$T/diskdump" sig=DISKDUMP
same "DISKDUMP signature: a kdump too" "$(fields "$T/diskdump" .type)" '"crash"'
mkdump kdump "$T/incomplete" status=0x9
same "an incomplete kdump: dump_complete false" "$(fields "$T/incomplete" .dump_complete)" false
mkdump kdump "$T/notime" ts=0 crashtime=1699999999
same "no timestamp: time from VMCOREINFO's CRASHTIME" "$(fields "$T/notime" .time)" 1699999999
same "-p and -n do not override the dump's own platform and node" \
    "$(meta "$T/kdump.lsb64" -p P -n N | jq -c '[.platform, .node]')" \
    '["Linux 6.1.0-27-amd64","crashhost"]'
cp "$T/kdump.lsb64" "$T/huge" && truncate -s 64G "$T/huge"
expect "a 64 GB kdump: only the header is read" 0 "$(mkdump id "$T/kdump.lsb64")" \
    -- timeout 10 thoth-hash -i "$T/huge"

# --- ELF vmcores (kdump's /proc/vmcore, makedumpfile -E)
for v in "msb 64 22" "lsb 64 62" "lsb 32 3"; do
	read -r order class machine <<<"$v"
	f=$T/vmcore.$order$class
	mkcore "$f" os=vmcore order="$order" class="$class" machine="$machine"
	expect "vmcore $order $class-bit: id as a core's" 0 "$(peek id "$f")" -- thoth-hash -i "$f"
	same "vmcore $order $class-bit: crash, time, platform, node (init_uts_ns), format" \
	    "$(fields "$f" '{type, time, platform, node, dump_format}')" \
	    '{"type":"crash","time":1700000000,"platform":"Linux 6.1.0-27-amd64","node":"crashhost","dump_format":"elf"}'
done
same "vmcore: the kernel's build-id" "$(fields "$T/vmcore.lsb64" '.build_ids[0].id')" \
    '"0123456789abcdef0123456789abcdef01234567"'
mkcore "$T/vmcore.nouts" os=vmcore uts=0
same "vmcore without init_uts_ns: node from this host" \
    "$(fields "$T/vmcore.nouts" .node)" "\"$host_node\""
mkcore "$T/vmcore.notime" os=vmcore info=OSRELEASE=5.10.0
touch -d @981173106 "$T/vmcore.notime"
same "vmcore without CRASHTIME: the file's time" "$(fields "$T/vmcore.notime" .time)" 981173106
mkcore "$T/core.linux"
same "a process core is not a crash dump" "$(thoth-hash "$T/core.linux" | jq -r .type)" core

# --- illumos crash dumps (dumphdr_t), SPARC's byte order too
for v in "msb 64" "lsb 64" "lsb 32" "msb 32"; do
	read -r order word <<<"$v"
	f=$T/illumos.$order$word
	mkdump illumos "$f" order="$order" word="$word"
	expect "illumos $order $word-bit: id = SHA-256 of dumphdr_t" 0 "$(mkdump id "$f")" \
	    -- thoth-hash -i "$f"
	same "illumos $order $word-bit: every header field" \
	    "$(fields "$f" '{type, time, platform, node, dump_uuid, dump_format, dump_complete}')" \
	    '{"type":"crash","time":1700000200,"platform":"joyent_20240101T000000Z","node":"headnode","dump_uuid":"3f2c1d7a-9b8e-4c6d-a5f4-0e1d2c3b4a59","dump_format":"illumos-vmdump","dump_complete":true}'
done
same "illumos: the panic string" "$(fields "$T/illumos.msb64" .panic)" \
    '"BAD TRAP: type=e (#pf Page fault) rp=fffffe00 addr=0 occurred in module \"zfs\" due to a NULL pointer dereference"'
mkdump illumos "$T/vmcore.0" flags=0x1 panic=
same "illumos vmcore (not compressed, not complete, no panic)" \
    "$(fields "$T/vmcore.0" '[.dump_format, .dump_complete, has("panic")]')" \
    '["illumos",false,false]'

# --- malformed: "thoth-hash: FILE: reason", exit 1, nothing stored
bad() {	# bad NAME REGEX FILE
	expect_err "$1" 1 "^thoth-hash: $3: $2\$" -- thoth-hash "$3"
}
mkdump kdump "$T/bad.short" size=200
bad "kdump: header cut short" "truncated: 200 of 464 bytes" "$T/bad.short"
mkdump kdump "$T/bad.sub" size=6000
bad "kdump: sub-header blocks cut short" "truncated: 6000 of 8192 bytes" "$T/bad.sub"
mkdump kdump "$T/bad.version" hdr_version=0x7fff0000
bad "kdump: absurd header version" "bad kdump header version 2147418112" "$T/bad.version"
mkdump kdump "$T/bad.block" block_size=3000
bad "kdump: block size not a power of two" "bad kdump block size 3000" "$T/bad.block"
mkdump kdump "$T/bad.subsize" sub_hdr_size=100000
bad "kdump: absurd sub-header size" "absurd kdump sub-header size 100000 blocks" "$T/bad.subsize"
mkdump kdump "$T/bad.subneg" sub_hdr_size=-1
bad "kdump: negative sub-header size" "absurd kdump sub-header size -1 blocks" "$T/bad.subneg"
mkdump kdump "$T/bad.flattype" flat=1 flat_type=2
bad "flattened: bad type" "flattened kdump: bad type 2" "$T/bad.flattype"
mkdump kdump "$T/bad.flatcut" flat=1 size=4100
bad "flattened: cut in a data header" "truncated: 4100 of 4112 bytes" "$T/bad.flatcut"
mkdump kdump "$T/bad.flatoff" flat=1 flat_offset=-5
bad "flattened: negative offset" "flattened kdump: bad data header at offset 4096" "$T/bad.flatoff"
mkdump kdump "$T/bad.flatnohdr" flat=1 flat_offset=1048576
bad "flattened: no block at offset 0" "flattened kdump: no block at offset 0" "$T/bad.flatnohdr"
mkdump illumos "$T/bad.ilshort" size=1000
bad "illumos: header cut short" "truncated: 1000 of 1905 bytes" "$T/bad.ilshort"
mkdump illumos "$T/bad.ilversion" version=0
bad "illumos: bad version" "bad illumos dump version 0" "$T/bad.ilversion"
mkdump illumos "$T/bad.ilword" wordsize=48
bad "illumos: bad word size" "bad illumos dump word size 48" "$T/bad.ilword"
mkdump illumos "$T/bad.ilmagic" magic=0xdefec8ee
bad "illumos: wrong magic" "not an ELF file or a kernel crash dump" "$T/bad.ilmagic"
mkcore "$T/bad.vmnote" os=vmcore note_filesz=100000
bad "vmcore: notes past the end" "truncated: [0-9]+ of [0-9]+ bytes" "$T/bad.vmnote"
for b in "$T"/bad.*; do
	printf '{"file":"%s"}\n' "$b"
done >"$T/bad.records"
before=$(dumps)
expect "malformed dumps: thoth-meta drops every one" 1 "" -- thoth-meta "$T/bad.records"
expect "upload of each: exit 1" 1 "" -- bash -c 'for b in "$@"; do
	thoth upload "$b" 2>/dev/null && exit 0; done; exit 1' - "$T"/bad.*
same "... nothing stored" "$(dumps)" "$before"

# --- upload, and the process-dump analyzer after it
mkcore "$T/vmcore.panic" os=vmcore panic="Fatal exception in interrupt"
for d in kdump.lsb64 illumos.msb64 vmcore.panic; do
	thoth upload "$T/$d" 2>/dev/null
done
same "uploaded crash dumps are listed as crash" "$(thoth ls type=crash | tail -n +2 | wc -l)" 3
thoth analyzer process-dump <"$TOP/analyzers/process-dump" 2>/dev/null
thoth analyze type=crash process-dump >/dev/null 2>&1
prop() { thoth info "$(mkdump id "$T/$1" 2>/dev/null || peek id "$T/$1")" | jq -c ".properties | $2"; }
same "process-dump: kdump" "$(prop kdump.lsb64 '[.dump_format, .dump_complete, .kernel_release, .panic]')" \
    '["kdump",true,"6.1.0-27-amd64","Kernel panic - not syncing: synthetic page 0"]'
same "process-dump: illumos" "$(prop illumos.msb64 '[.dump_format, .kernel_release, (.panic | .[0:9])]')" \
    '["illumos-vmdump","joyent_20240101T000000Z","BAD TRAP:"]'
same "process-dump: ELF vmcore's panic from the kernel log" \
    "$(thoth info "$(peek id "$T/vmcore.panic")" | jq -r .properties.panic)" \
    "Kernel panic - not syncing: Fatal exception in interrupt"

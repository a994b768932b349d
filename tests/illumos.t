#!/usr/bin/env bash
# tests/illumos.t - illumos process cores: psinfo_t, pstatus_t, utsname and zone notes.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# The cores are made by tests/fixtures/mkcore.py (os=illumos) from
# illumos sys/procfs.h, for both classes and byte orders.
mkcore() { python3 "$TOP/tests/fixtures/mkcore.py" core "$@"; }
peek() { python3 "$TOP/tests/fixtures/mkcore.py" peek "$@"; }
fields() { printf '{"file":"%s"}\n' "$1" | thoth-meta | jq -c "$2"; }
pick='{pid, cmd, psargs, uid, signal, platform, node, zone}'

for v in "msb 64 43" "lsb 64 62" "msb 32 2" "lsb 32 3"; do
	read -r order class machine <<<"$v"
	f=$T/core.$order$class
	mkcore "$f" os=illumos order="$order" class="$class" machine="$machine" \
	    pid=31337 uid=101 fname=node psargs='node /opt/app/server.js  ' \
	    zone=e2f0a9c4-app node=cn14 sig=11
	expect "illumos core $order $class-bit: id" 0 "$(peek id "$f")" -- thoth-hash -i "$f"
	same "illumos core $order $class-bit: every field" "$(fields "$f" "$pick")" \
	    '{"pid":"31337","cmd":"node","psargs":"node /opt/app/server.js","uid":101,"signal":"SIGSEGV","platform":"joyent_20240101T000000Z","node":"cn14","zone":"e2f0a9c4-app"}'
done
same "no stack or build-ids from libdwfl, and no warning" \
    "$(printf '{"file":"%s"}\n' "$T/core.lsb64" | thoth-meta 2>&1 | jq -c '[has("stack"), has("build_ids")]')" \
    '[false,false]'
mkcore "$T/bus" os=illumos sig=10 cursig=10
same "illumos signal numbers: 10 is SIGBUS (Linux's SIGUSR1)" "$(fields "$T/bus" .signal)" '"SIGBUS"'
mkcore "$T/cursig0" os=illumos sig=6 cursig=0
same "no pr_cursig: the signal of pr_info" "$(fields "$T/cursig0" .signal)" '"SIGABRT"'
mkcore "$T/osabi0" os=illumos osabi=0
same "EI_OSABI 0: told by its notes" "$(fields "$T/osabi0" .zone)" '"global"'
mkcore "$T/abionly" os=illumos notes=prstatus,prpsinfo
same "EI_OSABI Solaris, old notes only: no Linux misreading" \
    "$(fields "$T/abionly" '[has("pid"), has("cmd")]')" '[false,false]'
mkcore "$T/torn" os=illumos notes=psinfo,utsname note_filesz=300
same "a PT_NOTE that tears psinfo: its fields are left out" \
    "$(fields "$T/torn" '[has("pid"), has("cmd"), .zone]')" '[false,false,null]'
mkcore "$T/short" os=illumos size=1000
expect_err "an illumos core cut short: truncated" 1 "^thoth-hash: $T/short: truncated: 1000 of [0-9]+ bytes\$" \
    -- thoth-hash "$T/short"

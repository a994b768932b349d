#!/usr/bin/env bash
# tests/signature.t - thoth-sign, the rules file, thoth resign and top
# crashers, on real cores (eu-stack as the oracle of the frames).
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores signature || exit 0
unset THOTH_SIGNATURE_RULES

sig() { thoth-hash "$@" | thoth-meta 2>/dev/null | thoth-sign | jq -r .signature.text; }
sha16() { printf '%s' "$1" | sha256sum | cut -c1-16; }
# rec STACK-JSON [CMD] [SIGNAL]: a record as thoth-meta makes them.
rec() { jq -cn --argjson s "$1" --arg c "${2-prog}" --arg g "${3-SIGSEGV}" \
    '{id: "0123456789abcdef0123456789abcdef", stack: $s} + (if $c != "" then {cmd: $c} else {} end) +
     (if $g != "" then {signal: $g} else {} end)'; }
text() { thoth-sign "$@" | jq -r .signature.text; }

# --- real cores with the shipped rules
same "segv: cmd, signal, top three frames, no offsets" "$(sig "$CORES/core.segv")" \
    'segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash'
same "abort: raise, abort and pthread_kill skipped, start-up too" "$(sig "$CORES/core.abrt")" \
    'abrt-threads SIGABRT abrt-threads`give_up abrt-threads`main'
truth "abort: eu-stack shows the skipped frames above give_up" bash -c \
    "eu-stack --core '$CORES/core.abrt' -e '$CORES/abrt-threads' 2>/dev/null | grep -m1 -B9 give_up | grep -q abort"
dashid=$(eu-readelf -n "$(realpath /bin/sh)" | sed -n 's/^ *Build ID: //p')
sh=$(thoth-hash "$CORES/core.sh" | thoth-meta 2>/dev/null | thoth-sign)
truth "unsymbolized frame: dash@BUILDID+0x..., eu-readelf's build-id" \
    grep -Eq " dash@$dashid\+0x[0-9a-f]+( |\$)" <<<"$(jq -r .signature.text <<<"$sh")"
same "build_text: the same frames as stack_pcs" "$(jq -r .signature.build_text <<<"$sh")" \
    "$(jq -r '"sh SIGSEGV " + (.stack_pcs[0:3] | join(" "))' <<<"$sh")"
same "build_hash is the first 16 hex digits of SHA-256 of build_text" "$(jq -r .signature.build_hash <<<"$sh")" \
    "$(sha16 "$(jq -r .signature.build_text <<<"$sh")")"
out=$(thoth-hash "$CORES/core.segv" | thoth-meta 2>/dev/null | thoth-sign)
same "hash is the first 16 hex digits of SHA-256 of text" "$(jq -r .signature.hash <<<"$out")" \
    "$(sha16 "$(jq -r .signature.text <<<"$out")")"
same "rules version recorded" "$(jq -r .signature.rules <<<"$out")" 3
same "the rest of the record passes unchanged" "$(jq -c 'del(.signature)' <<<"$out")" \
    "$(thoth-hash "$CORES/core.segv" | thoth-meta 2>/dev/null | jq -c .)"
# A new crash of the same program, another pid and time: same signature.
{ (mkdir -p "$T/again" && cd "$T/again" && ulimit -c unlimited && "$CORES/segv" x y) >/dev/null 2>&1; } 2>/dev/null
again=$(find "$T/again" -name 'core*' | head -n 1)
same "another crash at the same place: same signature" "$(sig "$again")" "$(sig "$CORES/core.segv")"

# --- normalisation, on records
same "offsets stripped: a rebuild keeps the signature" \
    "$(rec '["a.so`f+0x10","b`g+0x2"]' | text)" "$(rec '["a.so`f+0x99","b`g+0x7"]' | text)"
same "symbol versions stripped" "$(rec '["libc.so.6`memcpy@@GLIBC_2.14+0x5","x`main+0x1"]' | text)" \
    'prog SIGSEGV libc.so.6`memcpy x`main'
same "start-up and vdso skipped" \
    "$(rec '["linux-vdso.so.1`__vdso_time+0x1","p`work+0x1","libc.so.6`__libc_start_main@GLIBC_2.2.5+0x5","p`_start+0x2"]' | text)" \
    'prog SIGSEGV p`work'
same "stop-frame: nothing outward of libc's start-up, not even an unsymbolized _start" \
    "$(rec '["p`f+0x1","libc.so.6`__libc_start_call_main+0x7a","p@b1+0x25"]' | text)" 'prog SIGSEGV p`f'
same "assert machinery skipped" \
    "$(rec '["libc.so.6`__pthread_kill_implementation+0x1","libc.so.6`raise+0x1","libc.so.6`abort+0x1","libc.so.6`__assert_fail_base.cold+0x1","libc.so.6`__assert_fail+0x1","p`check+0x4"]' prog SIGABRT | text)" \
    'prog SIGABRT p`check'
same "no stack, no cmd, no signal" "$(rec null "" "" | text)" "- -"
same "a signature already there is replaced" \
    "$(rec '["p`f+0x1"]' | jq -c '. + {signature: {text: "old", hash: "0000000000000000", rules: "0"}}' | text)" 'prog SIGSEGV p`f'

# --- frames without a symbol: build-ids, and the build key (stack_pcs)
pcs() { jq -c --argjson p "$1" '. + {stack_pcs: $p}'; }
same "build key: the selected frames' stack_pcs, skipped frames left out" \
    "$(rec '["libc.so.6`abort+0x5","p@b1+0x10","p@b1+0x20","p@b1+0x30","p@b1+0x40"]' prog SIGABRT |
	pcs '["c1+0x5","b1+0x10","b1+0x20","b1+0x30","b1+0x40"]' | thoth-sign | jq -r '.signature | .text, .build_text')" \
    'prog SIGABRT p@b1+0x10 p@b1+0x20 p@b1+0x30
prog SIGABRT b1+0x10 b1+0x20 b1+0x30'
# One crash signed without the symbols of p and with them: text moves,
# the build key does not.
bare=$(rec '["p@b1+0x10","p@b1+0x20"]' | pcs '["b1+0x10","b1+0x20"]' | thoth-sign | jq -c .signature)
full=$(rec '["p`f+0x4","p`g+0x8"]' | pcs '["b1+0x10","b1+0x20"]' | thoth-sign | jq -c .signature)
same "symbols or not: the same build_hash" "$(jq -r .build_hash <<<"$bare")" "$(jq -r .build_hash <<<"$full")"
same "... texts by build-id, then by function" "$(jq -r .text <<<"$bare")/$(jq -r .text <<<"$full")" \
    'prog SIGSEGV p@b1+0x10 p@b1+0x20/prog SIGSEGV p`f p`g'
same "skip-module matches a module named with its build-id" \
    "$(rec '["linux-vdso.so.1@b2+0x1","p`f+0x1"]' | text)" 'prog SIGSEGV p`f'
same "no stack_pcs, or not one a frame: no build key" \
    "$(rec '["p`f+0x1"]' | thoth-sign | jq -c '.signature | keys')/$(rec '["p`f+0x1"]' | pcs '[]' | thoth-sign | jq -c '.signature | keys')/$(rec '["p`f+0x1"]' | pcs '["a",1]' | thoth-sign | jq -c '.signature | keys')" \
    '["hash","rules","text"]/["hash","rules","text"]/["hash","rules","text"]'
# Records made before frames named their build-id get it from build_ids.
old() { rec '["dash+0xceda","0x7f00","libc.so.6`kill+0x7"]' | jq -c --argjson b "$1" '. + {build_ids: $b}'; }
same "an old raw frame gets its module's build-id from build_ids" \
    "$(old '[{"file":"/usr/bin/dash","id":"be63"},{"file":"/lib/libc.so.6","id":"93ac"}]' | text)" \
    'prog SIGSEGV dash@be63+0xceda 0x7f00 libc.so.6`kill'
same "... not when two files have its name" \
    "$(old '[{"file":"/usr/bin/dash","id":"be63"},{"file":"/opt/dash","id":"0bad"}]' | text)" \
    'prog SIGSEGV dash+0xceda 0x7f00 libc.so.6`kill'
# A Go module without a GNU build-id is listed with go_build_id only: it
# still makes the name ambiguous, whichever comes first.
same "... nor when the other file of its name has no id" \
    "$(old '[{"file":"/opt/dash","go_build_id":"g1"},{"file":"/usr/bin/dash","id":"be63"}]' | text)/$(old '[{"file":"/usr/bin/dash","id":"be63"},{"file":"/opt/dash","go_build_id":"g1"}]' | text)" \
    'prog SIGSEGV dash+0xceda 0x7f00 libc.so.6`kill/prog SIGSEGV dash+0xceda 0x7f00 libc.so.6`kill'

# The bump to version 3, as resign --dry-run shows it (thoth-sign -c):
# core.sh's record as thoth-meta and thoth-sign made it before (no
# stack_pcs, no build-id in frames nor in the signature): its raw frames
# move, and a symbolized stack only changes version.
sed 's/^version 3/version 2/' "$TOP/share/signature.rules" >"$T/rules2"
oldsh=$(jq -c 'del(.stack_pcs) | .stack |= map(sub("@[0-9a-f]+\\+"; "+")) |
    .signature = {text: (.signature.text | gsub("@[0-9a-f]+\\+"; "+")), hash: "0000000000000000", rules: "2"}' <<<"$sh")
same "v2 -> v3: an unsymbolized frame moves to module@BUILDID" \
    "$(thoth-sign -c <<<"$oldsh" 2>"$T/err" | jq -r '[.old.rules, .new.rules, .old.text, .new.text] | join("\n")')" \
    "2
3
$(jq -r .signature.text <<<"$oldsh")
$(jq -r .signature.text <<<"$sh")"
same "... the old text had the bare module" "$(jq -r .signature.text <<<"$oldsh" | grep -c ' dash+0x')" 1
same "v2 -> v3: a symbolized stack keeps its text" \
    "$(thoth-hash "$CORES/core.segv" | thoth-meta 2>/dev/null | thoth-sign -r "$T/rules2" | thoth-sign -c 2>/dev/null)" ""

# --- rules files
cat >"$T/rules" <<'RULES'
# two frames, libc skipped, offsets kept
version 2-test
frames 2
skip-module libc.so*
skip-frame p`noise*   # glob on module`function
RULES
same "rules file: frames, skip-module, module\`func glob, offsets kept" \
    "$(rec '["libc.so.6`strlen+0x1","p`noise_a+0x1","p`f+0x2","p`g+0x3","p`h+0x4"]' | text -r "$T/rules")" \
    'prog SIGSEGV p`f+0x2 p`g+0x3'
same "THOTH_SIGNATURE_RULES names the rules" \
    "$(rec '["p`f+0x1"]' | THOTH_SIGNATURE_RULES="$T/rules" thoth-sign | jq -r .signature.rules)" 2-test
printf 'version 1\nfrobnicate x\n' >"$T/bad1"
expect_err "unknown directive: file and line" 1 "^thoth-sign: $T/bad1:2: 'frobnicate': unknown directive" -- thoth-sign -r "$T/bad1" </dev/null
printf 'frames 2\n' >"$T/bad2"
expect_err "rules without version" 1 "bad2: no \"version\" line" -- thoth-sign -r "$T/bad2" </dev/null
printf 'version 1\nframes 99\n' >"$T/bad3"
expect_err "frames out of range" 1 "bad3:2: '99': frames must be 0 to 16" -- thoth-sign -r "$T/bad3" </dev/null
expect_err "missing rules file" 1 "^thoth-sign: $T/nope: no such file" -- thoth-sign -r "$T/nope" </dev/null
expect_err "missing file from the environment" 1 "nope: no such file" -- env THOTH_SIGNATURE_RULES="$T/nope" thoth-sign </dev/null
expect_err "usage" 1 "^usage: thoth-sign" -- thoth-sign -x
expect_err "-c and -e together" 1 "^usage: thoth-sign" -- thoth-sign -c -e
printf '{"id":"0123456789abcdef0123456789abcdef"}\nnot json\n{"cmd":"x"}\n' >"$T/mixed"
expect "bad lines are reported, good ones signed" 1 '- -
x -' -- bash -c "set -o pipefail; thoth-sign '$T/mixed' | jq -r .signature.text"
expect "-c: records without an old signature change; those without an id are refused" 1 \
    '{"id":"0123456789abcdef0123456789abcdef","new":"- -"}' -- bash -c "set -o pipefail; thoth-sign -c '$T/mixed' | jq -c '{id, new: .new.text}'"
truth "-c: the record without an id is named" grep -q "mixed:3: record has no valid \"id\"" "$T/stderr"

# --- uploads carry the signature; top crashers
thoth-hash "$CORES/core.segv" "$again" "$CORES/core.abrt" "$CORES/core.sh" | thoth-meta 2>/dev/null |
    thoth-sign | thoth-put -q >/dev/null
segv=$(thoth-hash -i "$CORES/core.segv")
same "info.json has the signature" "$(jq -r .signature.text "$THOTH_STORE/$segv/info.json")" \
    'segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash'
same "report SPEC signature.text: top crashers" "$(thoth report type=core signature.text | jq -c 'to_entries | map(.value)')" '[2,1,1]'
same "the top crasher is segv" "$(thoth report "" signature.text | jq -r 'keys_unsorted[0]')" \
    'segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash'
same "ls by signature hash" "$(thoth ls "signature.hash=$(sha16 'segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash')" | tail -n +2 | wc -l)" 2

# --- resign
before=$(store_state)
expect "resign --dry-run with the same rules: no change" 0 "" -- thoth resign --dry-run
sed 's/^frames 3/frames 1/; s/^version 3/version 4/' "$TOP/share/signature.rules" >"$T/rules1"
export THOTH_SIGNATURE_RULES="$T/rules1"
out=$(thoth resign --dry-run cmd=segv 2>"$T/err")
same "resign --dry-run: old and new for each changed record" \
    "$(jq -c '[.old.text, .new.text, .new.rules]' <<<"$out" | sort -u)" \
    '["segv SIGSEGV segv`crash_here segv`call_crash segv`call_crash","segv SIGSEGV segv`crash_here","4"]'
same "resign --dry-run: one line per dump" "$(wc -l <<<"$out")" 2
truth "resign --dry-run: counts on stderr" grep -q "2 of 2 signatures would change" "$T/err"
same "resign --dry-run changes nothing" "$(store_state)" "$before"
expect_err "resign applies the new rules" 0 "signatures to update" -- thoth resign
same "resigned in info.json" "$(jq -r .signature.text "$THOTH_STORE/$segv/info.json")" 'segv SIGSEGV segv`crash_here'
same "resigned in the index too" "$(thoth-filter -I | jq -c . | sort)" "$(cat "$THOTH_STORE"/*/info.json | jq -c . | sort)"
same "every record has the new rules version" "$(thoth report "" signature.rules | jq -c .)" '{"4":4}'
expect "after resign, dry-run shows nothing" 0 "" -- thoth resign --dry-run
unset THOTH_SIGNATURE_RULES
expect_err "resign with a bad spec changes nothing" 1 "^thoth-filter: " -- thoth resign mtime=6x

# --- thoth-set's signature edit is checked
before=$(store_state)
expect_err "thoth-set refuses a malformed signature" 1 "\"signature\" must be" -- \
    bash -c "echo '{\"id\":\"$segv\",\"signature\":{\"text\":\"x\",\"hash\":\"xyz\",\"rules\":\"1\"}}' | thoth-set"
expect_err "thoth-set refuses extra signature fields" 1 "\"signature\" must be" -- \
    bash -c "echo '{\"id\":\"$segv\",\"signature\":{\"text\":\"x\",\"hash\":\"0123456789abcdef\",\"rules\":\"1\",\"x\":1}}' | thoth-set"
expect_err "thoth-set refuses a malformed build_hash" 1 "\"signature\" must be" -- \
    bash -c "echo '{\"id\":\"$segv\",\"signature\":{\"text\":\"x\",\"hash\":\"0123456789abcdef\",\"rules\":\"1\",\"build_text\":\"y\",\"build_hash\":\"0\"}}' | thoth-set"
same "store unchanged after refused edits" "$(store_state)" "$before"
expect "thoth-set takes a signature with its build key" 0 "0123456789abcdef" -- \
    bash -c "echo '{\"id\":\"$segv\",\"signature\":{\"text\":\"x\",\"hash\":\"0123456789abcdef\",\"rules\":\"1\",\"build_text\":\"y\",\"build_hash\":\"0123456789abcdef\"}}' | thoth-set | jq -r .signature.build_hash"

#!/usr/bin/env bash
# tests/resymbolize.t - thoth resymbolize: a dump stored while its
# executable was missing gets its stack, stack_status and signature
# once the executable is back, the same as a fresh thoth-meta | thoth-sign.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores resymbolize || exit 0
unset THOTH_SIGNATURE_RULES DEBUGINFOD_URLS
export THOTH_CACHE=$T/cache TMPDIR=$T/tmp
mkdir -p "$TMPDIR" "$T/bin" "$T/run" "$T/away"
cc -g -O0 -o "$T/bin/app" "$TOP/tests/fixtures/segv.c"
{ (cd "$T/run" && ulimit -c unlimited && ../bin/app) >/dev/null 2>&1; } 2>/dev/null
core=$(find "$T/run" -name 'core*' | head -n 1)
[ -n "$core" ] || { fail "a core of app"; exit 0; }
id=$(thoth-hash -i "$core")
fresh() { thoth-hash "$core" | thoth-meta | thoth-sign | jq -c '{stack, stack_pcs, stack_depth, stack_status, signature}'; }
stored() { thoth-filter -I | jq -c '{stack, stack_pcs, stack_depth, stack_status, signature}'; }

mv "$T/bin/app" "$T/away/app"
thoth upload --no-auto "$core" 2>/dev/null
bid=$(eu-readelf -n "$T/away/app" | sed -n 's/^ *Build ID: //p')
same "stored without its executable: raw frames by build-id, said so" \
    "$(thoth-filter -I | jq -c '[.stack_status, .stack[0]]' | sed 's/+0x[0-9a-f]*"/+OFF"/')" \
    '["partial: executable missing","app@'"$bid"'+OFF"]'
oldbuild=$(thoth-filter -I | jq -r .signature.build_hash)
oldsig=$(thoth-filter -I | jq -r .signature.text)
expect "resymbolize --dry-run, executable still missing: nothing" 0 "" -- thoth resymbolize --dry-run "$id"
truth "... 0 would change" grep -q '^thoth resymbolize: 0 dump(s) would change$' "$T/stderr"

mv "$T/away/app" "$T/bin/app"
before=$(store_state)
expect "resymbolize --dry-run, executable back: old and new" 0 \
    '{"id":"'"$id"'","old":{"stack_status":"partial: executable missing","signature":"'"$oldsig"'"},"new":{"stack_status":"complete","signature":"app SIGSEGV app`crash_here app`call_crash app`call_crash"}}' \
    -- thoth resymbolize --dry-run "$id"
same "... changes nothing" "$(store_state)" "$before"
expect "resymbolize" 0 "" -- thoth resymbolize "$id"
truth "... 1 changed" grep -q '^thoth resymbolize: 1 dump(s) change$' "$T/stderr"
same "... the index has what a fresh thoth-meta | thoth-sign gives" "$(stored)" "$(fresh)"
same "... the text moved to functions, the build key did not (one build, symbols or not)" \
    "$(thoth-filter -I | jq -r .signature.build_hash)" "$oldbuild"
same "... and info.json" "$(jq -c '{stack, stack_pcs, stack_depth, stack_status, signature}' "$THOTH_STORE/$id/info.json")" "$(fresh)"
expect "resymbolize again: nothing to change" 0 "" -- thoth resymbolize --dry-run "$id"

expect_err "resymbolize without SPEC: usage" 1 '^usage: thoth SUBCOMMAND' -- thoth resymbolize
expect_err "thoth-set: a bad stack edit refused" 1 'thoth-set: .*"stack" must be' -- \
    thoth-set <<<'{"id":"'"$id"'","stack":{"stack":[1]}}'
expect_err "thoth-set: stack_pcs not strings refused" 1 'thoth-set: .*"stack" must be' -- \
    thoth-set <<<'{"id":"'"$id"'","stack":{"stack":["a"],"stack_pcs":[1],"stack_depth":1,"stack_status":"complete"}}'
expect "thoth-set: a stack edit without stack_pcs drops the old ones" 0 'false' -- \
    bash -c 'thoth-set <<<"{\"id\":\"$1\",\"stack\":{\"stack\":[\"a\"],\"stack_depth\":1,\"stack_status\":\"complete\"}}" >/dev/null &&
	jq "has(\"stack_pcs\")" "$THOTH_STORE/$1/info.json"' - "$id"

# The same on an S3 store (the shared index log): the stack edit folds in.
mv "$T/bin/app" "$T/away/app"
need_s3 "resymbolize on S3" resym || exit 0
thoth upload --no-auto "$core" 2>/dev/null
same "S3: stored without its executable" "$(thoth-filter -I | jq -r .stack_status)" "partial: executable missing"
mv "$T/away/app" "$T/bin/app"
expect "S3: resymbolize" 0 "" -- thoth resymbolize "$id"
same "S3: the index has what a fresh thoth-meta | thoth-sign gives" "$(stored)" "$(fresh)"

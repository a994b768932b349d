# tests/thoth.t - the thoth front end end to end on real cores: every
# subcommand of issue 2 and its error paths, store and index checked
# unchanged after each failure.

. "$TOP/tests/lib.sh"
need_cores thoth || exit 0
export THOTH_NOW=   # real time: mtime ages relative to now

# --- usage
expect_err "no arguments: usage from the table" 1 "^usage: thoth SUBCOMMAND" -- thoth
truth "usage lists every subcommand" bash -c 'thoth 2>&1 | grep -c "^       thoth " | grep -qx 20'
expect_err "unknown subcommand" 1 "^thoth: frobnicate: unknown subcommand" -- thoth frobnicate
same "unknown names fall through to the tools" "$(thoth hash -i "$CORES/core.segv")" "$(thoth-hash -i "$CORES/core.segv")"

# --- upload
expect_err "upload four real cores" 0 "uploading .*core.sh to [0-9a-f]{32}" -- \
    thoth upload "$CORES/core.segv" "$CORES/core.abrt" "$CORES/core.gcore" "$CORES/core.sh"
segv=$(thoth-hash -i "$CORES/core.segv")
abrt=$(thoth-hash -i "$CORES/core.abrt")
same "four dumps in the store" "$(find "$THOTH_STORE" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -c '^[0-9a-f]\{32\}$')" 4
same "dump stored byte for byte" "$(cmp "$CORES/core.abrt" "$THOTH_STORE/$abrt/core.abrt" && echo same)" same
same "info.json fields" "$(jq -c '[.id, .type, .cmd, .signal, .version, (.uploaded > 0)]' "$THOTH_STORE/$segv/info.json")" \
    "[\"$segv\",\"core\",\"segv\",\"SIGSEGV\",\"1\",true]"

before=$(store_state)
expect_err "upload again: already stored, nothing copied" 0 "core.segv: already stored as $segv" -- \
    thoth upload "$CORES/core.segv"
same "store unchanged by a repeated upload" "$(store_state)" "$before"
head -c 4000 /dev/urandom >"$T/garbage"
expect_err "upload garbage" 1 "^thoth-hash: $T/garbage: not an ELF file" -- thoth upload "$T/garbage"
head -c 1000 "$CORES/core.abrt" >"$T/core.truncated"
expect_err "upload a core cut in its headers" 1 "^thoth-hash: $T/core.truncated: truncated" -- thoth upload "$T/core.truncated"
# Cut in its memory (tests/truncated.t): a dump, the id of the whole one.
head -c 100000 "$CORES/core.abrt" >"$T/core.memcut"
expect_err "upload a core cut in its memory: the whole core's id" 0 "core.memcut: already stored as $abrt" -- \
    thoth upload "$T/core.memcut"
expect_err "upload a missing file" 1 "^thoth-hash: $T/nope: " -- thoth upload "$T/nope"
expect_err "upload an ELF executable" 1 "^thoth-hash: $CORES/segv: .*not a core" -- thoth upload "$CORES/segv"
expect_err "upload without files" 1 "^usage: thoth" -- thoth upload
same "store and index unchanged after bad uploads" "$(store_state)" "$before"

# --- ls
out=$(thoth ls)
same "ls header" "$(head -n 1 <<<"$out")" "NAME             TYPE  TIME                NODE/CMD         TICKET"
same "ls lists every dump" "$(tail -n +2 <<<"$out" | wc -l)" 4
same "ls row: abbreviated id, type, UTC time, cmd, ticket" \
    "$(grep "^${segv:0:16} " <<<"$out")" \
    "${segv:0:16} core  $(date -u -d "@$(stat -c %Y "$CORES/core.segv")" +%Y-%m-%dT%H:%M:%S) segv             -"
same "ls is oldest first" "$(thoth-filter -I | jq -r .time | paste -sd' ')" \
    "$(thoth-filter -I | jq -r .time | sort -n | paste -sd' ')"
same "ls SPEC" "$(thoth ls cmd=abrt* | tail -n +2 | cut -c1-16)" "${abrt:0:16}"
same "ls SPEC FIELD" "$(thoth ls cmd=segv signal | head -n 1 | awk '{print $NF}')" SIGNAL
same "ls FIELD value" "$(thoth ls cmd=segv signal | tail -n 1 | awk '{print $NF}')" SIGSEGV
same "ls mtime=1h has all" "$(thoth ls mtime=1h | tail -n +2 | wc -l)" 4
same "ls otime=1h has none" "$(thoth ls otime=1h | tail -n +2 | wc -l)" 0
expect_err "ls bad spec" 1 "^thoth-filter: " -- thoth ls mtime=6x

# --- info, object
same "info ID" "$(thoth info "$segv" | jq -r .id)" "$segv"
same "info prefix" "$(thoth info "${segv:0:8}" | jq -r .cmd)" segv
same "info FILE of a stored dump" "$(thoth info "$CORES/core.abrt" | jq -r .id)" "$abrt"
same "info SPEC with several matches prints all" "$(thoth info type=core | jq -r .id | wc -l)" 4
cp "$CORES/core.segv" "$T/copy-of-core"
same "object FILE" "$(thoth object "$T/copy-of-core")" "$segv"
# A core never uploaded: the same program crashing again.
{ (mkdir -p "$T/new" && cd "$T/new" && ulimit -c unlimited && "$CORES/segv" a b) >/dev/null 2>&1; } 2>/dev/null
newcore=$(find "$T/new" -name 'core*' | head -n 1)
expect_err "info FILE never uploaded: exit 2" 2 "no dump matches" -- thoth info "$newcore"
expect_err "info unknown id: exit 2" 2 "ffffffff: no such dump" -- thoth info ffffffff
# Two records whose ids share a prefix, in a store of their own.
echo x >"$T/x"
for id in aaaa1111111111111111111111111111 aaaa2222222222222222222222222222; do
	printf '{"id":"%s","type":"core","file":"%s","time":1}\n' $id "$T/x"
done | THOTH_STORE="$T/store2" thoth-put -q >/dev/null
expect_err "info ambiguous prefix: exit 1" 1 "^thoth-filter: aaaa: ambiguous dump prefix" -- \
    env THOTH_STORE="$T/store2" thoth info aaaa
expect_err "info bad spec: exit 1" 1 "^thoth-filter: .*" -- thoth info Hello
expect_err "info with no spec" 1 "^usage: thoth" -- thoth info

# --- report
same "report FIELD" "$(thoth report type=core cmd | jq -c .)" \
    '{"abrt-threads":1,"segv":1,"sh":1,"sleeper":1}'
same "report nested field over all dumps" "$(thoth report "" signal | jq -c .)" \
    "$(thoth-filter -I | jq -s -c 'group_by(.signal) | map({key: (.[0].signal // "undefined"), value: length}) | sort_by(-.value, .key) | from_entries')"
expect_err "report needs a field" 1 "^usage: thoth" -- thoth report

# --- set, unset, ticket, unticket
truth "set a string" thoth set "$segv" triage bmc
same "set shows in info" "$(thoth info "$segv" | jq -r .properties.triage)" bmc
thoth set cmd=segv triage 2>/dev/null <<'JSON'
{
    "category": "SMF",
    "engineer": "bmc"
}
JSON
same "set JSON from stdin (by spec)" "$(thoth info "$segv" | jq -c .properties.triage)" '{"category":"SMF","engineer":"bmc"}'
same "nested property spec" "$(thoth ls properties.triage.engineer=bmc | tail -n +2 | cut -c1-16)" "${segv:0:16}"
same "property name without properties." "$(thoth ls triage.engineer=bmc | tail -n +2 | wc -l)" 1
echo "plain text" | thoth set "$abrt" note 2>/dev/null
same "set non-JSON stdin as a string" "$(thoth info "$abrt" | jq -r .properties.note)" "plain text"
truth "unset" thoth unset "$segv" triage
same "unset property is undefined" "$(thoth ls triage=undefined | tail -n +2 | wc -l)" 4
truth "ticket" thoth ticket "$segv" OS-2359
same "ticket shows in ls" "$(thoth ls ticket=OS-2359 | tail -n +2 | awk '{print $NF}')" OS-2359
truth "ticket by spec on several dumps" thoth ticket "type=core cmd=s*" OS-1
same "ticket on several dumps" "$(thoth ls ticket=OS-1 | tail -n +2 | wc -l)" 3
truth "unticket" thoth unticket "$abrt"
same "unticket: ticket undefined" "$(thoth ls ticket=undefined | tail -n +2 | cut -c1-16)" "${abrt:0:16}"

before=$(store_state)
expect_err "ticket with spaces and ;" 1 "bad ticket" -- thoth ticket "$segv" 'OS-1; rm -rf /'
expect_err "ticket with a slash" 1 "bad ticket" -- thoth ticket "$segv" 'OS/1'
expect_err "set on an unknown dump: exit 2" 2 "no such dump" -- thoth set ffffffffffff p v
expect_err "set with a bad spec" 1 "^thoth-filter: " -- thoth set "cmd=" p v
expect_err "set with a bad property name" 1 "bad property name" -- thoth set "$segv" 'a b' v
expect_err "unset missing argument" 1 "^usage: thoth" -- thoth unset "$segv"
same "store and index unchanged after bad edits" "$(store_state)" "$before"

# --- index
want=$(thoth-filter -I)
rm -rf "$THOTH_STORE/index"
expect_err "index rebuilds from the store" 0 "rebuilt" -- thoth index
same "rebuilt index equals the old one" "$(thoth-filter -I | sort)" "$(sort <<<"$want")"
truth "index -c compacts" thoth index -c
same "compacted index equals the old one" "$(thoth-filter -I | sort)" "$(sort <<<"$want")"

# --- THOTH_STORE forms and the per-user default
same "file:// store" "$(THOTH_STORE="file://$THOTH_STORE" thoth ls | tail -n +2 | wc -l)" 4
same "default store is per user" \
    "$(env -u THOTH_STORE HOME="$T/home" XDG_DATA_HOME= bash -c 'thoth upload "$1" 2>/dev/null; ls "$HOME/.local/share/thoth" | grep -c "^[0-9a-f]\{32\}$"' _ "$CORES/core.sh")" 1

# --- make install: thoth finds its tools relative to itself
if make -s -C "$TOP" install PREFIX=/opt/thoth DESTDIR="$T/dest" >"$T/install.log" 2>&1; then
	same "installed thoth runs its own tools" \
	    "$(env PATH=/usr/bin:/bin "$T/dest/opt/thoth/bin/thoth" ls | tail -n +2 | wc -l)" 4
	truth "man pages installed" test -f "$T/dest/opt/thoth/share/man/man1/thoth.1" -a \
	    -f "$T/dest/opt/thoth/share/man/man7/thoth.7" -a -f "$T/dest/opt/thoth/share/man/man5/thoth-record.5"
	truth "analyzers installed" test -x "$T/dest/opt/thoth/share/thoth/analyzers/backtrace"
	same "installed analyze works" "$(env PATH=/usr/bin:/bin "$T/dest/opt/thoth/bin/thoth" analyzers)" ""
else
	fail "make install" "$(cat "$T/install.log")"
fi

# --- details found in review
expect_err "info FILE that is not a dump: exit 1" 1 "^thoth-hash: .*: not an ELF file" -- thoth info "$T/garbage"
same "report FIELD alone counts every dump" "$(thoth report type | jq -c .)" '{"core":4}'
echo false | thoth set "$segv" flag 2>/dev/null
same "set JSON false from stdin stays a boolean" "$(thoth info "$segv" | jq -c .properties.flag)" false
expect_err "set null is refused" 1 "null is not a value" -- bash -c "echo null | thoth set $segv flag"
same "store ls PREFIX without a slash" "$(echo x | thoth-store put analyzers/a; thoth-store ls analyzers)" "analyzers/a"
same "ls ID (a full id is a valid spec)" "$(thoth ls "$segv" | tail -n +2 | cut -c1-16)" "${segv:0:16}"
same "upload adds a signature" "$(thoth info "$segv" | jq -r '.signature.text | split(" ")[0:2] | join(" ")')" "segv SIGSEGV"
rm "$THOTH_STORE/$abrt/core.abrt"
expect_err "fetch of a dump lost from the store says so" 1 "$abrt: dump missing from the store" -- \
    env THOTH_CACHE="$T/cache" thoth-fetch "$abrt"

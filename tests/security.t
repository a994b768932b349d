# tests/security.t - credentials and private files (issue 8): S3
# credentials come from the environment only and never show in argv
# (/proc/PID/cmdline of every process of a running upload), messages or
# debug logs; analyzers run with the caller's rights in a private
# temporary directory that is removed afterwards; `thoth debug` and
# thoth-fetch keep their files 0600 in directories 0700; dumps keep the
# privacy of the cores they copy.  S3 parts use tests/s3-server.sh and
# are skipped when it cannot start.
# shellcheck shell=bash disable=SC2016

. "$TOP/tests/lib.sh"
need_cores security || exit 0
export THOTH_NOW=
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
umask 022
me=$(id -u)

mode() { stat -c %a "$1" 2>/dev/null || echo missing; }

# ---------------------------------------------------------------- analyzers
thoth upload --no-auto "$CORES/core.segv" "$CORES/core.sh" 2>/dev/null
segv=$(thoth-hash -i "$CORES/core.segv")
cat >"$T/facts" <<'EOF'
jq -cn --arg uid "$(id -u)" --arg gid "$(id -g)" --arg pwd "$PWD" \
    --arg work "$(stat -c '%a %u' "$PWD/..")" --arg run "$(stat -c %u "$PWD")" \
    --arg info "$(stat -c %a "$THOTH_INFO")" --arg dump "$THOTH_DUMP" \
    '{uid: $uid, gid: $gid, pwd: $pwd, work: $work, run: $run, info: $info, dump: $dump}' |
    thoth_set facts
EOF
thoth analyzer facts <"$T/facts" 2>/dev/null
rc=0
thoth analyze -j 2 type=core facts >/dev/null 2>"$T/err" || rc=$?
same "analyze ran on both dumps" "$rc" 0
facts=$(jq -c '.properties.facts' "$THOTH_STORE/$segv/info.json")
same "analyzer runs with the caller's uid and gid" "$(jq -r '.uid + " " + .gid' <<<"$facts")" "$me $(id -g)"
same "analyzer's directory is private: mode 700, owned by the caller" "$(jq -r .work <<<"$facts")" "700 $me"
same "analyzer's directory is under \$TMPDIR" "$(jq -r '.pwd | startswith($t)' --arg t "$TMPDIR/" <<<"$facts")" true
same "analyzer's record copy (THOTH_INFO) is 0600" "$(jq -r .info <<<"$facts")" 600
same "each dump gets a directory of its own" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -r '.properties.facts.pwd' | sort -u | wc -l)" 2
same "analyzer directories are removed afterwards" \
    "$(cat "$THOTH_STORE"/*/info.json | jq -r '.properties.facts.pwd | sub("/run$"; "")' | while read -r d; do [ -e "$d" ] && echo "$d"; done)" ""
# Regression (was a bug in pipelines/thoth cmd_analyze and cmd_debug): the EXIT
# trap names a `local` variable ("$tmp", "$work"), empty by the time the
# trap runs at exit, so `rm -rf ""` removes nothing: every `thoth
# analyze` and `thoth debug` leaves its directory (the records, the
# analyzers' output, the debug copy of info.json) in $TMPDIR.
same "thoth analyze leaves nothing in \$TMPDIR" "$(ls -A "$TMPDIR")" ""
rm -rf "${TMPDIR:?}"/*

cat >"$T/debug.in" <<EOF
{ stat -c '%a %u' "\$(dirname "\$THOTH_INFO")"; stat -c %a "\$THOTH_INFO"; echo "\$(dirname "\$THOTH_INFO")"; } >"$T/debug.facts"
exit
EOF
thoth debug "$segv" <"$T/debug.in" >/dev/null 2>&1
same "thoth debug: its directory is 0700, owned by the caller" "$(sed -n 1p "$T/debug.facts")" "700 $me"
same "thoth debug: its copy of info.json is 0600" "$(sed -n 2p "$T/debug.facts")" 600
same "thoth debug removes its directory afterwards" \
    "$(d=$(sed -n 3p "$T/debug.facts"); [ -e "$d" ] && echo "$d left")" ""
rm -rf "${TMPDIR:?}"/*

# Regression (was a bug in lib/store/dir.c dir_put_file): the kernel writes cores
# 0600 (they hold the process's memory: keys, passwords), the store
# copies them 0644 (umask 022), readable by every local user who can
# reach the store (a per-user store in a 0755 home, a shared one).
same "a 0600 core is stored no more readable than it was (0600)" \
    "$(mode "$CORES/core.segv") $(mode "$(jq -r .dump "$THOTH_STORE/$segv/info.json")")" "600 600"

# ---------------------------------------------------------------- S3
need_s3 "security on S3" security || exit 0
secret=$AWS_SECRET_ACCESS_KEY
export THOTH_STORE=s3://security/dumps XDG_CACHE_HOME=$T/cache
unset THOTH_S3_PART_SIZE THOTH_S3_PARALLEL THOTH_S3_TRIES THOTH_S3_ADDRESSING \
    THOTH_S3_LIMIT_RATE THOTH_S3_DEBUG AWS_SESSION_TOKEN

# A 24 MB core at 8 MB/s: 3 s of upload, watched every 20 ms.
rm -rf "$T/crash" && mkdir "$T/crash"
{ (cd "$T/crash" && ulimit -c unlimited && "$CORES/segv" security) >/dev/null 2>&1; } 2>/dev/null
mv "$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)" "$T/big.core"
truncate -s 24M "$T/big.core"
: >"$T/cmdlines"
THOTH_S3_LIMIT_RATE=8000000 setsid thoth upload --no-auto "$T/big.core" </dev/null >"$T/up.out" 2>"$T/up.err" &
pgid=$!
while kill -0 "$pgid" 2>/dev/null; do
	for p in $(pgrep -g "$pgid"); do
		{ tr '\0' ' ' <"/proc/$p/cmdline" && echo; } 2>/dev/null
	done >>"$T/cmdlines"
	sleep 0.02
done
wait "$pgid"
same "upload to S3 while watched exits 0" "$?" 0
truth "the watch saw thoth-put running" grep -q '^thoth-put' "$T/cmdlines"
same "no process of the upload had the secret in its argv" "$(grep -cF -- "$secret" "$T/cmdlines")" 0
same "upload messages do not name the secret" "$(grep -cF -- "$secret" "$T/up.err" "$T/up.out" | awk -F: '{s += $NF} END {print s}')" 0
id=$(thoth-hash -i "$T/big.core")

# Errors people meet, with a secret that would stand out.
wrong=WRONGsecretXYZZY0123456789abcdef
out=$(AWS_SECRET_ACCESS_KEY=$wrong thoth-store ls 2>&1; AWS_SECRET_ACCESS_KEY=$wrong thoth ls 2>&1;
    AWS_SECRET_ACCESS_KEY=$wrong thoth upload --no-auto "$CORES/core.sh" 2>&1;
    AWS_SECRET_ACCESS_KEY=$wrong AWS_ENDPOINT_URL=http://127.0.0.1:1 THOTH_S3_TRIES=1 thoth-store ls 2>&1)
truth "a wrong secret is refused" grep -qi 'denied\|forbidden\|signature\|403' <<<"$out"
same "error messages never show the (wrong) secret" "$(grep -cF -- "$wrong" <<<"$out")" 0
out=$(env -u AWS_SECRET_ACCESS_KEY thoth-store ls 2>&1)
same "no secret in the environment: a clear error" "$out" "thoth-store: s3://security/dumps: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set"
out=$(THOTH_S3_DEBUG=1 thoth-store ls 2>&1; THOTH_S3_DEBUG=1 thoth-store get "$id/info.json" 2>&1)
truth "THOTH_S3_DEBUG shows the requests" grep -q 'GET /security' <<<"$out"
same "THOTH_S3_DEBUG logs never show the secret" "$(grep -cF -- "$secret" <<<"$out")" 0
# A debug log pasted into a ticket must not hand out live credentials:
# the trace blanks the session token and the Authorization header.
token=SESSIONtokenABCDEF0123456789SESSION
out=$(AWS_SESSION_TOKEN=$token THOTH_S3_DEBUG=1 THOTH_S3_TRIES=1 thoth-store ls 2>&1)
same "THOTH_S3_DEBUG logs never show the session token" "$(grep -cF -- "$token" <<<"$out")" 0
truth "THOTH_S3_DEBUG hides the Authorization header" grep -q '^> Authorization: \[hidden\]' <<<"$out"

# ---------------------------------------------------------------- fetch and debug caches
cache=$XDG_CACHE_HOME/thoth/dumps
path=$(thoth-fetch "$id" 2>/dev/null)
same "thoth-fetch caches the dump under XDG_CACHE_HOME" "${path#"$cache/"}" "$id/dump"
same "fetched dump is 0600" "$(mode "$path")" 600
same "cache directories are 0700" "$(mode "$cache") $(mode "$cache/$id")" "700 700"
same "no partial files left in the cache" "$(find "$cache" -name '.*' -o -name '*.part*' | wc -l)" 0
# A compressed dump is unpacked into the cache: also private.
rm -rf "$T/crash" && mkdir "$T/crash"
{ (cd "$T/crash" && ulimit -c unlimited && "$CORES/segv" compressed) >/dev/null 2>&1; } 2>/dev/null
mv "$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)" "$T/z.core"
thoth-hash "$T/z.core" | thoth-meta 2>/dev/null | thoth-put -q -z >/dev/null
zid=$(thoth-hash -i "$T/z.core")
zpath=$(thoth-fetch "$zid" 2>/dev/null)
same "unpacked compressed dump is the core, 0600" "$(cmp -s "$zpath" "$T/z.core" && echo same) $(mode "$zpath")" "same 600"
same "its cache directory is 0700" "$(mode "$cache/$zid")" 700
same "nothing else left in its cache directory" "$(find "$cache/$zid" -mindepth 1 -maxdepth 1 | wc -l)" 1
rm -rf "$cache"
thoth debug "$id" <"$T/debug.in" >/dev/null 2>&1
same "thoth debug on S3: its directory is 0700 and info.json 0600" \
    "$(sed -n 1,2p "$T/debug.facts" | tr '\n' ' ')" "700 $me 600 "
same "thoth debug on S3: the dump it fetched is 0600 in 0700 directories" \
    "$(mode "$cache/$id/dump") $(mode "$cache") $(mode "$cache/$id")" "600 700 700"

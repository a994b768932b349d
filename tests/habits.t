#!/usr/bin/env bash
# tests/habits.t - what people expect of a command line (issue 14):
# -h/--help and --version of every tool and subcommand, thoth's usage,
# the config file read by cron-like env -i runs, bash completion, thoth
# ls fitted to the terminal, the empty-index hint; and the trends in the
# terminal, thoth report --by and thoth top, checked against jq.
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"

version=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")

# ---------------------------------------------------------------- --help, --version
tools=()
for f in "$TOP"/cmd/*.c "$TOP"/pipelines/thoth*; do
	case $f in *.sh) continue ;; esac
	f=${f##*/}
	tools+=("${f%.c}")
done
truth "every tool counted (${#tools[@]})" test "${#tools[@]}" -ge 17
for t in "${tools[@]}"; do
	expect "$t --version" 0 "$t $version" -- "$t" --version
	for h in -h --help; do
		got=$("$t" "$h" 2>"$T/err") && rc=0 || rc=$?
		if [ "$rc" = 0 ] && [[ $got == "usage: $t "* ]] && [ ! -s "$T/err" ]; then
			pass "$t $h: usage on stdout, exit 0"
		else
			fail "$t $h: usage on stdout, exit 0" "exit $rc" "stdout: $got" "stderr: $(cat "$T/err")"
		fi
	done
done
expect_err "a bad option still prints the usage on stderr, exit 1" 1 "^usage: thoth-filter" -- thoth-filter -x
same "--help among the options" "$(thoth-filter -I --help | head -n 1)" "usage: thoth-filter [-ceI] [-f file]... [spec ...]"
expect_err "--help after -- is a spec, not a request for help" 1 "^thoth-filter: " -- thoth-filter -f /dev/null -- --help

# ---------------------------------------------------------------- thoth's usage
out=$(thoth 2>&1 >/dev/null) && rc=0 || rc=$?
same "thoth alone: usage on stderr, exit 1" "$rc $(head -n 1 <<<"$out")" "1 usage: thoth SUBCOMMAND [ARG...]"
same "thoth --help: the same usage on stdout" "$(thoth --help)" "$out"
same "the index line whole, '|' and all" "$(grep ' thoth index ' <<<"$out")" "       thoth index [-c | -i]"
same "no line of the usage ends in a blank" "$(grep -c ' $' <<<"$out")" 0
subs=$(sed -n 's/^ *thoth \([a-z]*\).*/\1/p' <<<"$out")
same "every subcommand in the usage" "$(wc -l <<<"$subs")" 20
for s in $subs; do
	got=$(thoth "$s" --help 2>&1) && rc=0 || rc=$?
	if [ "$rc" = 0 ] && [ "$(head -n 1 <<<"$got")" = "usage: thoth $(grep " thoth $s\( \|$\)" <<<"$out" | sed 's/^ *thoth //')" ]; then
		pass "thoth $s --help"
	else
		fail "thoth $s --help" "exit $rc" "$got"
	fi
done
expect "thoth -h" 0 "$out" -- thoth -h

# ---------------------------------------------------------------- the empty-index hint
expect_err "thoth ls on a fresh host: the empty index said on stderr" 0 "the index is empty.*'thoth index' rebuilds it" -- \
    bash -c 'thoth ls | tail -n +2'

# ---------------------------------------------------------------- a store of 4 real cores on 3 days
need_cores habits || exit 0
for c in segv abrt sh gcore; do cp "$CORES/core.$c" "$T/core.$c"; done
touch -d '2026-03-02 10:00 UTC' "$T/core.segv" "$T/core.abrt"
touch -d '2026-03-04 10:00 UTC' "$T/core.sh"
touch -d '2026-03-12 10:00 UTC' "$T/core.gcore"
thoth upload --no-auto "$T"/core.* 2>/dev/null
thoth-filter -I >"$T/recs"
same "four records" "$(wc -l <"$T/recs")" 4
same "no hint when the index has records" "$(thoth ls 2>&1 >/dev/null)" ""

# ---------------------------------------------------------------- thoth ls and the width
for cols in 60 200; do
	COLUMNS=$cols thoth ls psargs >"$T/ls.$cols"
	same "ls at COLUMNS=$cols: no line longer" "$(awk -v w="$cols" 'length($0) > w' "$T/ls.$cols" | wc -l)" 0
	same "ls at COLUMNS=$cols: every dump listed" "$(tail -n +2 "$T/ls.$cols" | cut -c1-16 | sort)" \
	    "$(jq -r '.id[0:16]' "$T/recs" | sort)"
done
truth "at 60 columns, psargs is cut with ..." grep -q '\.\.\.$' "$T/ls.60"
same "at 200 columns, psargs is whole" "$(tail -n +2 "$T/ls.200" | sed 's/.*  //' | sort)" \
    "$(jq -r 'select(.psargs) | .psargs' "$T/recs" | sed 's/ *$//' | sort)"
expect_err "thoth-report -w 0" 1 "^thoth-report: 0: not a number from 1 to" -- thoth-report -t -w 0 </dev/null
same "ls in a pipe without COLUMNS is as before" "$(thoth ls | head -n 1)" \
    "NAME             TYPE  TIME                NODE/CMD         TICKET"

# ---------------------------------------------------------------- trends
# jq's counts: "DAY COUNT VALUE", by period, then most first, then value.
jq_by() {	# jq_by SECONDS SHIFT FIELD
	jq -rs --argjson w "$1" --argjson s "$2" --arg f "$3" '
	    map({p: (((.time + $s) / $w | floor) * $w - $s), v: .[$f]}) | group_by(.p) | .[] |
	    (group_by(.v) | map({p: .[0].p, v: .[0].v, n: length}) | sort_by(-.n, .v) | .[]) |
	    "\(.p | strftime("%Y-%m-%d")) \(.n) \(.v)"' "$T/recs"
}
got=$(thoth report --by day "" cmd)
same "report --by day: header" "$(head -n 1 <<<"$got")" "DAY          COUNT  CMD"
same "report --by day: counts per day per cmd, as jq counts them" \
    "$(tail -n +2 <<<"$got" | tr -s ' ')" "$(jq_by 86400 0 cmd)"
same "report --by week: weeks from Monday" \
    "$(thoth report --by week "" cmd | tail -n +2 | tr -s ' ')" "$(jq_by 604800 259200 cmd)"
same "report --by week: 2026-03-02 was a Monday" "$(thoth report --by week "" cmd | awk 'NR > 1 {print $1}' | sort -u | tr '\n' ' ')" \
    "2026-03-02 2026-03-09 "
same "report --by day with a spec" "$(thoth report --by day cmd=segv cmd | tail -n +2 | tr -s ' ')" "2026-03-02 1 segv"
expect_err "report --by month" 1 "^usage: thoth" -- thoth report --by month "" cmd
same "thoth top: one row per signature, counts as jq counts" \
    "$(thoth top | tail -n +2 | awk '{print $1}' | sort | tr '\n' ' ')" \
    "$(jq -r '.signature.hash' "$T/recs" | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' ')"
same "thoth top in a pipe: an ASCII sparkline, one character a day" \
    "$(thoth top | grep ' sleeper ' | cut -c10-20)" "          @"
same "thoth top -n 1" "$(thoth top -n 1 | wc -l)" 2
utf=$(script -qec "LC_ALL=C.UTF-8 thoth top cmd=segv" /dev/null | tail -n 1)
same "thoth top on a UTF-8 terminal: Unicode blocks" "$(cut -c10-12 <<<"$utf" | tr -d '\r')" "█"
utf=$(script -qec "LC_ALL=C thoth top cmd=segv" /dev/null | tail -n 1)
same "thoth top on a C-locale terminal: ASCII" "$(cut -c10 <<<"$utf")" "@"
expect_err "thoth-trend -b month" 1 "^thoth-trend: month: not day or week" -- thoth-trend -b month cmd
expect_err "thoth-trend without a field" 1 "^usage: thoth-trend" -- thoth-trend
expect_err "thoth-trend -n 0" 1 "^thoth-trend: 0: not a number" -- thoth-trend -s -n 0

# ---------------------------------------------------------------- the config file
# Cron runs with almost no environment: env -i, then only PATH and HOME.
home=$T/home
mkdir -p "$home/.config/thoth"
store=$THOTH_STORE
cat >"$home/.config/thoth/config" <<EOF
# the store of this host
THOTH_STORE=$store
AWS_REGION="eu-test-1"
PATH=/nowhere
echo pwned >$T/pwned
THOTH_SCAN=\$(touch $T/pwned2)
EOF
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "$AWS_REGION $THOTH_INDEX"\n' >"$T/bin/thoth-showenv"
chmod +x "$T/bin/thoth-showenv"
cron() { env -i PATH="$T/bin:$PATH" HOME="$home" "$@"; }
same "env -i: ls finds the store of the config file" "$(cron thoth ls 2>/dev/null | tail -n +2 | wc -l)" 4
cron thoth ls >/dev/null 2>"$T/cfg.err"
truth "a line that is not THOTH_* or AWS_* is ignored, with its line number" \
    grep -q "^thoth: $home/.config/thoth/config:4: ignored" "$T/cfg.err"
truth "nothing in the file is run" test ! -e "$T/pwned" -a ! -e "$T/pwned2"
same "quotes around a value go; settings reach the tools" "$(cron thoth showenv 2>/dev/null)" "eu-test-1 "
same "the environment wins over the file" "$(cron THOTH_STORE="$T/other" thoth ls 2>/dev/null | tail -n +2 | wc -l)" 0
XDG_CONFIG_HOME=$T/xdg
mkdir -p "$XDG_CONFIG_HOME/thoth"
echo "THOTH_STORE=$T/other" >"$XDG_CONFIG_HOME/thoth/config"
same "XDG_CONFIG_HOME names the file" "$(cron XDG_CONFIG_HOME="$XDG_CONFIG_HOME" thoth ls 2>/dev/null | tail -n +2 | wc -l)" 0
printf 'AWS_REGION=x\nTHOTH_INDEX=%s\n' "$T/ix" >"$XDG_CONFIG_HOME/thoth/config"
same "the first file that sets a name wins" "$(cron XDG_CONFIG_HOME="$XDG_CONFIG_HOME" thoth showenv)" "x $T/ix"

# ---------------------------------------------------------------- completion
# complete WORDS...: what _thoth offers for the last word.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _thoth; printf "%s\n" "${COMPREPLY[@]}"' \
	    _ "$TOP/share/thoth.bash-completion" "$@" | sort | tr '\n' ' '
}
thoth analyzer backtrace <"$TOP/analyzers/backtrace" 2>/dev/null
thoth analyzer bt-extra <"$TOP/analyzers/backtrace" 2>/dev/null
same "completion: subcommands" "$(complete_words thoth an)" "analyze analyzer analyzers "
same "completion: every subcommand for an empty word" "$(complete_words thoth '' | wc -w)" 20
same "completion: analyzer names after the spec" "$(complete_words thoth analyze cmd=segv b)" "backtrace bt-extra "
same "completion: record fields as FIELD=" "$(complete_words thoth ls cmd=segv s)" "signal= signature= size= stack= stack_depth= stack_pcs= stack_status= "
same "completion: report --by" "$(complete_words thoth report --by w)" "week "

# ---------------------------------------------------------------- make install
make -s -C "$TOP" install DESTDIR="$T/inst" PREFIX=/usr >"$T/install.out" 2>&1
truth "make install: the completion where bash-completion looks" \
    test -f "$T/inst/usr/share/bash-completion/completions/thoth"
same "make install: the scripts carry the version" "$("$T/inst/usr/bin/thoth" --version)" "thoth $version"
truth "make install: the new man pages" test -f "$T/inst/usr/share/man/man1/thoth-html.1" -a -f "$T/inst/usr/share/man/man1/thoth-trend.1"

# ---------------------------------------------------------------- credentials in the config file
printf 'AWS_SECRET_ACCESS_KEY=not-a-real-secret\n' >"$XDG_CONFIG_HOME/thoth/config"
chmod 644 "$XDG_CONFIG_HOME/thoth/config"
cron XDG_CONFIG_HOME="$XDG_CONFIG_HOME" thoth showenv >/dev/null 2>"$T/secret.err"
truth "a secret in a file others may read: said" \
    grep -q "config: holds AWS_SECRET_ACCESS_KEY but others may read it" "$T/secret.err"
truth "the secret itself never printed" bash -c "! grep -q not-a-real-secret '$T/secret.err'"
chmod 600 "$XDG_CONFIG_HOME/thoth/config"
same "the same file at 0600: nothing said" "$(cron XDG_CONFIG_HOME="$XDG_CONFIG_HOME" thoth showenv 2>&1 >/dev/null)" ""

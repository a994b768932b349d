# shellcheck shell=bash disable=SC2016
# thoth-functions.sh - sourced by analyzers' shells: thoth_set and friends.
# usage: . thoth-functions.sh   (needs THOTH_NAME, THOTH_EDITS; THOTH_BY optional)
#
# Each function appends one edit record to $THOTH_EDITS; the caller sends
# them all to one thoth-set, so analyzers running in parallel never race
# on the store or the index.  THOTH_BY (JSON) says which analyzer made
# the edit: thoth-set keeps it as provenance.

_thoth_edit() {	# _thoth_edit JQ-FILTER [jq args...]
	local filter=$1
	shift
	jq -cn --arg id "$THOTH_NAME" --argjson by "${THOTH_BY:-null}" "$@" \
	    "{id: \$id} + ($filter) + (if \$by then {by: \$by} else {} end)" \
	    >>"$THOTH_EDITS" && return
	_thoth_failed "${FUNCNAME[1]}: the edit failed"
}

# An edit that cannot be made: said on stderr and noted, so that the
# run counts as failed (and not as analyzed).
_thoth_failed() {
	echo "thoth: $*" | tee -a "$THOTH_EDITS.failed" >&2
	return 1
}

# thoth_set NAME [VALUE...]: VALUE words as a string, or stdin (JSON if
# it parses as one JSON value, else the text).  The value travels in a
# file, never in an argument list, so any size passes (thoth-set(1)
# limits a value to 1 MiB).
thoth_set() {
	local name=$1 f rc
	[ $# -ge 1 ] || { echo "usage: thoth_set NAME [VALUE]" >&2; return 1; }
	shift
	f=$(mktemp "${TMPDIR:-/tmp}/thoth-value.XXXXXX") || return 1
	if [ $# -gt 0 ]; then printf '%s' "$*"; else cat; fi >"$f"
	if [ "$(stat -c %s "$f")" -gt 1048576 ]; then
		rm -f "$f"
		_thoth_failed "thoth_set $name: value over 1 MiB (thoth-set(1))"
		return
	fi
	if [ $# -eq 0 ] && [ -s "$f" ] && jq -e -s 'length == 1' "$f" >/dev/null 2>&1; then
		_thoth_edit '{set: {($n): $v[0]}}' --arg n "$name" --slurpfile v "$f"
	elif [ $# -eq 0 ]; then	# as $(cat): without trailing newlines
		_thoth_edit '{set: {($n): ($v | sub("\n+$"; ""))}}' --arg n "$name" --rawfile v "$f"
	else
		_thoth_edit '{set: {($n): $v}}' --arg n "$name" --rawfile v "$f"
	fi
	rc=$?
	rm -f "$f"
	return "$rc"
}

thoth_unset() {
	[ $# -eq 1 ] || { echo "usage: thoth_unset NAME" >&2; return 1; }
	_thoth_edit '{unset: [$n]}' --arg n "$1"
}

thoth_ticket() {
	[ $# -eq 1 ] || { echo "usage: thoth_ticket TICKET" >&2; return 1; }
	_thoth_edit '{ticket: $t}' --arg t "$1"
}

thoth_unticket() {
	[ $# -eq 0 ] || { echo "usage: thoth_unticket" >&2; return 1; }
	_thoth_edit '{unticket: true}'
}

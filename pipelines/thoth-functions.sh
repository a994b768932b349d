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
	    >>"$THOTH_EDITS"
}

# thoth_set NAME [VALUE...]: VALUE words as a string, or stdin (JSON if
# it parses as JSON, else the text).
thoth_set() {
	local name=$1 value
	[ $# -ge 1 ] || { echo "usage: thoth_set NAME [VALUE]" >&2; return 1; }
	shift
	if [ $# -gt 0 ]; then
		_thoth_edit '{set: {($n): $v}}' --arg n "$name" --arg v "$*"
		return
	fi
	value=$(cat)
	if [ -n "$value" ] && jq empty >/dev/null 2>&1 <<<"$value"; then
		_thoth_edit '{set: {($n): $v}}' --arg n "$name" --argjson v "$value"
	else
		_thoth_edit '{set: {($n): $v}}' --arg n "$name" --arg v "$value"
	fi
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

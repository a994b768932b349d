#!/usr/bin/env bash
# usage: tests/mkcores.sh DIR -- make real cores (kernel, gcore) in DIR once.
# Prints nothing; exits 77 if the kernel's core_pattern pipes cores away.
set -euo pipefail
dir=$1
src=$(cd "$(dirname "$0")" && pwd)/fixtures
[ -f "$dir/.done" ] && exit 0
mkdir -p "$dir"
exec 9>"$dir/.lock"	# test runs in parallel make the cores once
flock 9
[ -f "$dir/.done" ] && exit 0
cd "$dir"
case $(cat /proc/sys/kernel/core_pattern) in
'|'*)	echo "core_pattern pipes cores to a program: no kernel cores here" >&2
	exit 77 ;;
esac
cc -g -O0 -o segv "$src/segv.c"
cc -g -O0 -pthread -o abrt-threads "$src/abrt-threads.c"
cp /bin/sleep ./sleeper

# Runs a crashing command in a scratch dir and moves its core to NAME.
crash() {
	local name=$1; shift
	rm -rf scratch && mkdir scratch
	{ (cd scratch && ulimit -c unlimited && "$@") >/dev/null 2>&1; } 2>/dev/null || true
	local core
	core=$(find scratch -maxdepth 1 -name 'core*' | head -n 1)
	if [ -z "$core" ]; then
		echo "no core from $*: check core_pattern and ulimit" >&2
		exit 77
	fi
	mv "$core" "$name"
	rm -rf scratch
}
crash core.segv ../segv
crash core.abrt ../abrt-threads
crash core.sh sh -c 'kill -SEGV $$'
# A live process dumped by gdb's gcore.
./sleeper 60 & pid=$!
gcore -o core.gcore "$pid" >/dev/null 2>&1
kill "$pid"; wait "$pid" 2>/dev/null || true
mv "core.gcore.$pid" core.gcore
touch .done

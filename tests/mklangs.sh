#!/usr/bin/env bash
# usage: tests/mklangs.sh DIR -- make C++, Rust and Go cores in DIR once.
# Each crasher dies at site a or b (different signatures); Rust is also
# built a second time with another metadata hash, under the same name
# in DIR/rebuilt.  Cores are core.LANG.SITE (core.rust-rebuilt.a), and
# core.deep (a stack overflow) and core.gone (its executable deleted);
# what each wrote on stderr in NAME.stderr (Go's own traceback).
# Exits 77 (with why on stderr) if cores cannot be made, 78 when a
# compiler is missing (the cores of the others are made).
set -euo pipefail
mkdir -p "$1"
dir=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")" && pwd)/fixtures
[ -f "$dir/.done" ] && exit "$(cat "$dir/.done")"
mkdir -p "$dir"
exec 9>"$dir/.lock"	# test runs in parallel make the cores once
flock 9
[ -f "$dir/.done" ] && exit "$(cat "$dir/.done")"
cd "$dir"
case $(cat /proc/sys/kernel/core_pattern) in
'|'*)	echo "core_pattern pipes cores to a program: no kernel cores here" >&2
	exit 77 ;;
esac

crash() {	# crash NAME ENV... -- CMD...: runs CMD, its core to NAME
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	rm -rf scratch && mkdir scratch
	{ (cd scratch && ulimit -c unlimited && env "${envs[@]}" "$@") >/dev/null 2>"$name.stderr"; } 2>/dev/null || true
	local core
	core=$(find scratch -maxdepth 1 -name 'core*' | head -n 1)
	[ -n "$core" ] || { echo "no core from $*" >&2; exit 77; }
	mv "$core" "$name"
	rm -rf scratch
}
missing=0
# A C stack overflow (some 200,000 frames at 8 MiB), and a crash of an
# executable that removed itself.
cc -g -O0 -o deep "$src/deep.c"
crash core.deep -- ../deep
cp deep gone
crash core.gone -- ../gone x
if command -v g++ >/dev/null; then
	g++ -g -O1 -o crash-cxx "$src/crash-cxx.cc"
	crash core.cxx.a -- ../crash-cxx a
	crash core.cxx.b -- ../crash-cxx b
else missing=78; fi
if command -v rustc >/dev/null; then
	rustc -g -C panic=abort -C metadata=one -o crash-rust "$src/crash-rust.rs"
	mkdir -p rebuilt
	rustc -g -C panic=abort -C metadata=two -o rebuilt/crash-rust "$src/crash-rust.rs"
	crash core.rust.a -- ../crash-rust a
	crash core.rust.b -- ../crash-rust b
	crash core.rust-rebuilt.a -- ../rebuilt/crash-rust a
else missing=78; fi
if command -v go >/dev/null; then
	GOCACHE=$dir/gocache GO111MODULE=off go build -o crash-go "$src/crash-go.go"
	rm -rf gocache
	crash core.go.a GOTRACEBACK=crash -- ../crash-go a
	crash core.go.b GOTRACEBACK=crash -- ../crash-go b
else missing=78; fi
echo "$missing" >.done
exit "$missing"

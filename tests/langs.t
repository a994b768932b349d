#!/usr/bin/env bash
# tests/langs.t - real C++, Rust and Go cores (tests/mklangs.sh): frames
# demangled and checked against eu-stack, signatures that tell two crash
# sites apart and survive a Rust rebuild, resign --dry-run of the rules
# change; a stack overflow (depth, marker, status) and a deleted
# executable.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
unset THOTH_SIGNATURE_RULES
L=$TOP/tests/tmp/langs
rc=0
"$TOP/tests/mklangs.sh" "$L" 2>"$T/mk.err" || rc=$?
case $rc in
0) ;;
77) skip "C++, Rust and Go cores" "$(cat "$T/mk.err")"; exit 0 ;;
78) skip "some of C++, Rust and Go cores" "g++, rustc or go missing (Debian packages g++, rustc, golang-go)" ;;
*) fail "making the cores" "$(cat "$T/mk.err")"; exit 0 ;;
esac
have() { [ -f "$L/core.$1" ]; }
rec() { thoth-hash "$L/core.$1" | thoth-meta | thoth-sign; }

# oracle CORE EXE [FLAGS]: the crashing thread's function names by
# eu-stack (the first thread it prints), "" for a frame without one;
# Rust's hashes and crate disambiguators left out (c++filt shows them).
oracle() {
	eu-stack "${@:3}" --core "$L/core.$1" -e "$L/$2" 2>/dev/null |
	    awk '/^TID/ { n++; next } n == 1 && /^#/ { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' |
	    c++filt | sed -E 's/\[[0-9a-f]{16}\]//g; s/::h[0-9a-f]{16}$//'
}
# names CORE: thoth-meta's function names, "" for a frame without one.
names() { rec "$1" | jq -r '.stack[] | if test("`") then sub("^[^`]*`"; "") | sub("\\+0x[0-9a-f]+$"; "") else "" end'; }
sig() { rec "$1" | jq -r .signature.text; }

if have cxx.a; then
	for s in a b; do
		same "C++ $s: frames are eu-stack's (demangled)" "$(names "cxx.$s")" "$(oracle "cxx.$s" crash-cxx)"
	done
	box='crasher::Box<int>::open(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)'
	same "C++ a: terminate, __cxa_throw and libstdc++ internals skipped" "$(sig cxx.a)" \
	    "crash-cxx SIGABRT crash-cxx\`$box crash-cxx\`crasher::site_a(int) crash-cxx\`main"
	same "C++ b: another signature" "$(sig cxx.b)" \
	    "crash-cxx SIGABRT crash-cxx\`${box/<int>/<double>} crash-cxx\`crasher::site_b(int) crash-cxx\`main"
	same "C++: stack_status names libstdc++ (frames without a symbol)" "$(rec cxx.a | jq -r .stack_status)" \
	    "partial: unsymbolized modules: libstdc++.so.6"
	same "Rust: stack_status complete" "$(rec rust.a | jq -r .stack_status)" complete
fi

if have rust.a; then
	for s in rust.a rust.b rust-rebuilt.a; do
		exe=crash-rust
		[ "$s" = rust-rebuilt.a ] && exe=rebuilt/crash-rust
		same "Rust $s: frames are eu-stack's (demangled, no hashes)" "$(names "$s")" "$(oracle "$s" "$exe" -r)"
	done
	same "Rust a: panic machinery skipped" "$(sig rust.a)" \
	    'crash-rust SIGABRT crash-rust`crash_rust::Gate<T>::open crash-rust`crash_rust::site_a crash-rust`crash_rust::main'
	same "Rust b: another signature" "$(sig rust.b)" \
	    'crash-rust SIGABRT crash-rust`crash_rust::Gate<T>::open crash-rust`crash_rust::site_b crash-rust`crash_rust::main'
	raw() { oracle "$1" "$2" -r | grep -c "$3"; }
	truth "Rust rebuilt with another metadata: other symbol hashes" test \
	    "$(eu-stack -r --core "$L/core.rust.a" -e "$L/crash-rust" 2>/dev/null | grep -o '_ZN10crash_rust6site_a17h[0-9a-f]*' | head -1)" != \
	    "$(eu-stack -r --core "$L/core.rust-rebuilt.a" -e "$L/rebuilt/crash-rust" 2>/dev/null | grep -o '_ZN10crash_rust6site_a17h[0-9a-f]*' | head -1)"
	same "... the same signature" "$(rec rust-rebuilt.a | jq -c '.signature | {text, hash}')" \
	    "$(rec rust.a | jq -c '.signature | {text, hash}')"
	truth "... but another build key (another build)" test \
	    "$(rec rust-rebuilt.a | jq -r .signature.build_hash)" != "$(rec rust.a | jq -r .signature.build_hash)"
	same "Rust: v0 names of std demangled" "$(names rust.a | grep -c '^std::panicking::panic_with_hook$')" 1
fi

# gotrace FILE: goroutine 1's frames of Go's own traceback (its stderr
# under GOTRACEBACK=crash), "function+0xoffset", inlined ones left out.
gotrace() {
	awk '/^goroutine / { n++; next } n == 1 && /^$/ { exit }
	    n == 1 && !/^\t/ { f = $0; sub(/\(.*$/, "", f); inl = ($0 ~ /\(\.\.\.\)$/); next }
	    n == 1 && /^\t/ && !inl { o = "+0x0"; if (match($0, /\+0x[0-9a-f]+/)) o = substr($0, RSTART, RLENGTH); print f o }' "$1"
}
if have go.a; then
	for s in a b; do
		same "Go $s: to the signal trampoline, frames are eu-stack's" \
		    "$(names "go.$s" | sed -n '1,/^runtime\.sigreturn/p')" \
		    "$(oracle "go.$s" crash-go | sed 's/^$/runtime.sigreturn.abi0/')"
		# Past it (eu-stack stops there), the goroutine that panicked,
		# from gopanic on, is the Go runtime's own traceback.
		ours=$(rec "go.$s" | jq -r '.stack[] | sub("^[^`]*`"; "") | sub("^runtime.gopanic"; "panic") | sub("\\.abi0"; "")' |
		    sed -n '/^panic+/,$p')
		theirs=$(gotrace "$L/core.go.$s.stderr")
		truth "Go $s: past the trampoline, Go's own traceback" \
		    test -n "$ours" -a "$ours" = "$(head -n "$(wc -l <<<"$ours")" <<<"$theirs")"
	done
	same "Go b: the whole goroutine" "$(rec go.b | jq -r '.stack[-4:][] | sub("^[^`]*`"; "") | sub("\\.abi0"; "")')" "$(gotrace "$L/core.go.b.stderr" | tail -n 4)"
	same "Go a: signature at the nil dereference" "$(sig go.a)" \
	    'crash-go SIGABRT crash-go`main.gate.open crash-go`main.siteA crash-go`main.main'
	same "Go b: signature at the panic" "$(sig go.b)" \
	    'crash-go SIGABRT crash-go`main.siteB crash-go`main.main crash-go`runtime.main'
	same "Go: the executable's Go build ID (go tool buildid)" \
	    "$(rec go.a | jq -r '.build_ids[] | select(.go_build_id) | "\(.file) \(.go_build_id)"')" \
	    "$L/crash-go $(go tool buildid "$L/crash-go")"
fi

# resign: dumps signed with rules of version 1 (no demangling-aware
# skips) move to the new rules' signatures.
printf 'version 1\nframes 3\nstrip-offsets\nskip-frame raise\nskip-frame abort\n' >"$T/v1.rules"
for c in cxx.a cxx.b rust.a rust.b; do
	have "$c" && thoth-hash "$L/core.$c" | thoth-meta | THOTH_SIGNATURE_RULES=$T/v1.rules thoth-sign | thoth-put -q >/dev/null
done
if have cxx.a && have rust.a; then
	out=$(thoth resign --dry-run 2>"$T/err")
	same "resign --dry-run: the four dumps move to version 3" \
	    "$(jq -r '[.old.rules, .new.rules] | join(" ")' <<<"$out" | sort | uniq -c | tr -s ' ')" " 4 1 3"
	same "... the new texts are the rules' signatures" "$(jq -r .new.text <<<"$out" | sort)" \
	    "$(for c in cxx.a cxx.b rust.a rust.b; do sig "$c"; done | sort)"
fi

# A stack overflow: innermost frames, a marker, the outermost ones, the
# whole depth: gdb reads the recursion count n of the frame under the
# innermost one (whose own n may be past the guard page, unwritten), so
# the innermost's is n + 1 (down(1) is main's call), and the depth is
# n + 1 + 4 (main, __libc_start_call_main, __libc_start_main, _start).
r=$(rec deep)
n=$(gdb -batch -ex 'frame 1' -ex 'print n' "$L/deep" "$L/core.deep" 2>/dev/null | sed -n 's/^\$1 = //p')
depth=$((n + 1 + 4))
same "overflow: the whole depth (from gdb's n), status" \
    "$(jq -c '[.stack_depth, .stack_status]' <<<"$r")" "[$depth,\"truncated at 256 of $depth frames\"]"
same "overflow: 192 inner frames of down, a marker" \
    "$(jq -c '[(.stack | length), .stack[192], (.stack[0:192] | map(sub("\\+0x.*"; "")) | unique)]' <<<"$r")" \
    "[257,\"... $((depth - 256)) frames ...\",[\"deep\`down\"]]"
same "overflow: the outermost frames, main's" \
    "$(jq -r '.stack[-4:][] | sub("\\+0x.*"; "") | sub("@.*"; "")' <<<"$r")" \
    "$(printf '%s\n' 'deep`main' 'libc.so.6`__libc_start_call_main' 'libc.so.6`__libc_start_main' 'deep`_start')"
same "overflow: the marker is not in the signature" "$(jq -r .signature.text <<<"$r")" \
    'deep SIGSEGV deep`down deep`down deep`down'
# An executable that was deleted: its path without " (deleted)".
r=$(rec gone)
same "deleted executable: exe without (deleted)" "$(jq -r .exe <<<"$r")" "$L/gone"
same "... the stack says the executable is missing" "$(jq -r .stack_status <<<"$r" | sed 's/ of [0-9]* frames/ of N frames/')" \
    "truncated at 256 of N frames; partial: executable missing"
same "... frames name the module without (deleted)" "$(jq -r '.stack[0]' <<<"$r" | sed 's/[@+].*//')" gone

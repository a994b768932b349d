# tests/fuzz.t - every fuzzing corpus input and crash reproducer, run
# once through its harness (make -C tests/fuzz regress): no fuzzing, a
# regression check.  Needs clang's libFuzzer (Debian clang).

. "$TOP/tests/lib.sh"
if ! command -v clang >/dev/null 2>&1; then
	skip "fuzz regressions" "no clang (apt-get install clang)"
	exit 0
fi
if make -s -C "$TOP/tests/fuzz" regress >"$T/regress.log" 2>&1; then
	while read -r _ harness n _; do
		pass "fuzz regression: $harness, $n inputs"
	done < <(grep '^ok ' "$T/regress.log" | sed 's/: / /; s/ inputs$/ /')
else
	fail "fuzz regressions" "$(tail -n 20 "$T/regress.log")"
fi

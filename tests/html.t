#!/usr/bin/env bash
# tests/html.t - thoth-html and thoth report --html: the crash report
# page of real cores and generated records, rendered by a real headless
# Chromium; its DOM checked against jq's counts of the same records, and
# a core of a process named <img src=x onerror=alert(1)> shown as text.
# Backquotes of stack frames are meant literally:
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
need_cores html || exit 0

# ---------------------------------------------------------------- a store
# The segv program copied to a hostile name: its comm, its psargs and
# the module of its frames carry the name.
hostile='<img src=x onerror=alert(1)>'
mkdir -p "$T/odd" "$T/crash"
cp "$CORES/segv" "$T/odd/$hostile"
{ (cd "$T/crash" && ulimit -c unlimited && "$T/odd/$hostile") >/dev/null 2>&1; } 2>/dev/null
core=$(find "$T/crash" -maxdepth 1 -name 'core*' | head -n 1)
truth "a real core of a process named $hostile" test -n "$core"
mv "$core" "$T/core.hostile"
# All on 2026-03-10, the last of the 10 days of the generated records.
for c in segv abrt sh; do cp "$CORES/core.$c" "$T/core.$c"; done
touch -d '2026-03-10 12:00 UTC' "$T"/core.*
expect_err "upload real cores" 0 "uploading" -- thoth upload --no-auto "$T"/core.*

# Generated records over 10 days from 2026-03-01 (1772323200):
# signature k has k+1 dumps a day on days k..9, on 3 nodes, one with a
# ticket.
for k in 0 1 2; do
	for day in $(seq "$k" 9); do
		for i in $(seq 0 "$k"); do
			printf '{"id":"%032x","type":"core","cmd":"gen%d","node":"node%d","platform":"Linux test","time":%d,"stack":["gen`f%d","gen`main"],"signature":{"text":"gen%d SIGSEGV gen`f%d","hash":"%016x","rules":"1"}%s}\n' \
			    $((k * 1000 + day * 10 + i)) "$k" "$((i % 3))" \
			    $((1772323200 + day * 86400 + i * 60)) "$k" "$k" "$k" $((k + 1)) \
			    "$([ "$k$day$i" = 190 ] && echo ',"ticket":"GEN-1"')"
		done
	done
done >"$T/gen.ndjson"
# And one whose node, cmd and signature are markup.
printf '%s\n' '{"id":"ffff0000ffff0000ffff0000ffff0000","type":"core","cmd":"<b>x</b>","node":"<script>alert(2)</script>","time":1772668800,"stack":["<svg onload=alert(3)>"],"signature":{"text":"<svg onload=alert(3)>","hash":"ffff","rules":"1"}}' >>"$T/gen.ndjson"
thoth-filter -I >"$T/real.ndjson"
cat "$T/real.ndjson" "$T/gen.ndjson" >"$T/all.ndjson"

# ---------------------------------------------------------------- the page
# New: first seen within 8 days of the last dump (2026-03-10 12:00).
thoth-html -N 8d -f "$T/all.ndjson" >"$T/page.html" 2>"$T/html.err"
same "thoth-html of real and generated records: exit 0, nothing on stderr" "$?:$(cat "$T/html.err")" "0:"
same "thoth report --html is the same page" "$(thoth report --html "" | cmp - <(thoth-filter -I | thoth-html) && echo same)" same
truth "nothing loaded from elsewhere" bash -c "! grep -Eiq '(src|href)=\"?(https?:|//)' '$T/page.html'"
size=$(stat -c %s "$T/page.html")
truth "the page is small ($size bytes)" test "$size" -lt 200000

# chrome ARGS...: headless Chromium on the page, its own profile in $T.
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$T/chrome" "$@" "file://$T/page.html" 2>>"$T/chrome.err"
}
if ! command -v chromium >/dev/null; then
	skip "the page in Chromium" "chromium is not installed"
	exit 0
fi
chrome --dump-dom >"$T/dom.html"
truth "Chromium rendered the page" grep -q '<table id="sigs"' "$T/dom.html"
same "the inline script ran under the page's CSP" "$(grep -o 'data-js="ok"' "$T/dom.html")" 'data-js="ok"'
shots=$TOP/tests/tmp/html
mkdir -p "$shots"
chrome --window-size=1280,2000 --screenshot="$shots/report.png" >/dev/null
truth "a screenshot, kept in tests/tmp/html/report.png" \
    bash -c "[ \"\$(head -c 8 '$shots/report.png' | od -An -c | tr -d ' ')\" = '211PNG\r\n032\n' ]"

# The page's script at work: a copy without the CSP and with a script
# that types in the filter box and clicks the "dumps" heading twice.
{
	sed 's/<meta http-equiv="Content-Security-Policy"[^>]*>//; s|</body></html>||' "$T/page.html"
	cat <<'EOF'
<script>
var q = document.getElementById("q"), th = document.querySelectorAll("#sigs th")[0];
q.value = "gen1"; q.dispatchEvent(new Event("input"));
var shown = Array.from(document.querySelectorAll("#sigs tbody tr")).filter(function (r) { return !r.hidden; }).length;
q.value = ""; q.dispatchEvent(new Event("input"));
th.click(); var up = document.querySelector("#sigs tbody tr").cells[0].textContent;
th.click(); var down = document.querySelector("#sigs tbody tr").cells[0].textContent;
document.body.dataset.test = shown + " " + up + " " + down;
</script></body></html>
EOF
} >"$T/js.html"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
    --dump-dom "file://$T/js.html" 2>>"$T/chrome.err" >"$T/js.dom"
same "filter keeps 1 row for gen1; sorting by dumps: 1 first, then 24 first" \
    "$(grep -o 'data-test="[^"]*"' "$T/js.dom")" 'data-test="1 1 24"'

# The DOM against jq's counts of the same records.
dom() { python3 - "$T/dom.html" "$@"; }
cat >"$T/dom.py" <<'EOF'
import html.parser, json, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.rows = []; s.ids = {}; s.cur = None; s.tags = []; s.td = None
    def handle_starttag(s, tag, a):
        a = dict(a); s.tags.append(tag)
        if tag == "tr" and a.get("class") == "sig": s.cur = {"cells": [], "spark": None}; s.rows.append(s.cur)
        if tag == "svg" and s.cur is not None: s.cur["spark"] = a.get("data-counts")
        if tag == "td" and s.cur is not None: s.cur["cells"].append(""); s.td = s.cur
        if "id" in a: s.ids[a["id"]] = ""; s.idnow = a["id"]
        else: s.idnow = None
    def handle_endtag(s, tag):
        if tag == "tr": s.cur = None
    def handle_data(s, d):
        if s.cur is not None and s.cur["cells"]: s.cur["cells"][-1] += d
        if getattr(s, "idnow", None): s.ids[s.idnow] += d
p = P(); p.feed(open(sys.argv[1]).read())
print(json.dumps({"tags": sorted(set(p.tags)), "ids": p.ids,
    "rows": [[r["cells"][0], r["cells"][2], r["spark"], r["cells"][7]] for r in p.rows]}))
EOF
python3 "$T/dom.py" "$T/dom.html" >"$T/dom.json"
n=$(wc -l <"$T/all.ndjson")
same "total dumps" "$(jq -r '.ids["total-dumps"]' "$T/dom.json")" "$n"
same "total signatures" "$(jq -r '.ids["total-signatures"]' "$T/dom.json")" \
    "$(jq -r '.signature.hash' "$T/all.ndjson" | sort -u | wc -l)"
same "total with a ticket" "$(jq -r '.ids["total-ticketed"]' "$T/dom.json")" \
    "$(jq -r 'select(.ticket) | .id' "$T/all.ndjson" | wc -l)"
same "one row per signature, each with its count" \
    "$(jq -r '.rows[] | "\(.[0]) \(.[1])"' "$T/dom.json" | sort)" \
    "$(jq -r '.signature.text' "$T/all.ndjson" | sort | uniq -c | sed 's/^ *//' | sort)"
same "most dumps first" "$(jq -r '.rows[] | .[0]' "$T/dom.json" | sort -nrs | tr '\n' ' ')" \
    "$(jq -r '.rows[] | .[0]' "$T/dom.json" | tr '\n' ' ')"
same "a sparkline per row, its days summing to the row's count" \
    "$(jq -r '.rows[] | [.[0], (.[2] | split(",") | map(tonumber) | add)] | @tsv' "$T/dom.json" | awk '$1 != $2' | wc -l)" 0
same "the sparkline of gen2: nothing on days 0 and 1, then 3 a day" \
    "$(jq -r '.rows[] | select(.[1] | startswith("gen2 ")) | .[2]' "$T/dom.json")" "0,0,3,3,3,3,3,3,3,3"
same "gen2 is new (first seen 7.5 days before the last dump), gen1 is not" \
    "$(jq -r '.rows[] | select(.[1] | startswith("gen")) | "\(.[1] | .[0:4]) \(.[3])"' "$T/dom.json" | sort)" \
    "gen0 
gen1 
gen2 new"
truth "the hostile name is text: no img or script element but the page's one" \
    bash -c "[ \"\$(jq -c '.tags - [\"a\",\"b\",\"body\",\"div\",\"h1\",\"h2\",\"h3\",\"head\",\"html\",\"input\",\"meta\",\"p\",\"polyline\",\"pre\",\"script\",\"section\",\"style\",\"svg\",\"table\",\"tbody\",\"td\",\"th\",\"thead\",\"time\",\"title\",\"tr\"]' '$T/dom.json')\" = '[]' ]"
same "one script element" "$(grep -o '<script' "$T/dom.html" | wc -l)" 1
truth "the hostile name shows as text in the dump's row" grep -qF '&lt;img src=x onerror=alert(1)&gt;`crash_here' "$T/dom.html"
truth "a node, cmd and signature of markup show as text" grep -qF '&lt;script&gt;alert(2)&lt;/script&gt;</td><td class="cmd">&lt;b&gt;x&lt;/b&gt;' "$T/dom.html"
truth "a signature of markup shows as text" grep -qF '<h3>&lt;svg onload=alert(3)&gt;</h3>' "$T/dom.html"

# ---------------------------------------------------------------- errors
expect_err "a bad line is reported, the page made of the rest" 1 "^thoth-html: -:2: parse error" -- \
    bash -c 'set -o pipefail; printf "%s\n" "$(head -n 1 "$1")" "{bad" | thoth-html | grep -q "<tr class=\"sig\""' _ "$T/gen.ndjson"
expect_err "a bad -n" 1 "^thoth-html: x: not a number" -- thoth-html -n x
expect_err "a bad -N" 1 "^thoth-html: 3q: " -- thoth-html -N 3q
expect_err "an operand" 1 "^usage: thoth-html" -- thoth-html foo
expect_err "a missing file" 1 "^thoth-html: $T/nope: " -- thoth-html -f "$T/nope"
same "no records: a page with zero totals" "$(thoth-html </dev/null | grep -o 'id="total-dumps">[0-9]*')" 'id="total-dumps">0'
same "THOTH_SCAN=jansson makes the same page" "$(THOTH_SCAN=jansson thoth-html -N 8d -f "$T/all.ndjson" | cmp - "$T/page.html" && echo same)" same
same "records not as the tools write them (jansson in the workers) make the same page" \
    "$(sed 's/,"/, "/g' "$T/all.ndjson" | thoth-html -N 8d | cmp - "$T/page.html" && echo same)" same

# -o: the page by rename, and only from whole input.
same "thoth report --html -o: exit 0, nothing said" "$(thoth report --html -o "$T/pub.html" "" 2>&1; echo "rc=$?")" "rc=0"
same "-o writes the page stdout gets" "$(thoth-filter -I | thoth-html | cmp - "$T/pub.html" && echo same)" same
cp "$T/pub.html" "$T/pub.before"
expect_err "-o with a bad line: the page left as it was" 1 "pub.html: left as it was" -- \
    bash -c 'printf "{bad\n" | thoth-html -o "$1"' _ "$T/pub.html"
same "the published page unchanged" "$(cmp "$T/pub.html" "$T/pub.before" && echo same)" same
same "no temporary left beside it" "$(find "$T" -maxdepth 1 -name '.pub.html*' | wc -l)" 0
expect_err "-o in a missing directory" 1 "^thoth-html: .*nodir/" -- thoth-html -o "$T/nodir/p.html" -f "$T/gen.ndjson"

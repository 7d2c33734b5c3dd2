#!/usr/bin/env bash
# omni replay's BBO-change stream against two independent ITCH implementations,
# meatpy and itch-book (PyPI), on every real fixture, on the fixtures joined in day
# order, and on a larger synthetic day (plain and .gz). Any difference fails and
# names the first differing row.
#
# Usage: Tests/Peers/compare-bbo.sh [WORK_DIR]
# Needs: .build/release/omni (make release); the venv comes from setup-venv.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
omni="$root/.build/release/omni"
[ -x "$omni" ] || { echo "compare-bbo: $omni missing (run: make release)" >&2; exit 2; }
venv="$("$here/setup-venv.sh")"
py="$venv/bin/python"
work="${1:-$(mktemp -d -t omni-bbo.XXXXXX)}"
mkdir -p "$work"
data="${OMNI_DATA:-$root/../shared/data}/nasdaq-itch50-12302019-fixtures"

inputs=()
if [ -d "$data" ]; then
    inputs+=("$data"/*.NASDAQ_ITCH50)
    # Day order (03:04, 04:00, 09:30): refs are unique for the day, so the join is a valid stream.
    cat "$data/12302019_first1000.NASDAQ_ITCH50" "$data/12302019_0400_first500_orderflow.NASDAQ_ITCH50" \
        "$data/12302019_open0930_1000msgs.NASDAQ_ITCH50" > "$work/fixtures-joined.NASDAQ_ITCH50"
    inputs+=("$work/fixtures-joined.NASDAQ_ITCH50")
else
    echo "compare-bbo: SKIPPING the real-data checks: no ITCH fixtures at $data (set OMNI_DATA)" >&2
fi
"$omni" gen itch "$work/synthetic.itch" --symbols 50 --messages 300000 --seed 7 >/dev/null
gzip -c "$work/synthetic.itch" > "$work/synthetic.itch.gz"
inputs+=("$work/synthetic.itch" "$work/synthetic.itch.gz")

passed=0 failed=0
check() { # name ours theirs
    if cmp -s "$2" "$3"; then
        passed=$((passed + 1))
        printf 'ok    %-48s %-9s %7d rows identical\n' "$1" "$4" "$(wc -l < "$2")"
    else
        failed=$((failed + 1))
        local line
        line=$(cmp "$2" "$3" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p')
        [ -n "$line" ] || line=$(( $(wc -l < "$2") < $(wc -l < "$3") ? $(wc -l < "$2") + 1 : $(wc -l < "$3") + 1 ))
        printf 'FAIL  %-48s %-9s first differing row %s: omni "%s" %s "%s" (rows: omni %d, %s %d)\n' \
            "$1" "$4" "$line" "$(sed -n "${line}p" "$2")" "$4" "$(sed -n "${line}p" "$3")" \
            "$(wc -l < "$2")" "$4" "$(wc -l < "$3")"
    fi
}
for f in "${inputs[@]}"; do
    name="$(basename "$f")"
    out="$work/$name"
    "$omni" replay "$f" --bbo-csv "$out.omni.csv" > "$out.summary"
    "$py" "$here/bbo_meatpy.py" "$f" "$out.meatpy.csv"
    "$py" "$here/bbo_itchbook.py" "$f" "$out.itchbook.csv"
    check "$name" "$out.omni.csv" "$out.meatpy.csv" meatpy
    check "$name" "$out.omni.csv" "$out.itchbook.csv" itch-book
done
echo "peers: $passed passed, $failed failed"
if [ "$failed" -eq 0 ] && [ -z "${1:-}" ]; then
    rm -rf "$work" # a folder of its own, not asked for: nothing to look at when every check passed
    exit 0
fi
echo "outputs in $work"
[ "$failed" -eq 0 ]

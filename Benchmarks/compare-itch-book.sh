#!/usr/bin/env bash
# Full-replay throughput of `omni replay` against itch-book (the peer: a C++ ITCH 5.0 parser with
# L3 books, driven from Python) on the same day file, A/B alternating, 3 rounds each.
#
# Usage: Benchmarks/compare-itch-book.sh [FILE] [ROUNDS]
#   FILE    ITCH 5.0 day file (default: bench-data/venue-10m.itch, generated with
#           `omni gen itch --symbols 2000 --messages 10000000 --seed 1` when missing: the
#           venue's ITCH under its order-flow generator)
#   ROUNDS  rounds of A then B (default 3)
# The release CLI is brought up to date first (swift build -c release --product omni).
#
# What is timed, on each side: the replay alone, over the file already in memory.
#   omni:      the `elapsed ... M msgs/s` line of `omni replay FILE` (release build): runDayFile
#              into fresh books, no BBO output; the file is mmapped (MAP_POPULATE) before timing.
#   itch-book: Tests/Peers/bench_itchbook.py FILE --runs 1: one Session.feed() of the whole buffer
#              (read into RAM first) into a fresh session, no output tables.
# Both build full-depth order books for every symbol. The rate of each side is its own message
# count over its own timed region; the counts are printed so they can be compared.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

rounds="${2:-3}"
omni="$root/.build/release/omni"
echo "== bringing the release CLI up to date (swift build -c release --product omni)" >&2
swift build -c release --product omni >&2

file="${1:-}"
if [ -z "$file" ]; then
    file="bench-data/venue-10m.itch"
    if [ ! -f "$file" ]; then
        mkdir -p bench-data
        echo "== generating $file" >&2
        "$omni" gen itch "$file" --symbols 2000 --messages 10000000 --seed 1 >&2
    fi
fi
[ -f "$file" ] || { echo "compare-itch-book.sh: no such file: $file" >&2; exit 1; }

echo "== peer venv (Tests/Peers/setup-venv.sh)" >&2
venv="$(Tests/Peers/setup-venv.sh)"
py="$venv/bin/python"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "file:     $file ($(stat -c %s "$file") bytes)"
echo "omni:     $omni (release build of $(date -r "$omni" '+%F %T')), tree $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' + local changes')"
echo "peer:     itch-book $("$py" -c 'from importlib.metadata import version; print(version("itch-book"))') ($py)"
echo "machine:  $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
echo "rounds:   $rounds x (omni, then itch-book), alternating"
echo

omni_rates=()
peer_rates=()
omni_msgs="" peer_msgs=""
for r in $(seq 1 "$rounds"); do
    out="$("$omni" replay "$file")"
    line="$(grep '^elapsed' <<<"$out")"
    rate="$(sed -E 's/.*, ([0-9.]+) M msgs\/s.*/\1/' <<<"$line")"
    omni_msgs="$(grep '^messages' <<<"$out" | awk '{print $2}')"
    omni_rates+=("$rate")
    echo "round $r  omni       $rate M msgs/s   ($line)"

    pline="$("$py" Tests/Peers/bench_itchbook.py "$file" --runs 1 2>/dev/null)"
    prate="$(sed -E 's/.*= ([0-9.]+) M msg\/s.*/\1/' <<<"$pline")"
    peer_msgs="$(awk '{print $2}' <<<"$pline")"
    peer_rates+=("$prate")
    echo "round $r  itch-book  $prate M msgs/s   ($pline)"
done

om="$(median "${omni_rates[@]}")"
pm="$(median "${peer_rates[@]}")"
echo
echo "messages: omni $omni_msgs well-formed, itch-book $peer_msgs"
echo "median:   omni $om M msgs/s, itch-book $pm M msgs/s"
awk -v a="$om" -v b="$pm" 'BEGIN { if (b > 0) printf "ratio:    omni / itch-book = %.2fx\n", a / b; else print "ratio:    n/a" }'

#!/usr/bin/env bash
# The decision path's instruction count under callgrind: book update -> strategy -> risk ->
# OUCH encoded, per ITCH message (OmniBench.DecisionPath.pass, what `omni bench decision-path`
# times). Deterministic, whatever the host's load.
#   Benchmarks/decision-path-instructions.sh [OMNI]          print the count per pass and the costliest functions
#   Benchmarks/decision-path-instructions.sh --check [OMNI]  also fail beyond the budget in
#                                                           Benchmarks/Thresholds/decision-path-instructions.txt (make test)
# OMNI defaults to .build/release/omni, which must be built with `-Xcc -gdwarf-4` (make release
# does): valgrind cannot read the DWARF 5 clang gives the C targets by default. No `head` in the
# pipes: under pipefail its early exit would fail the script with SIGPIPE.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
omni=${1:-.build/release/omni}
budget=Benchmarks/Thresholds/decision-path-instructions.txt
command -v valgrind >/dev/null || { echo "decision-path-instructions: valgrind is missing (make setup installs it)" >&2; exit 1; }
[ -x "$omni" ] || { echo "decision-path-instructions: $omni is not built (make release)" >&2; exit 1; }
scratch=$(mktemp -d -t omni-decision-ir-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
warm=10000 passes=10000
# Every call of DecisionPath.pass is collected, warm-up included (the same work each time).
valgrind --tool=callgrind --callgrind-out-file="$scratch/cg" --toggle-collect='$s9OmniBench12DecisionPathC4passyyF' \
  "$omni" bench decision-path --warm-up $warm --passes $passes --core off >"$scratch/out" 2>"$scratch/vg.log" \
  || { cat "$scratch/vg.log" "$scratch/out" >&2; exit 1; }
total=$(sed -nE 's/^==[0-9]+== Collected : ([0-9]+)$/\1/p' "$scratch/vg.log")
[ -n "$total" ] && [ "$total" -gt 0 ] || { echo "decision-path-instructions: nothing collected (symbol not found?)" >&2; cat "$scratch/vg.log" >&2; exit 1; }
per=$(( total / (warm + passes) ))
grep -E "requests and" "$scratch/out" | sed 's/^/  /'
echo "decision path: $per instructions per pass (callgrind, $(( warm + passes )) passes; release build)"
echo "costliest, instructions per pass:"
callgrind_annotate "$scratch/cg" 2>/dev/null | sed -nE 's/^ *([0-9,]+) \([ 0-9.]+%\)  [^:]*:([^ ]*) .*/\1 \2/p' | awk 'NR <= 12' \
  | swift demangle --simplified | while read -r cost name; do
      printf '  %6d  %s\n' $(( ${cost//,/} / (warm + passes) )) "$(echo "$name" | cut -c1-90)"
    done
if [ $check = 1 ]; then
  limit=$(awk '!/^#/ && $1 == "pass" { print $2 }' "$budget")
  [ -n "$limit" ] || { echo "decision-path-instructions: no budget in $budget" >&2; exit 1; }
  if [ "$per" -gt "$limit" ]; then echo "decision-path-instructions: $per instructions per pass, budget $limit ($budget)" >&2; exit 1; fi
  echo "  $per <= budget $limit"
fi

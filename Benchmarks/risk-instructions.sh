#!/usr/bin/env bash
# CRisk's instruction counts under callgrind: deterministic, whatever the host's load.
#   Benchmarks/risk-instructions.sh            print the counts per crisk_check path and per check
#   Benchmarks/risk-instructions.sh --check    also fail when a path exceeds its budget in
#                                              Benchmarks/Thresholds/risk-instructions.txt (make test)
# The driver (Benchmarks/RiskInstructions/risk_instructions.c) runs each path 10,000 times; the
# counts are callgrind's inclusive instructions of crisk_check per call from that path, with the
# kernels' own flags (-O3). Per check: the same driver built with -fno-inline, so every check_*
# is a function of its own (its count per call; the commit steps likewise).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=Benchmarks/Thresholds/risk-instructions.txt
command -v valgrind >/dev/null || { echo "risk-instructions: valgrind is missing (make setup installs it)" >&2; exit 1; }
scratch=$(mktemp -d -t omni-risk-ir-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
flags=(-std=c11 -Wall -Wextra -Wno-unused-function -ICKernels/CRisk/include -ICKernels/CEvent/include)
src=(Benchmarks/RiskInstructions/risk_instructions.c CKernels/CRisk/crisk.c)
gcc -O3 "${flags[@]}" "${src[@]}" -o "$scratch/inlined"
gcc -O3 -fno-inline "${flags[@]}" "${src[@]}" -o "$scratch/separate"
valgrind --tool=callgrind --callgrind-out-file="$scratch/inlined.cg" "$scratch/inlined" >/dev/null 2>"$scratch/vg.log" || { cat "$scratch/vg.log" >&2; exit 1; }
n=10000

# Inclusive crisk_check instructions per call, by calling path ("  4,944,755 (31.40%)  < ???:path_new_order (10,000x)").
declare -A per_path
while read -r cost path; do per_path[$path]=$(( ${cost//,/} / n )); done < <(
  callgrind_annotate --inclusive=yes --tree=caller "$scratch/inlined.cg" 2>/dev/null \
  | sed -nE '/\* +\?\?\?:crisk_check /q; s/^ *([0-9,]+) .*< \?\?\?:(path_[a-z_]+) .*/\1 \2/p')
echo "crisk_check, instructions per call (callgrind, gcc -O3, gcc $(gcc -dumpfullversion), $(uname -m)):"
for p in path_new_order path_replace path_cancel path_refused_qty; do
  printf '  %-18s %6s\n' "${p#path_}" "${per_path[$p]:-?}"
done

# One new order, step by step: the driver built with -fno-inline runs the new-order path alone,
# counted only inside crisk_check; each step's inclusive count / N is its cost in one new order.
valgrind --tool=callgrind --toggle-collect=crisk_check --callgrind-out-file="$scratch/new.cg" "$scratch/separate" new >/dev/null 2>>"$scratch/vg.log" || { cat "$scratch/vg.log" >&2; exit 1; }
echo "one new order that passes, per step (built with -fno-inline; each step's own count, callees included):"
callgrind_annotate --inclusive=yes --threshold=100 "$scratch/new.cg" 2>/dev/null \
  | sed -nE 's/\.isra\.[0-9]+//; s/^ *([0-9,]+) .*\?\?\?:(crisk_check|check_[a-z_]+|exposure_ok|bucket_level|bucket_spend|dup_remember|order_update|list_insert) .*/\1 \2/p' \
  | while read -r cost name; do printf '  %-18s %6d\n' "$name" $(( ${cost//,/} / n )); done

if [ "${1:-}" = "--check" ]; then
  fail=0
  while read -r path limit _; do
    [[ -z "$path" || "$path" == \#* ]] && continue
    got=${per_path[path_$path]:-}
    if [ -z "$got" ]; then echo "risk-instructions: no count for $path" >&2; fail=1
    elif [ "$got" -gt "$limit" ]; then echo "risk-instructions: $path takes $got instructions, budget $limit ($budget)" >&2; fail=1
    else echo "  $path: $got <= budget $limit"; fi
  done < "$budget"
  [ $fail = 0 ] || exit 1
fi

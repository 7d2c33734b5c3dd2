#!/usr/bin/env bash
# Runs the Verilator harness (Hardware/sim/mold_itch_harness.cpp) on the real ITCH fixtures
# (found through OMNI_DATA; skipped, loudly, when absent) and on a synthetic day of
# MESSAGES messages written by `omni gen itch`.
# Usage: run-harness.sh HARNESS OMNI MESSAGES [SEED]
set -euo pipefail
harness=$1 omni=$2 messages=$3 seed=${4:-1}
fixtures="${OMNI_DATA:-../shared/data}/nasdaq-itch50-12302019-fixtures"
scratch=$(mktemp -d -t omni-hw-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

files=()
if compgen -G "$fixtures/*.NASDAQ_ITCH50" >/dev/null; then
  files+=("$fixtures"/*.NASDAQ_ITCH50)
else
  echo "hw-test: SKIPPING THE REAL ITCH FIXTURES: none at $fixtures (set OMNI_DATA to the shared data folder)" >&2
fi
"$omni" gen itch "$scratch/synthetic-$messages.itch" --symbols 500 --messages "$messages" --seed "$seed" >"$scratch/gen.log"
head -1 "$scratch/gen.log" # not in a pipe: under pipefail head's early exit would fail the script with SIGPIPE
files+=("$scratch/synthetic-$messages.itch")
nice -n 19 "$harness" --seed "$seed" "${files[@]}"

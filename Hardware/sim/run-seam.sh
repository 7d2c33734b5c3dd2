#!/usr/bin/env bash
# The seam: the decoder kernel's Verilator model, as its own process, feeds omni's books through
# a shared-memory ring (omni replay --from-ring) in place of omni's own decode; the BBO stream
# must equal `omni replay`'s of the same day file. Runs on the real fixtures (OMNI_DATA; skipped,
# loudly, when absent) and a synthetic day of MESSAGES messages.
# Usage: run-seam.sh HARNESS OMNI MESSAGES
set -euo pipefail
harness=$1 omni=$2 messages=$3
fixtures="${OMNI_DATA:-../shared/data}/nasdaq-itch50-12302019-fixtures"
scratch=$(mktemp -d -t omni-seam-XXXXXX)
ring="/omni-seam-$$"
trap 'rm -rf "$scratch"; rm -f "/dev/shm${ring}"' EXIT

files=()
if compgen -G "$fixtures/*.NASDAQ_ITCH50" >/dev/null; then
  files+=("$fixtures"/*.NASDAQ_ITCH50)
else
  echo "hw-seam: SKIPPING THE REAL ITCH FIXTURES: none at $fixtures (set OMNI_DATA to the shared data folder)" >&2
fi
"$omni" gen itch "$scratch/synthetic-$messages.itch" --symbols 500 --messages "$messages" --seed 3 >/dev/null
files+=("$scratch/synthetic-$messages.itch")

for f in "${files[@]}"; do
  name=$(basename "$f")
  "$omni" replay "$f" --bbo-csv "$scratch/replay.csv" >/dev/null
  rm -f "/dev/shm${ring}" "$scratch/payload"
  # omni waits for the ring; the model writes the payload file first, then creates the ring.
  "$omni" replay --from-ring "$ring" "$scratch/payload" --bbo-csv "$scratch/seam.csv" >"$scratch/seam.log" & consumer=$!
  if ! nice -n 19 "$harness" --ring "$ring" --payload "$scratch/payload" "$f" >"$scratch/model.log"; then
    kill "$consumer" # it would wait for a stop event that never comes
    echo "hw-seam: FAIL $name: the model failed:" >&2; cat "$scratch/model.log" >&2; exit 1
  fi
  wait $consumer
  if ! cmp -s "$scratch/replay.csv" "$scratch/seam.csv"; then
    echo "hw-seam: FAIL $name: the BBO stream through the ring differs from omni replay's" >&2
    diff <(head -c 100000000 "$scratch/replay.csv") <(head -c 100000000 "$scratch/seam.csv") | head -5 >&2
    exit 1
  fi
  echo "hw-seam: $name: $(grep -o '[0-9,]* ITCH events applied' "$scratch/seam.log"), BBO stream identical to omni replay's ($(wc -l <"$scratch/seam.csv") rows)"
done
echo "hw-seam: PASS"

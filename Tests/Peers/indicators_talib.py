"""TA-Lib's EMA, VAR and STDDEV on a real mid series, for OmniStrategy's peer test.

Usage: indicators_talib.py CAPTURE.gz OUT_DIR [--ema-period 20] [--interval-ns 100000000] [--window 50]

CAPTURE.gz: a Binance raw WebSocket capture from $OMNI_DATA/binance-ws-capture-20240808 (one
line per message: `<receive ns> <JSON>`). Only `@bookTicker` messages are used: each gives a
touch (best bid / ask); prices are written in integer cents (the BTCUSDT tick is 0.01).

Writes (no header):
  OUT_DIR/mids.csv  ns,bid_cents,ask_cents,ema      EMA = talib.EMA(mid, ema_period) per row
  OUT_DIR/grid.csv  grid_ns,mid,logret,var,stddev   the mid sampled every interval_ns (the last
                    touch at or before each grid point, grid points from the first one at or
                    after the first touch to the last one before the last touch); logret from
                    the previous sample; var = talib.VAR(logret, window, nbdev=1), stddev =
                    talib.STDDEV(logret, window, nbdev=1) (population, divisor window)
"nan" where TA-Lib has no value yet. The grid sampling here is numpy's searchsorted, written
independently of the Swift one.
"""
import argparse, gzip, json, os, sys
from decimal import Decimal
import numpy as np
import talib

ap = argparse.ArgumentParser()
ap.add_argument("capture"); ap.add_argument("out")
ap.add_argument("--ema-period", type=int, default=20)
ap.add_argument("--interval-ns", type=int, default=100_000_000)
ap.add_argument("--window", type=int, default=50)
a = ap.parse_args()

ns, bid, ask = [], [], []
with gzip.open(a.capture, "rt") as f:
    for line in f:
        t, js = line.split(" ", 1)
        if '@bookTicker"' not in js[:60]:
            continue
        d = json.loads(js)["data"]
        ns.append(int(t)); bid.append(int(Decimal(d["b"]) * 100)); ask.append(int(Decimal(d["a"]) * 100))
ns = np.array(ns, dtype=np.int64); bid = np.array(bid, dtype=np.int64); ask = np.array(ask, dtype=np.int64)
if len(ns) == 0 or np.any(np.diff(ns) < 0) or np.any(ask <= bid):
    sys.exit("indicators_talib.py: no touches, times not in order, or a crossed touch")
mid = (bid + ask) / 2.0
ema = talib.EMA(mid, timeperiod=a.ema_period)

dt = a.interval_ns
first = -(-int(ns[0]) // dt) * dt
grid = np.arange(first, int(ns[-1]), dt, dtype=np.int64)          # g < the last touch's time
idx = np.searchsorted(ns, grid, side="right") - 1                  # last touch at or before g
gmid = mid[idx]
logret = np.full(len(grid), np.nan)
logret[1:] = np.log(gmid[1:] / gmid[:-1])
var = np.full(len(grid), np.nan); sd = np.full(len(grid), np.nan)
var[1:] = talib.VAR(logret[1:], timeperiod=a.window, nbdev=1)
sd[1:] = talib.STDDEV(logret[1:], timeperiod=a.window, nbdev=1)

os.makedirs(a.out, exist_ok=True)
fmt = lambda x: "nan" if np.isnan(x) else repr(float(x))
with open(os.path.join(a.out, "mids.csv"), "w") as f:
    for i in range(len(ns)):
        f.write(f"{ns[i]},{bid[i]},{ask[i]},{fmt(ema[i])}\n")
with open(os.path.join(a.out, "grid.csv"), "w") as f:
    for i in range(len(grid)):
        f.write(f"{grid[i]},{fmt(gmid[i])},{fmt(logret[i])},{fmt(var[i])},{fmt(sd[i])}\n")
print(f"indicators_talib.py: {len(ns)} touches, {len(grid)} grid samples, talib {talib.__version__}", file=sys.stderr)

#!/usr/bin/env python3
"""Throughput of itch-book's C++ core: full ITCH 5.0 parse + L3 book apply over a whole day file.

Usage: bench_itchbook.py FILE [--runs N] [--bbo]

The file (plain or .gz) is read and, if gzipped, decompressed into memory first; only the
itch-book call is timed: for each run a fresh itch_book._core.Session (all symbols, every
order in an L3 book with FIFO queues) gets the whole buffer in one Session.feed() call, which
parses and applies every message in C++ with the GIL released. By default no output table is
requested, so top-of-book tracking is off (the fastest path; what `itch2parquet verify` runs).
--bbo also tracks the top of book and fills the bbo table (what bbo_itchbook.py needs).
The message count is itch-book's own (Session.stats()["messages"]); it is checked to be the same
in every run.

Prints on stdout exactly one line, for the BEST (fastest) of N runs (default 3):
  itch-book: MESSAGES msgs in SECONDS s = RATE M msg/s
and on stderr the median, every run, and the book stats.
"""
import argparse
import gzip
import statistics
import sys
import time

from itch_book._core import Session


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bbo", action="store_true", help="also track top of book and fill the bbo table")
    a = ap.parse_args()
    buf = load(a.file)
    tables = ["bbo"] if a.bbo else []
    times, counts, stats = [], set(), None
    for _ in range(max(1, a.runs)):
        s = Session(tables=tables, depth=0, symbols=[])
        if a.bbo:
            s.reserve(len(buf) // 14 + 1)        # >= one row per message (frames are >= 14 bytes)
        t0 = time.perf_counter()
        s.feed(buf)
        t1 = time.perf_counter()
        stats = s.stats()
        times.append(t1 - t0)
        counts.add(stats["messages"])
        del s
    if len(counts) != 1:
        sys.exit(f"message count differs between runs: {sorted(counts)}")
    n = counts.pop()
    if stats["pending_bytes"]:
        print(f"warning: {stats['pending_bytes']} trailing bytes (truncated file?)", file=sys.stderr)
    best, med = min(times), statistics.median(times)
    print(f"itch-book: {n} msgs in {best:.6f} s = {n / best / 1e6:.2f} M msg/s")
    print(f"  best of {len(times)} runs; median {med:.6f} s = {n / med / 1e6:.2f} M msg/s; "
          f"runs: {', '.join(f'{t:.6f}' for t in times)}; tables={tables or 'none'}; "
          f"input {len(buf)} bytes in RAM; missing_ref={stats['missing_ref']} books={stats['books']} "
          f"live_orders={stats['live_orders']} crossed_books={stats['crossed_books']}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""BBO-change stream from a NASDAQ ITCH 5.0 day file, computed by itch-book (PyPI `itch-book==0.2.1`).

Usage: bbo_itchbook.py FILE OUT.csv      (FILE: plain or .gz day file, [u16 BE length][message] framing)

Parsing, L3 books and top-of-book tracking are itch-book's C++ core, driven through its public
Python API: itch_book.Feed(path, date=..., price_type="fixed").batches(tables=("bbo",)), which
reads raw or gzip input (magic-byte sniffing) in chunks and returns the `bbo` table as numpy
columns (seq, locate, bid_px, bid_sz, bid_ct, ask_px, ask_sz, ask_ct; price_type="fixed" gives the
raw ITCH price, 0 = empty side). The session date only shifts ts_event, so a fixed one is passed and
the file name does not have to follow NASDAQ's naming.

itch-book's `bbo` table already has one row per touch change per locate, but a row can also be
triggered by an order-count-only change (bid_ct/ask_ct), so this script keeps the last row of
each (seq, locate) and prints it only if (bid_px,bid_sz,ask_px,ask_sz) differs from the previous
printed state of that locate (initially 0,0,0,0).

Output rows (no header): locate,bid_px,bid_sz,ask_px,ask_sz
"""
import datetime
import sys

import numpy as np

import itch_book

EMPTY = (0, 0, 0, 0)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: bbo_itchbook.py FILE OUT.csv")
    path, out_path = argv[1], argv[2]
    feed = itch_book.open(path, date=datetime.date(2000, 1, 1), price_type="fixed")
    last = {}
    raw_rows = rows = 0
    with open(out_path, "w") as out:
        write = out.write
        for batch in feed.batches(tables=("bbo",), rows=1_000_000):
            t = batch.bbo
            n = len(t["seq"])
            raw_rows += n
            if n == 0:
                continue
            seq, loc = t["seq"], t["locate"]
            # keep only the last row of each (seq, locate): the state after the whole message
            keep = np.ones(n, dtype=bool)
            keep[:-1] = (seq[1:] != seq[:-1]) | (loc[1:] != loc[:-1])
            cols = [loc, t["bid_px"], t["bid_sz"], t["ask_px"], t["ask_sz"]]
            cols = [c[keep].tolist() for c in cols]
            for l, bp, bs, ap, as_ in zip(*cols):
                now = (bp, bs, ap, as_)
                if now != last.get(l, EMPTY):
                    last[l] = now
                    write(f"{l},{bp},{bs},{ap},{as_}\n")
                    rows += 1
    s = feed.stats
    print(f"itch-book: {s['messages']} msgs, {raw_rows} raw bbo rows -> {rows} BBO rows; "
          f"missing_ref={s['missing_ref']} dup_ref={s['dup_ref']} rejected={s['rejected']} "
          f"clamped={s['clamped']} crossed_books={s['crossed_books']} unknown_types={s['unknown']} "
          f"malformed={s['malformed']}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)

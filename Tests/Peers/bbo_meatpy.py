#!/usr/bin/env python3
"""BBO-change stream from a NASDAQ ITCH 5.0 day file, computed by MeatPy (PyPI `meatpy==0.5.0`).

Usage: bbo_meatpy.py FILE OUT.csv      (FILE: plain or .gz day file, [u16 BE length][message] framing)

Everything that parses or maintains a book is MeatPy's own code:
  * meatpy.itch50.ITCH50MessageReader   -- file framing, gzip detection, message decoding
  * meatpy.itch50.ITCH50MarketProcessor -- one per stock; applies A/F/E/C/X/D/U to its
    meatpy.lob.LimitOrderBook (processor.current_lob: bid_levels / ask_levels, Level.price / .volume)
Our code only routes messages to the processor of their stock (locate -> stock from R messages,
or from the stock field of the first A/F on that locate), swallows the exceptions MeatPy raises for
unknown/dead order refs, and prints a row when a locate's (bid_px,bid_sz,ask_px,ask_sz) changed.

Output rows (no header): locate,bid_px,bid_sz,ask_px,ask_sz  (raw ITCH price units; empty side = 0,0)
"""
import collections
import datetime
import sys

from meatpy.itch50 import ITCH50MarketProcessor, ITCH50MessageReader
from meatpy.itch50.itch50_market_message import (
    AddOrderMessage,
    AddOrderMPIDMessage,
    OrderCancelMessage,
    OrderDeleteMessage,
    OrderExecutedMessage,
    OrderExecutedPriceMessage,
    OrderReplaceMessage,
    StockDirectoryMessage,
)

ADDS = (AddOrderMessage, AddOrderMPIDMessage)
REF_OPS = (OrderExecutedMessage, OrderExecutedPriceMessage, OrderCancelMessage,
           OrderDeleteMessage, OrderReplaceMessage)
EMPTY = (0, 0, 0, 0)
# Only used by MeatPy to turn ITCH ns-since-midnight into Timestamps; the value is irrelevant here.
BOOK_DATE = datetime.datetime(2000, 1, 1)


def top(lob):
    """(bid_px, bid_sz, ask_px, ask_sz) of a MeatPy LimitOrderBook (None -> empty)."""
    if lob is None:
        return EMPTY
    b = lob.bid_levels[0] if lob.bid_levels else None
    a = lob.ask_levels[0] if lob.ask_levels else None
    return (b.price if b else 0, b.volume if b else 0, a.price if a else 0, a.volume if a else 0)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: bbo_meatpy.py FILE OUT.csv")
    path, out_path = argv[1], argv[2]
    stock_of = {}       # locate -> 8-byte stock (from R, or from the first A/F on the locate)
    processors = {}     # stock  -> ITCH50MarketProcessor
    proc_of = {}        # locate -> processor (cache)
    last = {}           # locate -> last BBO tuple (absent = empty)
    errors = collections.Counter()
    n_msgs = rows = 0
    with open(out_path, "w") as out, ITCH50MessageReader(path) as reader:
        write = out.write
        for msg in reader:
            n_msgs += 1
            if isinstance(msg, StockDirectoryMessage):
                stock_of.setdefault(msg.stock_locate, msg.stock)
                continue
            if isinstance(msg, ADDS):
                loc = msg.stock_locate
                proc = proc_of.get(loc)
                if proc is None:
                    stock = stock_of.setdefault(loc, msg.stock)
                    proc = processors.get(stock)
                    if proc is None:
                        proc = processors[stock] = ITCH50MarketProcessor(stock, BOOK_DATE)
                    proc_of[loc] = proc
            elif isinstance(msg, REF_OPS):
                loc = msg.stock_locate
                proc = proc_of.get(loc)
                if proc is None:        # nothing was ever added on this locate: unknown ref
                    errors["no book for locate (unknown ref)"] += 1
                    continue
            else:
                continue                # S/R/H/Y/L/V/W/K/J/h/P/Q/B/I/N/O: no book change
            try:
                proc.process_message(msg)
            except Exception as e:      # unknown / already-dead order ref, volume inconsistency, ...
                errors[type(e).__name__] += 1
            now = top(proc.current_lob)
            if now != last.get(loc, EMPTY):
                last[loc] = now
                write(f"{loc},{now[0]},{now[1]},{now[2]},{now[3]}\n")
                rows += 1
    detail = ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"
    print(f"meatpy: {n_msgs} msgs, {rows} BBO rows, {len(processors)} books; "
          f"swallowed: {detail}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)

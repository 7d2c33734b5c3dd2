import OmniFeed
import CWire
import OmniBook
import OmniCore

/// A synthetic but valid ITCH 5.0 day file: system events, a stock directory of
/// `symbols` instruments named SYN00001..., then order flow with NASDAQ-like
/// proportions (adds ~46 %, deletes ~40 %, replaces ~7 %, executes ~4.5 %,
/// cancels ~1 %, hidden trades ~1.5 %), prices placed at geometric distances from
/// the touch so books stay uncrossed. Labelled synthetic in every symbol name.
public struct SyntheticDay {
    public var symbols: Int
    public var messages: Int
    public var seed: UInt64

    public init(symbols: Int, messages: Int, seed: UInt64) {
        self.symbols = symbols; self.messages = messages; self.seed = seed
    }

    /// Writes the day file; `progress` is called with messages written so far.
    public func write(to out: FileWriter, progress: ((Int) -> Void)? = nil) throws {
        precondition((1...65535).contains(symbols), "symbols must be 1...65535")
        var rng = SeededRandom(seed: seed)
        let books: Books
        do { books = try Books() } catch { throw FeedError.cannotOpen(path: out.path, reason: "\(error)") }
        var msg = [UInt8](repeating: 0, count: Int(CW_ITCH_MAX_LEN))
        var written = 0
        // `msg` holds CW_ITCH_MAX_LEN bytes, so an encoder's 0 (did not fit) is a bug here, not data: refused loudly.
        func emit(_ n: Int) throws {
            precondition(n > 0, "ITCH encoder refused a \(msg.count)-byte buffer")
            try msg.withUnsafeBytes { b throws in
                try out.writeDayFileRecord(UnsafeRawBufferPointer(rebasing: b[0..<n]))
                _ = books.apply(b.baseAddress!.assumingMemoryBound(to: UInt8.self), length: UInt16(n))
            }
            written += 1
        }
        let hour: UInt64 = 3_600_000_000_000
        var clock: UInt64 = 3 * hour + 5 * 60_000_000_000
        try emit(msg.withUnsafeMutableBufferPointer { cw_itch_put_system_event($0.baseAddress, $0.count, clock, CChar(UInt8(ascii: "O"))) })

        var instruments: [Instrument] = []
        instruments.reserveCapacity(symbols)
        for i in 0..<symbols {
            var name = Array("SYN\(String(repeating: "0", count: 5 - min(5, String(i + 1).count)))\(i + 1)".utf8)
            name += Array(repeating: UInt8(ascii: " "), count: 8 - name.count)
            // Reference prices log-uniform from $5 to $500, on the cent grid.
            let dollars = 5.0 * pow100(rng.unit())
            let mid = UInt32(dollars * 100) * 100
            instruments.append(Instrument(locate: UInt16(i + 1), name: name, mid: max(mid, 10_000)))
            clock += 1000
            let n = name.withUnsafeBufferPointer { nb in
                msg.withUnsafeMutableBufferPointer {
                    cw_itch_put_directory($0.baseAddress, $0.count, UInt16(i + 1), clock, UnsafeRawPointer(nb.baseAddress!).assumingMemoryBound(to: CChar.self), CChar(UInt8(ascii: "Q")))
                }
            }
            try emit(n)
        }
        clock = 4 * hour
        try emit(msg.withUnsafeMutableBufferPointer { cw_itch_put_system_event($0.baseAddress, $0.count, clock, CChar(UInt8(ascii: "S"))) })
        for inst in instruments {
            clock += 500
            let n = inst.name.withUnsafeBufferPointer { nb in
                msg.withUnsafeMutableBufferPointer {
                    cw_itch_put_trading_action($0.baseAddress, $0.count, inst.locate, clock, UnsafeRawPointer(nb.baseAddress!).assumingMemoryBound(to: CChar.self), CChar(UInt8(ascii: "T")))
                }
            }
            try emit(n)
        }
        clock = 9 * hour + 30 * 60_000_000_000
        try emit(msg.withUnsafeMutableBufferPointer { cw_itch_put_system_event($0.baseAddress, $0.count, clock, CChar(UInt8(ascii: "Q"))) })

        var nextRef: UInt64 = 1
        var nextMatch: UInt64 = 1
        let flow = max(0, messages - written - 3)
        let tick: UInt32 = 100
        for k in 0..<flow {
            clock += 1 + rng.next() % 3000
            let i = Int(rng.next() % UInt64(symbols))
            let bbo = books.book(instruments[i].locate).bbo
            let roll = rng.next() % 1000
            var n = -1 // -1: this step writes nothing; an encoder's 0 goes on to emit, which refuses it
            try instruments[i].name.withUnsafeBufferPointer { nb throws in
                let stock = UnsafeRawPointer(nb.baseAddress!).assumingMemoryBound(to: CChar.self)
                try msg.withUnsafeMutableBufferPointer { mb throws in
                    let m = mb.baseAddress!
                    let loc = instruments[i].locate
                    let live = instruments[i].orders.count
                    if live == 0 || roll < 460 {
                        // Add: geometric distance from the mid, never crossing the other side.
                        let side: Character = rng.next() & 1 == 0 ? "B" : "S"
                        let away = tick * UInt32(1 + rng.geometric(0.35))
                        var price: UInt32
                        if side == "B" {
                            price = instruments[i].mid > away ? instruments[i].mid - away : tick
                            if bbo.askSize > 0 { price = min(price, UInt32(bbo.askPrice.raw) - tick) }
                        } else {
                            price = instruments[i].mid + away
                            if bbo.bidSize > 0 { price = max(price, UInt32(bbo.bidPrice.raw) + tick) }
                        }
                        price = max(price, tick)
                        let shares = rng.next() % 10 == 0 ? UInt32(1 + rng.next() % 99) : UInt32(100 * (1 + rng.geometric(0.4)))
                        let ref = nextRef; nextRef += 1
                        let sb = CChar(UInt8(ascii: side == "B" ? "B" : "S"))
                        if roll % 23 == 0 {
                            n = cw_itch_put_add_mpid(m, mb.count, loc, clock, ref, sb, shares, stock, price, "SYNM")
                        } else {
                            n = cw_itch_put_add(m, mb.count, loc, clock, ref, sb, shares, stock, price)
                        }
                        instruments[i].orders.append(LiveOrder(ref: ref, bid: side == "B", price: price, shares: shares))
                    } else if roll < 860 {
                        let j = Int(rng.next() % UInt64(live))
                        n = cw_itch_put_delete(m, mb.count, loc, clock, instruments[i].orders[j].ref)
                        instruments[i].orders.swapAt(j, live - 1)
                        instruments[i].orders.removeLast()
                    } else if roll < 930 {
                        // Replace: a new ref a few ticks away, new size, same side.
                        let j = Int(rng.next() % UInt64(live))
                        var o = instruments[i].orders[j]
                        let moved = Int64(rng.next() % 5) - 2
                        var price = UInt32(max(Int64(tick), Int64(o.price) + moved * Int64(tick)))
                        if o.bid, bbo.askSize > 0 { price = min(price, UInt32(bbo.askPrice.raw) - tick) }
                        if !o.bid, bbo.bidSize > 0 { price = max(price, UInt32(bbo.bidPrice.raw) + tick) }
                        price = max(price, tick)
                        let shares = UInt32(100 * (1 + rng.geometric(0.4)))
                        n = cw_itch_put_replace(m, mb.count, loc, clock, o.ref, nextRef, shares, price)
                        o.ref = nextRef; o.price = price; o.shares = shares
                        nextRef += 1
                        instruments[i].orders[j] = o
                    } else if roll < 975 {
                        // Execute against the best order of a random side; the mid follows trades.
                        let wantBid = rng.next() & 1 == 0
                        guard let j = instruments[i].bestOrder(bid: wantBid) ?? instruments[i].bestOrder(bid: !wantBid) else { return }
                        let o = instruments[i].orders[j]
                        let full = rng.next() % 3 != 0 || o.shares < 2
                        let shares = full ? o.shares : 1 + UInt32(rng.next() % UInt64(o.shares - 1))
                        if roll < 972 {
                            n = cw_itch_put_executed(m, mb.count, loc, clock, o.ref, shares, nextMatch)
                        } else {
                            n = cw_itch_put_executed_price(m, mb.count, loc, clock, o.ref, shares, nextMatch, CChar(UInt8(ascii: "Y")), o.price)
                        }
                        nextMatch += 1
                        instruments[i].mid = o.price
                        if full {
                            instruments[i].orders.swapAt(j, live - 1)
                            instruments[i].orders.removeLast()
                        } else {
                            instruments[i].orders[j].shares -= shares
                        }
                    } else if roll < 985 {
                        let j = Int(rng.next() % UInt64(live))
                        let o = instruments[i].orders[j]
                        if o.shares > 1 {
                            let shares = 1 + UInt32(rng.next() % UInt64(o.shares - 1))
                            n = cw_itch_put_cancel(m, mb.count, loc, clock, o.ref, shares)
                            instruments[i].orders[j].shares -= shares
                        } else {
                            n = cw_itch_put_delete(m, mb.count, loc, clock, o.ref)
                            instruments[i].orders.swapAt(j, live - 1)
                            instruments[i].orders.removeLast()
                        }
                    } else {
                        // Trade against a hidden order, at the mid.
                        let side = CChar(UInt8(ascii: rng.next() & 1 == 0 ? "B" : "S"))
                        n = cw_itch_put_trade(m, mb.count, loc, clock, side, UInt32(100 * (1 + rng.next() % 5)), stock, instruments[i].mid, nextMatch)
                        nextMatch += 1
                    }
                }
            }
            if n >= 0 { try emit(n) }
            if k & 0xFFFFF == 0, let progress { progress(written) }
        }
        clock = 16 * hour
        for code in ["M", "E", "C"] {
            clock += 1_000_000
            try emit(msg.withUnsafeMutableBufferPointer { cw_itch_put_system_event($0.baseAddress, $0.count, clock, CChar(UInt8(ascii: Unicode.Scalar(code)!))) })
        }
        try out.flush()
    }

    struct LiveOrder {
        var ref: UInt64
        var bid: Bool
        var price: UInt32
        var shares: UInt32
    }

    struct Instrument {
        let locate: UInt16
        let name: [UInt8]
        var mid: UInt32
        var orders: [LiveOrder] = []

        /// Index of an order at the best price of one side (highest bid or lowest ask).
        func bestOrder(bid: Bool) -> Int? {
            var best: Int?
            for (j, o) in orders.enumerated() where o.bid == bid {
                if let b = best {
                    if bid ? o.price > orders[b].price : o.price < orders[b].price { best = j }
                } else {
                    best = j
                }
            }
            return best
        }
    }
}

/// 100^x for x in [0, 1), without Foundation.
private func pow100(_ x: Double) -> Double {
    // exp(x * ln 100) by its series: x*ln100 < 4.61, so 30 terms are exact to double precision.
    let y = x * 4.605170185988092
    var term = 1.0, sum = 1.0
    for k in 1..<30 {
        term *= y / Double(k)
        sum += term
    }
    return sum
}

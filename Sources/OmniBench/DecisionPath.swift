import CEvent
import CSys
import CWire
import OmniBook
import OmniFeed
import OmniGateway
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniWire

// The decision path, book update to order encoded, as one repeatable unit of work: the measured
// pass of `omni bench decision-path`, of Benchmarks/Trading and of the instruction-count gate
// (Benchmarks/decision-path-instructions.sh). One pass applies one ITCH message to the books
// (CWire's checks, CBook), the BBO sink marks the board, and the trading loop quotes the changed
// instrument: strategy, pre-trade risk, two OUCH 4.2 replaces encoded with their SoupBinTCP
// headers, the venue's answers applied to the ledger and risk.
//
// What is not OuchOrderEntry itself: OuchOrderEntry.submit writes through its OuchClient's
// SoupBinTCP link (it refuses when not connected), so `EncodingOrderEntry` calls the same
// request -> message mapping (OuchOrderEntry.enter / .replace / .token) and CWire encoders into
// a buffer instead.

/// An OrderEntry that encodes each request as the OUCH 4.2 bytes OuchOrderEntry would send
/// (inside a SoupBinTCP Unsequenced Data header) into a preallocated buffer, discards them at
/// `flush`, and answers each request there as the venue would: an Accepted, Replaced or
/// Canceled message decoded by the same `OuchAnswers` OuchOrderEntry uses (tokens per slot,
/// replace counts, the CEvent answers `poll` hands out). `flush` first takes the TSC: where
/// the decision ends (the pass's orders encoded, handed to the transport), before any answer.
public final class EncodingOrderEntry: OrderEntry {
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity: Int
    @exclusivity(unchecked) var used = 0 // one thread, as OrderEntry's users are
    /// Bytes encoded and discarded so far, and by the last flush.
    @exclusivity(unchecked) public private(set) var encoded = 0
    @exclusivity(unchecked) public private(set) var lastFlushBytes = 0
    let answers: OuchAnswers
    /// The venue's answers to this pass's requests, decoded at `flush` (after its stamp).
    let pending: UnsafeMutablePointer<cw_ouch_out>
    static let pendingCapacity = 256
    @exclusivity(unchecked) var pendingCount = 0
    /// TSC (fenced) at the start of the last flush.
    @exclusivity(unchecked) public private(set) var lastFlushTSC: UInt64 = 0
    /// An Enter Order per locate with its stock and firm filled in (built once, off the hot path).
    let templates: UnsafeMutablePointer<cw_ouch_enter>
    let locates: Int

    public init(symbols: [UInt16: String], locates: Int, orderSlots: Int, capacity: Int = 1 << 16) {
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
        buffer.initialize(repeating: 0, count: capacity)
        answers = OuchAnswers(orderSlots: orderSlots, answerCapacity: 1 << 12)
        pending = .allocate(capacity: Self.pendingCapacity); pending.initialize(repeating: cw_ouch_out(), count: Self.pendingCapacity)
        self.locates = locates
        templates = .allocate(capacity: locates); templates.initialize(repeating: cw_ouch_enter(), count: locates)
        for (l, stock) in symbols where Int(l) < locates {
            templates[Int(l)] = .limit(token: "", stock: stock, side: "B", shares: 0, price: 0, firm: "OMNI")
        }
    }

    deinit { buffer.deallocate(); templates.deallocate(); pending.deallocate() }

    /// One Unsequenced Data packet whose payload `encode` writes (0: it did not fit).
    @inline(__always) func packet(max: Int, _ encode: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> Bool {
        guard capacity - used >= max + 3 else { return false }
        let p = buffer + used
        let n = encode(p + 3, max)
        guard n > 0 else { return false }
        _ = cw_soup_put_header(p, 3, UInt8(ascii: "U"), n)
        used += n + 3
        return true
    }

    public func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        guard pendingCount < Self.pendingCapacity, let s = answers.slot(o.client_order_id) else { return false }
        var m = cw_ouch_out()
        switch Int32(request.type) {
        case Int32(OMNI_EV_ORDER_NEW.rawValue):
            guard Int(request.locate) < locates, templates[Int(request.locate)].stock.0 != 0 else { return false }
            answers.register(request)
            var e = OuchOrderEntry.enter(templates[Int(request.locate)], request, token: answers.token(slot: s))
            guard packet(max: Int(CW_OUCH_ENTER_LEN), { cw_ouch_put_enter($0, $1, &e) }) else { return false }
            m.type = UInt8(ascii: "A")
            m.u.accepted.token = e.token; m.u.accepted.price = o.price; m.u.accepted.shares = o.qty
        case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
            guard o.qty == 0 else { return false } // whole cancels only: the loop makes no other
            var t = answers.token(slot: s)
            guard packet(max: Int(CW_OUCH_CANCEL_LEN), { cw_ouch_put_cancel($0, $1, &t, 0) }) else { return false }
            m.type = UInt8(ascii: "C")
            m.u.canceled.token = t; m.u.canceled.decrement = UInt32.max; m.u.canceled.reason = CChar(UInt8(ascii: "U"))
        case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
            var r = OuchOrderEntry.replace(request, existing: answers.token(slot: s), replacement: answers.token(slot: s, ahead: 1))
            guard packet(max: Int(CW_OUCH_REPLACE_LEN), { cw_ouch_put_replace($0, $1, &r) }) else { return false }
            m.type = UInt8(ascii: "U")
            m.u.replaced.token = r.replacement; m.u.replaced.previous = r.existing; m.u.replaced.price = o.price; m.u.replaced.shares = o.qty
        default:
            return false
        }
        pending[pendingCount] = m
        pendingCount += 1
        return true
    }

    public func flush() {
        lastFlushTSC = csys_tsc_end()
        lastFlushBytes = used
        encoded &+= used
        used = 0 // discarded: no socket
        for i in 0..<pendingCount { answers.translate(pending[i], sequence: 0) }
        pendingCount = 0
    }

    @discardableResult
    public func poll(_ body: (inout omni_event) -> Void) -> Int { answers.drain(body) }
}

/// Books, the trading loop over `EncodingOrderEntry` and a ring of ITCH messages, built once:
/// over a resting 199.00 x 199.04, an Add Order bid at 199.02, its Delete, an Add Order ask at
/// 199.02, its Delete. Each moves the mid a tick, so each pass replaces both quotes. Every
/// `pass` takes the next message; allocation-free after `init` and the warm-up.
public final class DecisionPath {
    public typealias Loop = TradingLoop<EncodingOrderEntry, InventorySkewQuoter>
    public let entry: EncodingOrderEntry
    public let loop: Loop
    let replay: ITCHReplay
    @exclusivity(unchecked) var sink: BoardSink
    /// The messages, 36 bytes apart (an Add is 36, a Delete 19), and their lengths.
    let messages: UnsafeMutablePointer<UInt8>
    let lengths: [UInt16]
    @exclusivity(unchecked) var next = 0
    @exclusivity(unchecked) public private(set) var now: UInt64 = 34_200_000_000_000
    static let locate: UInt16 = 1

    /// `stageStamps`: the loop stamps each request's stages (their cost in the pass).
    public init(stageStamps: Bool = false) throws {
        entry = EncodingOrderEntry(symbols: [Self.locate: "AAPL"], locates: 16, orderSlots: 1 << 10)
        // Every limit configured, none binding: 100 shares a side inside a 1,000 share position
        // limit; message rates above the passes' (now advances 1 ms a pass, two replaces a pass).
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
        rc.instrumentLimits[Self.locate] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000,
                                                            collarBasisPoints: 100, messageBurst: 1_000, messagesPerSecond: 10_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000, messageBurst: 1_000, messagesPerSecond: 10_000)
        let board = QuoteBoard(locates: 16)
        loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16)),
                           risk: try PreTradeCheck(rc), board: board,
                           strategy: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 500))
        loop.quote(Self.locate)
        if stageStamps { loop.stages = StageStamps() }
        sink = BoardSink(board: board)
        replay = ITCHReplay(books: try Books())

        // The resting book: 199.0000 x 199.0400, 500 a side; then the ring.
        let stock: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar) = (65, 65, 80, 76, 32, 32, 32, 32) // "AAPL    "
        var setup = [UInt8](repeating: 0, count: 3 * 36)
        var ring = [UInt8](repeating: 0, count: 4 * 36)
        var lens: [UInt16] = []
        withUnsafeBytes(of: stock) { s in
            let sp = s.baseAddress!.assumingMemoryBound(to: CChar.self)
            setup.withUnsafeMutableBufferPointer { b in
                let m = b.baseAddress!
                _ = cw_itch_put_directory(m, 36, Self.locate, 1, sp, CChar(UInt8(ascii: "Q")))
                _ = cw_itch_put_add(m + 36, 36, Self.locate, 2, 1, CChar(UInt8(ascii: "B")), 500, sp, 1_990_000)
                _ = cw_itch_put_add(m + 72, 36, Self.locate, 3, 2, CChar(UInt8(ascii: "S")), 500, sp, 1_990_400)
            }
            ring.withUnsafeMutableBufferPointer { b in
                let m = b.baseAddress!
                lens.append(UInt16(cw_itch_put_add(m, 36, Self.locate, 4, 3, CChar(UInt8(ascii: "B")), 100, sp, 1_990_200)))
                lens.append(UInt16(cw_itch_put_delete(m + 36, 36, Self.locate, 5, 3)))
                lens.append(UInt16(cw_itch_put_add(m + 72, 36, Self.locate, 6, 4, CChar(UInt8(ascii: "S")), 100, sp, 1_990_200)))
                lens.append(UInt16(cw_itch_put_delete(m + 108, 36, Self.locate, 7, 4)))
            }
        }
        lengths = lens
        messages = .allocate(capacity: ring.count)
        messages.initialize(from: ring, count: ring.count)
        var quiet = NoBBOSink()
        setup.withUnsafeBufferPointer { b in
            replay.handle(b.baseAddress!, 36, into: &quiet)
            replay.handle(b.baseAddress! + 36, 36, into: &sink)
            replay.handle(b.baseAddress! + 72, 36, into: &sink)
        }
        loop.pass(now: now) // the first quotes: two new orders, accepted at once
    }

    deinit { messages.deallocate() }

    /// One pass: the next message to the books, then the loop on the change.
    @inline(never)
    public func pass() {
        replay.handle(messages + next * 36, lengths[next], into: &sink)
        next = next == 3 ? 0 : next + 1
        now &+= 1_000_000
        loop.pass(now: now)
    }
}

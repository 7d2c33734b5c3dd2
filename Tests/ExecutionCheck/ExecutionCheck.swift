// The venue's execution messages, whatever their bytes, through our decode path into OmniOrders:
// one check shared by the libFuzzer harness (Fuzz/Swift/Sources/fuzz-executions) and the seeded
// test (Tests/OmniGatewayTests/ExecutionCheckTests.swift), so both assert the same things.
//
// Input: byte 0 chooses
//   bit 0   the protocol: 0 OUCH 4.2 outbound messages, 1 FIX 4.4 ExecutionReports / OrderCancelRejects;
//   bit 1   FIX only: the rest is length-prefixed bodies (one byte length, then "35=...<SOH>...")
//           that the check frames with BeginString, BodyLength and a correct CheckSum, so a
//           fuzzer reaches the fields; clear: the rest is raw FIX bytes, framing and all;
//   bit 2   a cancel request is pending on every order before the answers come;
//   bit 3   a replace request is pending on every order (to 150 shares) before the answers come.
// OUCH: the rest is length-prefixed payloads (one byte length, then what SoupBinTCP's Sequenced
// Data carries), each decoded by `OuchAnswers.receive` exactly as `OuchOrderEntry.poll` does.
// FIX: each message `cw_fix_parse` accepts goes to `FixReports.report`, the ExecutionReport /
// OrderCancelReject decode `FixOrderEntry`'s session calls.
//
// Before the answers, four orders of ours are entered in an OrderLedger (so their ids are real)
// and registered with the decoder as `submit` would. After every message the decoder's events
// are drained into the ledger, and after the input the invariants below are checked.
import CEvent
import CWire
import OmniGateway
import OmniOrders
import OmniWire

public final class ExecutionCheck {
    /// Totals over every input run through this check (the test asserts the bad ones were counted).
    public struct Totals: Sendable {
        public var inputs = 0, messages = 0, events = 0
        public var ouchMalformed = 0, fixFraming = 0, unmatched = 0, queueDropped = 0
        public var duplicateFills = 0, answersForUnknownOrders = 0, fillsForUnknownOrders = 0, overfills = 0, ignored = 0
        public var fills = 0, answers = 0
        public init() {}
    }
    public private(set) var totals = Totals()

    /// Our four orders: (locate, strategy, side, qty).
    static let orders: [(UInt16, UInt16, UInt8, UInt32)] = [
        (1, 0, UInt8(OMNI_SIDE_BUY), 100), (1, 1, UInt8(OMNI_SIDE_SELL), 300), (2, 0, UInt8(OMNI_SIDE_BUY), 1),
        (3, 1, UInt8(OMNI_SIDE_SELL), 4_000_000_000),
    ]
    static let strategies = 2, locates = 4
    let fields = UnsafeMutablePointer<cw_fix_field>.allocate(capacity: 128)
    let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: 512)

    public init() {}
    deinit { fields.deallocate(); frame.deallocate() }

    /// The ids our four orders get in a fresh ledger (for building seeds: tokens and ClOrdIDs).
    public static func orderIDs() -> [UInt64] {
        let l = OrderLedger(OrderLedgerConfig(orders: 8, strategies: strategies, locates: locates, rememberedExecutions: 64))
        var req = omni_event()
        return orders.map { o in (try? l.enter(locate: o.0, strategy: o.1, side: o.2, price: 100_000, qty: o.3, request: &req).get())?.raw ?? 0 }
    }

    /// Runs one input; nil when every invariant held, else what broke.
    public func run(_ input: UnsafeRawBufferPointer) -> String? {
        totals.inputs += 1
        guard let flags = input.first else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: input[1...])
        let ledger = OrderLedger(OrderLedgerConfig(orders: 8, strategies: Self.strategies, locates: Self.locates, rememberedExecutions: 4096))
        let ouch = OuchAnswers(orderSlots: 16, answerCapacity: 4)
        let fix = FixReports(symbols: [1: "AAPL", 2: "MSFT", 3: "SPY"], orderSlots: 16, answerCapacity: 4)
        var ids: [ClientOrderID] = []
        var req = omni_event()
        for o in Self.orders {
            guard case .success(let id) = ledger.enter(locate: o.0, strategy: o.1, side: o.2, price: 100_000, qty: o.3, request: &req) else {
                return "entering our order \(o) failed"
            }
            ids.append(id)
            ouch.register(req)
            fix.register(req)
        }
        for id in ids {
            if flags & 4 != 0 { _ = ledger.cancel(id, request: &req) }
            if flags & 8 != 0 { _ = ledger.replace(id, price: 100_100, qty: 150, request: &req) }
        }

        // What the check expects, kept apart from the ledger: the distinct executions and the
        // position each instrument must hold.
        var seen = Set<UInt64>()
        var expected = [Int64](repeating: 0, count: Self.strategies * Self.locates)
        var messages = 0, events = 0, framing = 0
        var broken: String?

        func drain(_ d: (_ body: (inout omni_event) -> Void) -> Int) {
            _ = d { e in
                events += 1
                let before = e.type == UInt8(OMNI_EV_FILL.rawValue)
                    ? ledger.position(strategy: e.fill.strategy, locate: e.locate).shares : 0
                let outcome = ledger.apply(e)
                guard e.type == UInt8(OMNI_EV_FILL.rawValue), broken == nil else { return }
                // The ledger de-duplicates per (our order id, execution): so does the check.
                let key = e.fill.client_order_id &* 0x9E37_79B9_7F4A_7C15 ^ e.seq &* 0xC2B2_AE3D_27D4_EB4F
                let fresh = seen.insert(key).inserted
                let after = ledger.position(strategy: e.fill.strategy, locate: e.locate).shares
                if !fresh {
                    if outcome != .duplicateFill { broken = "execution \(e.seq) of order \(e.fill.client_order_id) applied twice (\(outcome))" }
                    if after != before { broken = "a duplicate execution \(e.seq) moved the position from \(before) to \(after)" }
                    return
                }
                if outcome == .duplicateFill { broken = "a first execution \(e.seq) of order \(e.fill.client_order_id) was taken for a duplicate" }
                if Int(e.fill.strategy) < Self.strategies && Int(e.locate) < Self.locates {
                    let q = Int64(e.fill.last_qty)
                    expected[Int(e.fill.strategy) * Self.locates + Int(e.locate)] += e.fill.side == UInt8(OMNI_SIDE_BUY) ? q : -q
                }
            }
        }

        var off = 0
        if flags & 1 == 0 { // OUCH: length-prefixed payloads
            while off < body.count {
                let n = min(Int(body[off]), body.count - off - 1)
                ouch.receive(UnsafeRawBufferPointer(rebasing: body[(off + 1)..<(off + 1 + n)]), sequence: UInt64(messages + 1))
                messages += 1
                off += 1 + n
                drain(ouch.drain)
            }
        } else {
            func parse(_ p: UnsafePointer<UInt8>, _ len: Int) -> Int { // one message at p; bytes consumed (0: needs more)
                var m = cw_fix_msg()
                m.fields = fields
                m.cap = 128
                var consumed = 0
                let rc = Int(cw_fix_parse(p, len, &m, &consumed))
                if rc == Int(CW_FIX_NEED_MORE) { return 0 }
                messages += 1
                if rc == Int(CW_FIX_OK) { fix.report(FixView(fields: fields, count: Int(m.count))) } else { framing += 1 }
                drain(fix.drain)
                return max(consumed, 1)
            }
            if flags & 2 != 0 { // bodies, framed here
                while off < body.count {
                    let n = min(Int(body[off]), body.count - off - 1)
                    let len = Self.frameFIX(UnsafeRawBufferPointer(rebasing: body[(off + 1)..<(off + 1 + n)]), into: frame)
                    off += 1 + n
                    var at = 0
                    while at < len { let c = parse(frame + at, len - at); if c == 0 { break }; at += c }
                }
            } else {
                let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self)
                while let b = base, off < body.count { let c = parse(b + off, body.count - off); if c == 0 { break }; off += c }
            }
        }

        // The invariants, whatever the venue said.
        if broken == nil {
            for (i, id) in ids.enumerated() {
                guard let o = ledger.order(id) else { continue } // done: its slot is free
                if o.cumQty > UInt64(o.qty) { broken = "order \(i): cumQty \(o.cumQty) > its size \(o.qty)"; break }
                if o.cumQty + UInt64(o.leaves) > UInt64(o.qty) { broken = "order \(i): cumQty \(o.cumQty) + leaves \(o.leaves) > its size \(o.qty)"; break }
            }
        }
        if broken == nil {
            for s in 0..<Self.strategies {
                for l in 0..<Self.locates {
                    let have = ledger.position(strategy: UInt16(s), locate: UInt16(l)).shares
                    if have != expected[s * Self.locates + l] {
                        broken = "position of strategy \(s) in locate \(l) is \(have), the distinct fills sum to \(expected[s * Self.locates + l])"
                    }
                }
            }
        }
        let c = ledger.counters
        let ledgerLanded = c.accepted + c.rejected + c.canceled + c.partialCancels + c.replaced + c.cancelRejects
            + c.fills + c.duplicateFills + c.answersForUnknownOrders + c.ignored
        let dropped = ouch.answers.dropped + fix.droppedAnswers
        let decoderDrops = ouch.malformed + ouch.unmatched + fix.unmatched + framing
        if broken == nil && ledgerLanded != UInt64(events) {
            broken = "the ledger's counters add to \(ledgerLanded), \(events) events were applied"
        }
        if broken == nil && messages != events + decoderDrops + dropped {
            broken = "\(messages) messages: \(events) events + \(decoderDrops) decoder drops (malformed \(ouch.malformed), unmatched \(ouch.unmatched + fix.unmatched), framing \(framing)) + \(dropped) queue drops"
        }
        if broken == nil && ledger.table.open != ids.filter({ ledger.order($0) != nil }).count {
            broken = "the table says \(ledger.table.open) open, \(ids.filter { ledger.order($0) != nil }.count) of our orders are"
        }

        totals.messages += messages; totals.events += events
        totals.ouchMalformed += ouch.malformed; totals.fixFraming += framing
        totals.unmatched += ouch.unmatched + fix.unmatched; totals.queueDropped += dropped
        totals.duplicateFills += Int(c.duplicateFills); totals.answersForUnknownOrders += Int(c.answersForUnknownOrders)
        totals.fillsForUnknownOrders += Int(c.fillsForUnknownOrders); totals.overfills += Int(c.overfills)
        totals.ignored += Int(c.ignored); totals.fills += Int(c.fills)
        totals.answers += Int(c.accepted + c.rejected + c.canceled + c.partialCancels + c.replaced + c.cancelRejects)
        return broken
    }

    /// "8=FIX.4.4|9=<n>|" + body + "10=<sum>|" into `out` (512 bytes; a body over 255 bytes is cut); its length.
    public static func frameFIX(_ body: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        func put(_ b: UInt8) { out[n] = b; n += 1 }
        for b in "8=FIX.4.4\u{1}9=".utf8 { put(b) }
        let len = min(body.count, 255)
        if len >= 100 { put(UInt8(48 + len / 100)) }
        if len >= 10 { put(UInt8(48 + len / 10 % 10)) }
        put(UInt8(48 + len % 10)); put(1)
        for i in 0..<len { put(body[i]) }
        var sum = 0
        for i in 0..<n { sum += Int(out[i]) }
        sum %= 256
        for b in "10=".utf8 { put(b) }
        put(UInt8(48 + sum / 100)); put(UInt8(48 + sum / 10 % 10)); put(UInt8(48 + sum % 10)); put(1)
        return n
    }
}

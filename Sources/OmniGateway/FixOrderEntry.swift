import CEvent
import CWire
import CSys
import OmniWire

/// FIX 4.4 as an `OrderEntry`: our CEvent requests become NewOrderSingle, OrderCancelRequest
/// and OrderCancelReplaceRequest through the library's encoders; ExecutionReports and
/// OrderCancelRejects come back from `poll` as CEvent answers and fills (reasons as
/// OMNI_REASON_FIX | OrdRejReason 103 or CxlRejReason 102).
///
/// ClOrdIDs carry our client order id: its base 36 in 12 characters, then '.' and the count of
/// requests for that order (FIX wants a new ClOrdID per request; OrigClOrdID names the last
/// one), so every report gives the id back with no lookup. Instruments map to symbols through
/// arrays sized at start; what FIX reports leave out (the strategy) is kept per order slot.
/// An execution's id (ExecID 17) is hashed into the event's `seq` for de-duplication.
public final class FixOrderEntry: OrderEntry {
    public private(set) var session: FixSession<FixReports>
    public let reports: FixReports
    let slots: Int
    let requests: UnsafeMutablePointer<UInt16>
    let host: String, port: UInt16, timeoutMs: Int32
    let config: FixSessionConfig
    /// Requests refused here: not logged on, recovering, an unknown instrument, an id past the ClOrdID's range.
    public private(set) var refused = 0
    /// After a logon again, until the venue has answered everything sent before the disconnect:
    /// our ResendRequest served, then a TestRequest answered (a FIX session is in order, so its
    /// Heartbeat comes after every report the venue had for us). Requests are refused meanwhile.
    public var isRecovering: Bool { recovery.isOn }
    var recovery = Recovery()
    var recoveryProbe: String?
    var recoveries = 0
    public var endpoint: String { "\(host):\(port)" }

    /// Connects to the venue's FIX port (host:port within `timeoutMs`) and logs on; `symbols[locate]`
    /// is the Symbol (55) each locate trades as.
    public init(host: String = "127.0.0.1", port: UInt16, timeoutMs: Int32 = 2_000, config: FixSessionConfig,
                symbols: [UInt16: String], orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16) throws(FixConnectError) {
        reports = FixReports(symbols: symbols, orderSlots: orderSlots, answerCapacity: answerCapacity)
        slots = orderSlots
        requests = .allocate(capacity: orderSlots)
        requests.initialize(repeating: 0, count: orderSlots)
        self.host = host; self.port = port; self.timeoutMs = timeoutMs; self.config = config
        session = try FixInitiator.connect(host: host, port: port, timeoutMs: timeoutMs, config: config, app: reports)
    }

    /// Connects and logs on again after a disconnect, keeping the sequence numbers (no reset): the
    /// venue's reports we missed come back by ResendRequest (fills de-duplicated by ExecID), and
    /// the recovery (`isRecovering`) starts. Waits for the Logon answer at most the connect timeout.
    public func logOnAgain() throws(FixConnectError) {
        session.disconnect("reconnecting")
        var c = config
        c.resetOnLogon = false
        session = try FixInitiator.connect(host: host, port: port, timeoutMs: timeoutMs, config: c, app: reports)
        let end = csys_monotonic_ns() + UInt64(max(timeoutMs, 1)) * 1_000_000
        while session.state == .awaitingLogon && session.isOpen && csys_monotonic_ns() < end { _ = session.pollOnce(timeoutMs: 10) }
        guard session.state == .loggedOn else {
            let state = session.state
            session.disconnect("no logon")
            throw FixConnectError(endpoint: endpoint, problem: "no Logon answer within \(timeoutMs) ms (session \(state))")
        }
        recovery.begin()
        recoveryProbe = nil
    }

    /// Asks the venue what it holds of order `id` (OrderStatusRequest, under the ClOrdID the venue
    /// last answered with); its ExecutionReport (ExecType I) comes back through `poll`. False when
    /// not logged on or the order has no slot or instrument here.
    @discardableResult
    public func requestStatus(clientOrderID id: UInt64, locate: UInt16, side: UInt8) -> Bool {
        let s = Int(omni_order_slot(id))
        guard isLoggedOn, s < slots, id <= ClientOrderIDText.maxID, Int(locate) < reports.symbolOf.count, let symbol = reports.symbolOf[Int(locate)] else {
            return false
        }
        session.send(FixOrderStatusRequest(clOrdID: FixReports.clOrdID(id, reports.acked[s]), symbol: symbol,
                                           side: side == UInt8(OMNI_SIDE_BUY) ? .buy : .sell).message)
        return true
    }

    /// True once after a recovery ended (see `isRecovering`).
    public func takeRecovered() -> Bool { recovery.takeEnded() }

    deinit { requests.deallocate() }

    public var isLoggedOn: Bool { session.state == .loggedOn }

    public func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        let s = Int(omni_order_slot(o.client_order_id))
        guard isLoggedOn, !isRecovering, s < slots, o.client_order_id <= ClientOrderIDText.maxID,
              Int(request.locate) < reports.symbolOf.count, let symbol = reports.symbolOf[Int(request.locate)] else {
            refused += 1
            return false
        }
        let side: FixSide = o.side == UInt8(OMNI_SIDE_BUY) ? .buy : .sell
        switch Int32(request.type) {
        case Int32(OMNI_EV_ORDER_NEW.rawValue):
            requests[s] = 0
            reports.register(request)
            let tif: FixTimeInForce = o.order_flags & UInt8(OMNI_ORDF_IOC) != 0 ? .ioc : .day
            session.send(FixNewOrder(clOrdID: FixReports.clOrdID(o.client_order_id, requests[s]), symbol: symbol, side: side,
                                     quantity: Int64(o.qty), ordType: .limit, price: Int64(o.price), timeInForce: tif,
                                     postOnly: o.order_flags & UInt8(OMNI_ORDF_POST_ONLY) != 0).message)
        case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
            // OrigClOrdID: the ClOrdID the venue holds the order under (a refused replace's is not it).
            let orig = FixReports.clOrdID(o.client_order_id, reports.acked[s])
            requests[s] &+= 1
            session.send(FixCancelRequest(clOrdID: FixReports.clOrdID(o.client_order_id, requests[s]), origClOrdID: orig,
                                          symbol: symbol, side: side).message)
        case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
            let orig = FixReports.clOrdID(o.client_order_id, reports.acked[s])
            requests[s] &+= 1
            // FIX's OrderQty is the order's whole size: what filled plus what should be open.
            session.send(FixReplaceRequest(clOrdID: FixReports.clOrdID(o.client_order_id, requests[s]), origClOrdID: orig,
                                           symbol: symbol, side: side, quantity: Int64(o.qty) + reports.cumQty(s),
                                           ordType: .limit, price: Int64(o.price)).message)
        default:
            refused += 1
            return false
        }
        return true
    }

    /// FixSession writes each message to the socket as it is sent (what the socket did not take
    /// goes on the next poll); the pass's store records are written here, once.
    public func flush() { session.store?.commit() }

    @discardableResult
    public func poll(_ body: (inout omni_event) -> Void) -> Int {
        session.pollOnce(timeoutMs: 0)
        if isRecovering && isLoggedOn {
            if recoveryProbe == nil && !session.isResending {
                recoveries += 1
                let id = "RECOVER-\(recoveries)"
                session.sendTestRequest(id)
                recoveryProbe = id
            } else if let p = recoveryProbe, session.answeredTestRequest == p {
                recovery.end()
            }
        }
        return reports.drain(body)
    }
}

/// The FIX application of a `FixOrderEntry`: ExecutionReports and OrderCancelRejects as CEvent
/// answers and fills, queued for `poll`.
public final class FixReports: FixApplication {
    let answers: EventQueue
    let slots: Int
    let strategies: UnsafeMutablePointer<UInt16>
    let locates: UnsafeMutablePointer<UInt16>
    let cum: UnsafeMutablePointer<UInt64>
    /// Per slot: the request count of the ClOrdID the venue holds the order under: the next cancel's
    /// or replace's OrigClOrdID (FIX: the last non-rejected request's), and an OrderStatusRequest's
    /// ClOrdID (a later request may have been lost).
    let acked: UnsafeMutablePointer<UInt16>
    /// Order status reports (ExecType I): orders the venue holds live, and orders it no longer
    /// holds (filled, canceled, unknown), which close ours.
    public private(set) var statusLive = 0, statusEnded = 0
    /// Symbol (55) of each locate (answers carry the locate of their order, not their symbol).
    let symbolOf: [FixString?]
    /// Reports that named no order of ours, or were no answer we understand (counted, dropped).
    public private(set) var unmatched = 0


    /// `symbols[locate]` is the Symbol (55) each locate trades as; `orderSlots` bounds our client
    /// order ids' slots.
    public init(symbols: [UInt16: String], orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16) {
        answers = EventQueue(capacity: answerCapacity)
        slots = orderSlots
        strategies = .allocate(capacity: orderSlots); strategies.initialize(repeating: 0, count: orderSlots)
        locates = .allocate(capacity: orderSlots); locates.initialize(repeating: 0, count: orderSlots)
        cum = .allocate(capacity: orderSlots); cum.initialize(repeating: 0, count: orderSlots)
        acked = .allocate(capacity: orderSlots); acked.initialize(repeating: 0, count: orderSlots)
        var of = [FixString?](repeating: nil, count: Int(symbols.keys.max() ?? 0) + 1)
        for (l, sym) in symbols { if let f = FixString(sym) { of[Int(l)] = f } }
        symbolOf = of
    }

    deinit { strategies.deallocate(); locates.deallocate(); cum.deallocate(); acked.deallocate() }

    func cumQty(_ s: Int) -> Int64 { Int64(cum[s]) }

    /// Remembers what our NewOrderSingle request for `request.order.client_order_id` said (the
    /// strategy and instrument FIX reports leave out), for the reports; false when the id has
    /// no slot here.
    @discardableResult
    public func register(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        let s = Int(omni_order_slot(o.client_order_id))
        guard s < slots, o.client_order_id <= ClientOrderIDText.maxID else { return false }
        strategies[s] = o.strategy
        locates[s] = request.locate
        cum[s] = 0
        acked[s] = 0
        return true
    }

    /// Answers lost because the queue was full when they came (never drained in time).
    public var droppedAnswers: Int { answers.dropped }

    /// Hands every queued answer to `body`; returns how many.
    public func drain(_ body: (inout omni_event) -> Void) -> Int { answers.drain(body) }

    /// "<id in base 36, 12 characters>.<request count in base 36>".
    public static func clOrdID(_ id: UInt64, _ request: UInt16) -> FixString {
        var b: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &b) { raw in
            ClientOrderIDText.write(id, to: raw)
            let digits = ClientOrderIDText.digits
            raw[digits] = UInt8(ascii: ".")
            let n = Int(cw_base36_put_short(raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + digits + 1, UInt32(request)))
            return FixString(UnsafeRawBufferPointer(rebasing: raw[0..<(digits + 1 + n)]))!
        }
    }

    /// The request count after the '.' of one of our ClOrdIDs (0 when there is none to read).
    static func requestCount(_ clOrdID: FixString) -> UInt16 {
        clOrdID.withBytes { b in
            var n: UInt32 = 0
            for c in b.dropFirst(ClientOrderIDText.digits + 1) {
                let d = cw_base36_value(c)
                guard d < 36 else { return 0 }
                n = min(n * 36 + d, UInt32(UInt16.max))
            }
            return UInt16(n)
        }
    }

    /// The client order id a ClOrdID carries, or nil when it is not one of ours.
    public static func clientOrderID(_ clOrdID: FixString) -> UInt64? {
        clOrdID.withBytes { b -> UInt64? in
            guard b.count > ClientOrderIDText.digits, b[ClientOrderIDText.digits] == UInt8(ascii: ".") else { return nil }
            return ClientOrderIDText.read(UnsafeRawBufferPointer(b))
        }
    }

    /// FNV-1a of ExecID's bytes: a fill's `seq`, the same for the same execution sent twice.
    static func executionKey(_ execID: FixString) -> UInt64 {
        execID.withBytes { b in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for c in b { h = (h ^ UInt64(c)) &* 0x100_0000_01B3 }
            return h
        }
    }

    public func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict {
        report(m)
        return .accepted
    }

    /// One application message from the venue (ExecutionReport 8, OrderCancelReject 9): queued
    /// as the CEvent answer or fill it means, or counted in `unmatched`. The session's path and
    /// tests / fuzzers that parse the bytes themselves both come here.
    public func report(_ m: FixView) {
        guard case .value(let cl) = m.identifier(11), let id = Self.clientOrderID(cl) else { unmatched += 1; return }
        let s = Int(omni_order_slot(id))
        guard s < slots else { unmatched += 1; return }
        var e = omni_event()
        e.locate = locates[s]
        // The ClOrdID the venue holds the order under now: a report's own, but an
        // OrderCancelReject's OrigClOrdID (its ClOrdID names the refused request).
        if m.msgTypeByte == UInt8(ascii: "9"), case .value(let orig) = m.identifier(41), Self.clientOrderID(orig) == id {
            acked[s] = Self.requestCount(orig)
        } else {
            acked[s] = Self.requestCount(cl)
        }
        switch m.msgTypeByte {
        case UInt8(ascii: "8") where m.char(150) == UInt8(ascii: "I"):
            // Order status: a live order changes nothing here; one the venue no longer holds is closed.
            switch m.char(39) {
            case UInt8(ascii: "0"), UInt8(ascii: "1"): statusLive += 1; return
            default:
                statusEnded += 1
                answer(&e, OMNI_EV_ORDER_CANCELED, id, s, reason: UInt16(OMNI_REASON_FIX) | UInt16(m.char(39) ?? 0))
            }
        case UInt8(ascii: "8"):
            let leaves = UInt32(clamping: max(m.int(151) ?? 0, 0))
            var price: UInt32 = 0
            if case .value(let p) = m.price(44) { price = UInt32(clamping: max(p, 0)) }
            switch m.char(150) {
            case UInt8(ascii: "0"): answer(&e, OMNI_EV_ORDER_ACCEPTED, id, s, price: price, qty: leaves)
            case UInt8(ascii: "8"): answer(&e, OMNI_EV_ORDER_REJECTED, id, s, reason: UInt16(OMNI_REASON_FIX) | UInt16(clamping: m.int(103) ?? 0))
            case UInt8(ascii: "4"): answer(&e, OMNI_EV_ORDER_CANCELED, id, s, qty: leaves)
            case UInt8(ascii: "5"): answer(&e, OMNI_EV_ORDER_REPLACED, id, s, price: price, qty: leaves)
            case UInt8(ascii: "F"), UInt8(ascii: "1"), UInt8(ascii: "2"):
                guard case .value(let execID) = m.identifier(17), case .value(let px) = m.price(31),
                      let qty = m.int(32), qty > 0, let side = m.char(54) else { unmatched += 1; return }
                // LastQty (32) is the venue's word: up to Int64.max here. What we count is what the fill
                // event carries, clamped to UInt32, so the sum cannot overflow (2^32 fills would be
                // needed) and the replace's OrderQty (o.qty + cum) stays within Int64.
                cum[s] += UInt64(UInt32(clamping: qty))
                e.type = UInt8(OMNI_EV_FILL.rawValue)
                e.seq = Self.executionKey(execID)
                e.fill.client_order_id = id
                e.fill.last_px = UInt32(clamping: max(px, 0))
                e.fill.last_qty = UInt32(clamping: qty)
                e.fill.leaves_qty = leaves
                e.fill.strategy = strategies[s]
                e.fill.side = side == UInt8(ascii: "1") ? UInt8(OMNI_SIDE_BUY) : UInt8(OMNI_SIDE_SELL)
                e.fill.liquidity = m.char(851) == UInt8(ascii: "1") ? UInt8(OMNI_LIQ_ADDED)
                    : m.char(851) == UInt8(ascii: "2") ? UInt8(OMNI_LIQ_REMOVED) : UInt8(OMNI_LIQ_UNKNOWN)
            default:
                unmatched += 1
                return
            }
        case UInt8(ascii: "9"):
            answer(&e, OMNI_EV_CANCEL_REJECTED, id, s, reason: UInt16(OMNI_REASON_FIX) | UInt16(clamping: m.int(102) ?? 0))
        default:
            unmatched += 1
            return
        }
        answers.push(e)
    }

    func answer(_ e: inout omni_event, _ type: omni_event_type, _ id: UInt64, _ s: Int, price: UInt32 = 0, qty: UInt32 = 0,
                reason: UInt16 = 0) {
        e.type = UInt8(type.rawValue)
        e.order.client_order_id = id
        e.order.price = price
        e.order.qty = qty
        e.order.reason = reason
        e.order.strategy = strategies[s]
    }
}

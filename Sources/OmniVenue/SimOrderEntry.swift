import OmniNet
import OmniWire
import OmniConfig
import CSys
import CWire
import Glibc
import Logging
import OmniCore

/// The venue's event sink: forwards to the sim, which answers on the owning session.
/// Runs inside a venue call; it never calls back into the venue.
struct SimEvents: VenueEventSink {
    unowned(unsafe) let sim: SimVenue
    mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder) {
        sim.onAccepted(order, session: session, tag: Int(tag), ref: ref)
    }
    mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason) {
        sim.onRejected(session: session, tag: Int(tag), order: order, reason: reason)
    }
    mutating func executed(_ e: Execution) { sim.onExecuted(e) }
    mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason) {
        sim.onCanceled(session: session, tag: Int(tag), quantity: quantity, reason: reason)
    }
    mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool) {
        sim.onReplaced(session: session, tag: Int(tag), ref: ref, price: price, quantity: quantity)
    }
}

// MARK: sessions

extension SimVenue {
    func allocateSession(_ owner: SimSessionOwner) -> SessionID? {
        for i in 1..<owners.count {
            if case .free = owners[i] { owners[i] = owner; return SessionID(i) }
        }
        return nil
    }

    func session(of user: SoupUser) -> SessionID? {
        if let s = ouchSessions[user.index] { return s }
        guard let s = allocateSession(.ouch(user)) else { return nil }
        ouchSessions[user.index] = s
        return s
    }

    func session(ofCompID compID: String) -> SessionID? {
        if let s = fixSessions[compID] { return s }
        guard let s = allocateSession(.fix(compID: compID)) else { return nil }
        fixSessions[compID] = s
        return s
    }

    /// A client order of this tag on this session, or nil (generator orders, stale tags).
    @inline(__always) func clientOrder(_ session: SessionID, _ tag: Int) -> Bool {
        guard Int(session) < owners.count, tag >= 0, tag < table.orders.count, table.orders[tag].inUse,
              table.orders[tag].session == session else { return false }
        switch owners[Int(session)] {
        case .ouch, .fix: return true
        case .free, .generator: return false
        }
    }

    func isFix(_ session: SessionID) -> Bool {
        if case .fix = owners[Int(session)] { return true }
        return false
    }

    func outbox(_ session: SessionID) -> OuchOutbox? {
        guard case .ouch(let user) = owners[Int(session)] else { return nil }
        return OuchOutbox(server: soup, user: user)
    }

    /// Sends a FIX message to the counterparty of `session` if it is logged on now.
    /// Sends a FIX message to the counterparty of `session`: at once if it is logged on, else
    /// into its store for a ResendRequest after its next Logon (e.g. the cancels of cancel on
    /// disconnect).
    func fixSend(_ session: SessionID, _ m: FixOut) {
        guard case .fix(let compID) = owners[Int(session)], let acceptor = fixAcceptor else { counters.fixUndeliverable += 1; return }
        if acceptor.session(for: compID) == nil { counters.fixStoredForResend += 1 }
        if !acceptor.send(m, to: compID) { counters.fixUndeliverable += 1 }
    }

    /// Cancel on disconnect: every resting order of the session, as one venue mass cancel; how many it canceled.
    @discardableResult func cancelOnDisconnect(_ session: SessionID) -> Int {
        guard config.cancelOnDisconnect, !ending, !finished else { return 0 }
        venue.now = clock()
        let n = venue.massCancel(session: session)
        counters.canceledOnDisconnect += n
        publishFeed()
        return n
    }

    /// The trigger trader's login arms the triggers (it logs in once it has the stock directory).
    func ouchLoggedIn(_ user: SoupUser) {
        log.info("OUCH \(soup.name(of: user)) logged in", metadata: ["user": "\(soup.name(of: user))"])
        if let t = triggers, soup.name(of: user) == t.config.trader { t.arm(user) }
    }

    func ouchDisconnected(_ user: SoupUser) {
        let name = soup.name(of: user)
        guard let s = ouchSessions[user.index] else {
            log.info("OUCH \(name) disconnected", metadata: ["user": "\(name)"])
            return
        }
        let canceled = cancelOnDisconnect(s)
        log.info("OUCH \(name) disconnected\(ending || finished ? "" : config.cancelOnDisconnect ? ": \(canceled) resting order\(canceled == 1 ? "" : "s") canceled" : ": its orders kept")",
                 metadata: ["user": "\(name)", "canceled": "\(canceled)"])
        releaseIfIdle(s)
    }

    func fixLoggedOn(_ compID: String) {
        log.info("FIX \(compID) logged on", metadata: ["comp_id": "\(compID)"])
    }

    func fixSessionEnded(_ compID: String) {
        guard let s = fixSessions[compID] else {
            log.info("FIX \(compID) session ended", metadata: ["comp_id": "\(compID)"])
            return
        }
        let canceled = cancelOnDisconnect(s)
        log.info("FIX \(compID) session ended\(ending || finished ? "" : config.cancelOnDisconnect ? ": \(canceled) resting order\(canceled == 1 ? "" : "s") canceled" : ": its orders kept")",
                 metadata: ["comp_id": "\(compID)", "canceled": "\(canceled)"])
        releaseIfIdle(s)
    }

    /// Gives a venue session back once its client is gone and no order of it is live (at
    /// once with cancel on disconnect, else when its last resting order ends), so clients
    /// coming and going never exhaust `venue.maxSessions`. The next login takes a fresh one.
    func releaseIfIdle(_ s: SessionID) {
        guard table.liveBySession[Int(s)] == 0 else { return }
        switch owners[Int(s)] {
        case .ouch(let user):
            guard !soup.isConnected(user) else { return }
            ouchSessions[user.index] = nil
        case .fix(let compID):
            guard fixAcceptor?.session(for: compID) == nil else { return }
            fixSessions[compID] = nil
        case .free, .generator:
            return
        }
        owners[Int(s)] = .free
        counters.sessionsReleased += 1
    }

    /// Forgets a finished client order; its session goes back when it was the last one of a client that left.
    func release(_ tag: Int, _ session: SessionID) {
        table.release(tag, fixClient: isFix(session))
        if table.liveBySession[Int(session)] == 0 { releaseIfIdle(session) }
    }

    func nextExecID(_ prefix: String) -> FixString {
        execSeq += 1
        return "\(prefix)\(execSeq)"
    }

    func fixReport(_ o: SimOrder, _ type: FixExecType, _ status: FixOrdStatus, leaves: UInt32,
                   lastQty: UInt32 = 0, lastPx: UInt32 = 0, lastLiquidity: UInt8 = 0, orig: FixString? = nil, execID: FixString? = nil,
                   text: String? = nil, orderID: FixString? = nil) -> FixOut {
        let avg = o.cumQty > 0 ? Int64(clamping: o.notional / UInt128(o.cumQty)) : 0
        return FixExecution(
            orderID: orderID ?? "\(o.ref)", clOrdID: o.clOrdID, origClOrdID: orig, execID: execID ?? nextExecID("X"),
            execType: type, ordStatus: status, symbol: o.symbol, side: o.fixSide, orderQty: Int64(o.orderQty), price: Int64(o.price),
            leavesQty: Int64(leaves), cumQty: Int64(o.cumQty), avgPx: avg, lastPx: Int64(lastPx), lastQty: Int64(lastQty),
            lastLiquidity: lastLiquidity, text: text).report
    }
}

// MARK: venue events

extension SimVenue {
    func onAccepted(_ id: OrderID, session: SessionID, tag: Int, ref: UInt64) {
        guard clientOrder(session, tag) else { return }
        counters.accepted += 1
        table.orders[tag].id = id
        table.orders[tag].ref = ref
        let o = table.orders[tag]
        if let out = outbox(session) {
            var a = cw_ouch_accepted()
            let e = o.enter
            a.token = o.token; a.side = e.side; a.shares = e.shares; a.stock = e.stock; a.price = e.price; a.tif = e.tif
            a.firm = e.firm; a.display = e.display; a.order_ref = ref; a.capacity = e.capacity; a.ise = e.ise
            a.min_qty = e.min_qty; a.cross_type = e.cross_type
            a.order_state = CChar(bitPattern: UInt8(ascii: "L")); a.bbo_weight = CChar(bitPattern: UInt8(ascii: " "))
            out.accepted(a)
        } else {
            fixSend(session, fixReport(o, .new, .new, leaves: o.orderQty))
        }
    }

    func onRejected(session: SessionID, tag: Int, order: OrderID, reason: RejectReason) {
        lastReject = reason
        counters.rejected += 1
        // Cancel / replace rejects are answered by the request's handler from the call's result.
        guard order == .none, clientOrder(session, tag) else { return }
        let o = table.orders[tag]
        if let out = outbox(session) {
            out.rejected(o.token, reason: ouchRejectReason(reason))
        } else {
            fixSend(session, fixReport(o, .rejected, .rejected, leaves: 0, text: rejectText(reason)))
        }
        release(tag, session)
    }

    func onExecuted(_ e: Execution) {
        counters.executions += 1
        counters.sharesTraded += UInt64(e.quantity)
        fill(e.passiveSession, Int(e.passiveTag), e, leaves: e.passiveLeaves, liquidity: UInt8(ascii: "A"), execID: "\(e.matchNumber)P")
        fill(e.aggressorSession, Int(e.aggressorTag), e, leaves: e.aggressorLeaves, liquidity: UInt8(ascii: "R"), execID: "\(e.matchNumber)A")
    }

    func fill(_ session: SessionID, _ tag: Int, _ e: Execution, leaves: UInt32, liquidity: UInt8, execID: FixString) {
        guard clientOrder(session, tag) else { return }
        table.orders[tag].cumQty += UInt64(e.quantity)
        table.orders[tag].notional += UInt128(e.quantity) * UInt128(e.price)
        let o = table.orders[tag]
        record(e, side: o.side, session: session, locate: o.locate)
        if let out = outbox(session) {
            out.executed(o.token, shares: e.quantity, price: e.price, liquidity: liquidity, match: e.matchNumber)
        } else {
            fixSend(session, fixReport(o, .trade, leaves == 0 ? .filled : .partiallyFilled, leaves: leaves,
                                       lastQty: e.quantity, lastPx: e.price,
                                       lastLiquidity: liquidity == UInt8(ascii: "A") ? UInt8(ascii: "1") : UInt8(ascii: "2"), execID: execID))
        }
        if leaves == 0 { release(tag, session) }
    }

    /// The client's record of executions (`executions(of:)`).
    func record(_ e: Execution, side: Side, session: SessionID, locate: Locate) {
        let client: String
        switch owners[Int(session)] {
        case .ouch(let user): client = soup.name(of: user)
        case .fix(let compID): client = compID
        case .free, .generator: return
        }
        let notional = Int128(e.quantity) * Int128(e.price)
        executionsByClient[client, default: [:]][locate, default: ClientExecutions()].executions += 1
        if side == .bid {
            executionsByClient[client]![locate]!.boughtShares += UInt64(e.quantity)
            executionsByClient[client]![locate]!.boughtNotional += notional
        } else {
            executionsByClient[client]![locate]!.soldShares += UInt64(e.quantity)
            executionsByClient[client]![locate]!.soldNotional += notional
        }
    }

    func onCanceled(session: SessionID, tag: Int, quantity: UInt32, reason: CancelReason) {
        guard clientOrder(session, tag) else { return }
        counters.canceled += 1
        let o = table.orders[tag]
        if let out = outbox(session) {
            out.canceled(o.token, decrement: quantity, reason: ouchCancelReason(reason))
        } else {
            var r = o
            var orig: FixString?
            if case .fixCancel(let cl, let old) = pending, reason == .requested { r.clOrdID = cl; orig = old }
            fixSend(session, fixReport(r, .canceled, .canceled, leaves: 0, orig: orig,
                                       text: reason == .requested ? nil : "\(reason)"))
        }
        release(tag, session)
    }

    func onReplaced(session: SessionID, tag: Int, ref: UInt64, price: UInt32, quantity: UInt32) {
        guard clientOrder(session, tag) else { return }
        counters.replaced += 1
        table.orders[tag].price = price
        table.orders[tag].ref = ref
        if let out = outbox(session) {
            let o = table.orders[tag]
            switch pending {
            case .ouchReduce(let decrement):
                out.canceled(o.token, decrement: decrement, reason: UInt8(ascii: "U"))
            case .ouchModify:
                out.modified(o.token, side: UInt8(bitPattern: o.enter.side), shares: quantity)
            case .ouchReplace(let previous):
                var r = cw_ouch_replaced()
                let e = o.enter
                r.token = o.token; r.side = e.side; r.shares = quantity; r.stock = e.stock; r.price = price; r.tif = e.tif
                r.firm = e.firm; r.display = e.display; r.order_ref = o.ref; r.capacity = e.capacity; r.ise = e.ise
                r.min_qty = e.min_qty; r.cross_type = e.cross_type; r.order_state = CChar(bitPattern: UInt8(ascii: "L"))
                r.previous = previous; r.bbo_weight = CChar(bitPattern: UInt8(ascii: " "))
                out.replaced(r)
            default:
                break
            }
            table.orders[tag].orderQty = quantity
        } else {
            table.orders[tag].orderQty = UInt32(clamping: table.orders[tag].cumQty + UInt64(quantity))
            var orig: FixString?
            if case .fixReplace(_, let old) = pending { orig = old }
            let o = table.orders[tag]
            fixSend(session, fixReport(o, .replaced, o.cumQty > 0 ? .partiallyFilled : .new, leaves: quantity, orig: orig))
        }
    }
}

// MARK: OUCH requests

extension SimVenue {
    @inline(__always) func activity() { lastActivityNs = csys_monotonic_ns() }

    func enterOrder(_ e: cw_ouch_enter, _ out: OuchOutbox) {
        activity()
        counters.ouchOrders += 1
        ordersByClient[soup.name(of: out.user), default: 0] += 1
        guard let session = session(of: out.user) else { out.rejected(e.token, reason: UInt8(ascii: "O")); counters.rejected += 1; return }
        let key = OuchKey(session, e.token)
        if table.ouch[key] != nil { counters.duplicateTokens += 1; return } // OUCH: a token already used is ignored
        var stock = e.stock
        let word = withUnsafeBytes(of: &stock) { Symbol(wire: $0.baseAddress!).word }
        let side: Side
        switch UInt8(bitPattern: e.side) {
        case UInt8(ascii: "B"): side = .bid
        case UInt8(ascii: "S"), UInt8(ascii: "T"), UInt8(ascii: "E"): side = .ask
        default: out.rejected(e.token, reason: UInt8(ascii: "O")); counters.rejected += 1; return
        }
        guard let locate = stockLocates[word] else { out.rejected(e.token, reason: UInt8(ascii: "S")); counters.rejected += 1; return }
        triggerAnswer(out, locate: locate, side: side, price: e.price)
        let kind: OrderKind
        if e.price == CW_OUCH_MARKET_PRICE { kind = .market }
        else if e.tif == CW_OUCH_TIF_IOC { kind = .immediateOrCancel }
        else if UInt8(bitPattern: e.display) == UInt8(ascii: "P") { kind = .postOnly }
        else { kind = .limit }
        var o = SimOrder()
        o.session = session; o.locate = locate; o.side = side; o.price = e.price; o.orderQty = e.shares
        o.token = e.token; o.enter = e
        let tag = table.allocate(o)
        table.ouch[key] = tag
        venue.now = clock()
        venue.submit(session: session, order: NewOrder(locate: locate, side: side, kind: kind, price: e.price, quantity: e.shares, tag: UInt64(tag)))
        publishFeed()
    }

    /// A buy from the trigger trader in the trigger instrument answers a trigger (stamped first,
    /// before the venue does any work on it).
    @inline(__always) func triggerAnswer(_ out: OuchOutbox, locate: Locate, side: Side, price: UInt32) {
        guard let t = triggers, locate == t.locate, side == .bid, out.user == t.trader else { return }
        t.answer(price: price)
    }

    func replaceOrder(_ r: cw_ouch_replace, _ out: OuchOutbox) {
        activity()
        if triggers != nil, let session = session(of: out.user), let tag = table.ouch[OuchKey(session, r.existing)] {
            triggerAnswer(out, locate: table.orders[tag].locate, side: table.orders[tag].side, price: r.price)
        }
        guard let session = session(of: out.user), let tag = table.ouch[OuchKey(session, r.existing)] else {
            counters.unknownOrderRequests += 1; return // OUCH: a replace of an unknown token is ignored
        }
        let newKey = OuchKey(session, r.replacement)
        if table.ouch[newKey] != nil { counters.duplicateTokens += 1; return }
        let id = table.orders[tag].id
        table.ouch[OuchKey(session, r.existing)] = nil
        table.ouch[newKey] = tag
        let saved = table.orders[tag].enter
        table.orders[tag].token = r.replacement
        table.orders[tag].enter.tif = r.tif
        table.orders[tag].enter.display = r.display
        pending = .ouchReplace(previous: r.existing)
        venue.now = clock()
        let ok = venue.replace(session: session, order: id, price: r.price, quantity: r.shares)
        pending = .none
        publishFeed()
        if !ok {
            if table.orders[tag].inUse {
                table.ouch[newKey] = nil
                table.ouch[OuchKey(session, r.existing)] = tag
                table.orders[tag].token = r.existing
                table.orders[tag].enter = saved
            }
            out.rejected(r.replacement, reason: lastReject.map(ouchRejectReason) ?? UInt8(ascii: "O"))
        }
    }

    func cancelOrder(_ c: cw_ouch_cancel, _ out: OuchOutbox) {
        activity()
        guard let session = session(of: out.user), let tag = table.ouch[OuchKey(session, c.token)],
              let live = venue.order(table.orders[tag].id) else {
            counters.unknownOrderRequests += 1; return // OUCH: a cancel of an unknown token is ignored
        }
        venue.now = clock()
        if c.shares == 0 {
            venue.cancel(session: session, order: table.orders[tag].id)
        } else if c.shares < live.quantity {
            pending = .ouchReduce(decrement: live.quantity - c.shares)
            venue.replace(session: session, order: table.orders[tag].id, price: live.price, quantity: c.shares)
            pending = .none
        }
        publishFeed()
    }

    func modifyOrder(_ m: cw_ouch_modify, _ out: OuchOutbox) {
        activity()
        guard let session = session(of: out.user), let tag = table.ouch[OuchKey(session, m.token)],
              let live = venue.order(table.orders[tag].id) else { counters.unknownOrderRequests += 1; return }
        // Only a size reduction on the same side of the book (B stays B; S, T, E are all sells).
        let buy = UInt8(bitPattern: m.side) == UInt8(ascii: "B")
        guard buy == (table.orders[tag].side == .bid), m.shares > 0, m.shares < live.quantity else { counters.unknownOrderRequests += 1; return }
        table.orders[tag].enter.side = m.side
        pending = .ouchModify
        venue.now = clock()
        venue.replace(session: session, order: table.orders[tag].id, price: live.price, quantity: m.shares)
        pending = .none
        publishFeed()
    }

}

// MARK: FIX requests

extension SimVenue {
    // Every report goes out through `fixSend` (the reports for resting orders come unprompted,
    // so one path serves both); `out` stays empty.

    func newOrder(_ order: FixNewOrder, session compID: String, into out: inout [FixVenueResponse]) {
        activity()
        counters.fixOrders += 1
        ordersByClient[compID, default: 0] += 1
        var o = SimOrder()
        o.clOrdID = order.clOrdID; o.symbol = order.symbol; o.fixSide = order.side
        o.side = order.side == .buy ? .bid : .ask
        o.orderQty = UInt32(clamping: order.quantity); o.price = UInt32(clamping: order.price)
        guard let session = session(ofCompID: compID) else {
            counters.rejected += 1
            out.append(.execution(FixExecution(orderID: "NONE", clOrdID: order.clOrdID, execID: nextExecID("R"), execType: .rejected,
                                               ordStatus: .rejected, symbol: order.symbol, side: order.side, orderQty: order.quantity,
                                               price: order.price, leavesQty: 0, cumQty: 0, avgPx: 0, text: "no venue session left")))
            return
        }
        o.session = session
        func reject(_ text: String) {
            counters.rejected += 1
            o.id = .none
            fixSend(session, fixReport(o, .rejected, .rejected, leaves: 0, text: text, orderID: "NONE"))
        }
        let key = FixKey(session: session, clOrdID: order.clOrdID)
        guard table.fix[key] == nil else { reject("duplicate ClOrdID"); return }
        guard let locate = symbolLocates[order.symbol.description] else { reject("unknown symbol"); return }
        guard order.quantity <= Int64(UInt32.max), order.price <= Int64(UInt32.max) else { reject("quantity or price out of range"); return }
        o.locate = locate
        let kind: OrderKind
        if order.ordType == .market { kind = .market }
        else if order.postOnly { kind = .postOnly }
        else {
            switch order.timeInForce {
            case .ioc: kind = .immediateOrCancel
            case .fok: kind = .fillOrKill
            case .day: kind = .limit
            }
        }
        let tag = table.allocate(o)
        table.fix[key] = tag
        venue.now = clock()
        venue.submit(session: session, order: NewOrder(locate: locate, side: o.side, kind: kind, price: o.price, quantity: o.orderQty, tag: UInt64(tag)))
        publishFeed()
    }

    func cancel(_ request: FixCancelRequest, session compID: String, into out: inout [FixVenueResponse]) {
        activity()
        guard let session = session(ofCompID: compID), let tag = table.fix[FixKey(session: session, clOrdID: request.origClOrdID)] else {
            counters.unknownOrderRequests += 1
            out.append(.cancelReject(.unknownOrder(clOrdID: request.clOrdID, origClOrdID: request.origClOrdID, responseTo: .cancel)))
            return
        }
        pending = .fixCancel(clOrdID: request.clOrdID, orig: request.origClOrdID)
        venue.now = clock()
        let ok = venue.cancel(session: session, order: table.orders[tag].id)
        pending = .none
        publishFeed()
        if !ok {
            out.append(.cancelReject(FixCancelRejection(orderID: "\(table.orders[tag].ref)", clOrdID: request.clOrdID,
                                                        origClOrdID: request.origClOrdID, ordStatus: .rejected, responseTo: .cancel,
                                                        reason: 0, text: lastReject.map(rejectText) ?? "too late to cancel")))
        }
    }

    /// The order's state now (OrdStatus new or partially filled, LeavesQty, CumQty), or OrdStatus
    /// rejected with "unknown order" when the ClOrdID names none of the session's live orders.
    func orderStatus(_ request: FixOrderStatusRequest, session compID: String, into out: inout [FixVenueResponse]) {
        guard let session = session(ofCompID: compID), let tag = table.fix[FixKey(session: session, clOrdID: request.clOrdID)],
              let live = venue.order(table.orders[tag].id) else {
            out.append(.execution(request.unknownOrder(execID: nextExecID("S"))))
            return
        }
        let o = table.orders[tag]
        fixSend(session, fixReport(o, .orderStatus, o.cumQty > 0 ? .partiallyFilled : .new, leaves: live.quantity, execID: nextExecID("S")))
    }

    func replace(_ request: FixReplaceRequest, session compID: String, into out: inout [FixVenueResponse]) {
        activity()
        func refuse(_ orderID: FixString, _ reason: Int, _ text: String) {
            out.append(.cancelReject(FixCancelRejection(orderID: orderID, clOrdID: request.clOrdID, origClOrdID: request.origClOrdID,
                                                        ordStatus: .rejected, responseTo: .replace, reason: reason, text: text)))
        }
        guard let session = session(ofCompID: compID), let tag = table.fix[FixKey(session: session, clOrdID: request.origClOrdID)] else {
            counters.unknownOrderRequests += 1
            out.append(.cancelReject(.unknownOrder(clOrdID: request.clOrdID, origClOrdID: request.origClOrdID, responseTo: .replace)))
            return
        }
        let o = table.orders[tag]
        let orderID: FixString = "\(o.ref)"
        guard table.fix[FixKey(session: session, clOrdID: request.clOrdID)] == nil else { refuse(orderID, 99, "duplicate ClOrdID"); return }
        guard request.symbol == o.symbol else { refuse(orderID, 99, "Symbol cannot change (order is \(o.symbol))"); return }
        guard request.side == o.fixSide || (request.side != .buy && o.fixSide != .buy) else { refuse(orderID, 99, "Side cannot change"); return }
        guard request.ordType == .limit, request.price <= Int64(UInt32.max) else { refuse(orderID, 99, "only limit orders can be replaced"); return }
        guard request.quantity > Int64(o.cumQty), request.quantity <= Int64(UInt32.max) else {
            refuse(orderID, 99, "OrderQty must exceed CumQty \(o.cumQty)"); return
        }
        table.fix[FixKey(session: session, clOrdID: request.origClOrdID)] = nil
        table.fix[FixKey(session: session, clOrdID: request.clOrdID)] = tag
        table.orders[tag].clOrdID = request.clOrdID
        pending = .fixReplace(clOrdID: request.clOrdID, orig: request.origClOrdID)
        venue.now = clock()
        let ok = venue.replace(session: session, order: o.id, price: UInt32(request.price), quantity: UInt32(UInt64(request.quantity) - o.cumQty))
        pending = .none
        publishFeed()
        if !ok {
            if table.orders[tag].inUse {
                table.fix[FixKey(session: session, clOrdID: request.clOrdID)] = nil
                table.fix[FixKey(session: session, clOrdID: request.origClOrdID)] = tag
                table.orders[tag].clOrdID = request.origClOrdID
            }
            refuse(orderID, 99, lastReject.map(rejectText) ?? "replace refused")
        }
    }
}

/// The OUCH server's handler: forwards to the sim without owning it (no reference cycle).
final class SimOuchEntry: OrderEntryHandler {
    unowned let sim: SimVenue
    init(_ sim: SimVenue) { self.sim = sim }
    func enterOrder(_ order: cw_ouch_enter, _ out: OuchOutbox) { sim.enterOrder(order, out) }
    func replaceOrder(_ replace: cw_ouch_replace, _ out: OuchOutbox) { sim.replaceOrder(replace, out) }
    func cancelOrder(_ cancel: cw_ouch_cancel, _ out: OuchOutbox) { sim.cancelOrder(cancel, out) }
    func modifyOrder(_ modify: cw_ouch_modify, _ out: OuchOutbox) { sim.modifyOrder(modify, out) }
    func poll(_ server: SoupServer) {}
    func disconnected(_ user: SoupUser, server: SoupServer) { sim.ouchDisconnected(user) }
    func loggedIn(_ user: SoupUser, server: SoupServer) { sim.ouchLoggedIn(user) }
}

/// The FIX application's venue: forwards to the sim without owning it.
final class SimFixEntry: FixVenue {
    unowned let sim: SimVenue
    init(_ sim: SimVenue) { self.sim = sim }
    func newOrder(_ order: FixNewOrder, session: String, into out: inout [FixVenueResponse]) { sim.newOrder(order, session: session, into: &out) }
    func cancel(_ request: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) { sim.cancel(request, session: session, into: &out) }
    func replace(_ request: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) { sim.replace(request, session: session, into: &out) }
    func orderStatus(_ request: FixOrderStatusRequest, session: String, into out: inout [FixVenueResponse]) {
        sim.orderStatus(request, session: session, into: &out)
    }
    func sessionLoggedOn(session: String) { sim.fixLoggedOn(session) }
    func sessionEnded(session: String) { sim.fixSessionEnded(session) }
}

import CEvent
import OmniCore
import OmniOrders
import OmniVenue
import OmniWire
import Testing

/// Our order ledger trading through the venue in process: the same answers and fills OUCH and
/// FIX produce, so the ledger's states and positions come out as the venue's own book says.
@Suite struct VenueOrderEntryTests {
    let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

    func setUp() -> (VenueOrderEntry<DayFileBuffer>, OrderLedger) {
        let entry = VenueOrderEntry(instruments: Array(InstrumentSpec.defaults.prefix(2)), feed: DayFileBuffer(capacity: 1 << 20),
                                    session: 1, orderSlots: 256)
        entry.advance(to: 34_200_000_000_000)
        entry.venue.open()
        return (entry, OrderLedger(OrderLedgerConfig(orders: 256, strategies: 4, locates: 4, rememberedExecutions: 1024)))
    }

    /// Sends a request the ledger made and applies every answer that came back.
    func send(_ entry: VenueOrderEntry<DayFileBuffer>, _ ledger: OrderLedger, _ request: omni_event) {
        #expect(entry.submit(request))
        entry.flush()
        entry.poll { _ = ledger.apply($0) }
    }

    func enter(_ entry: VenueOrderEntry<DayFileBuffer>, _ ledger: OrderLedger, side: UInt8, price: UInt32, qty: UInt32,
               strategy: UInt16 = 1, flags: UInt8 = 0) throws -> ClientOrderID {
        var req = omni_event()
        let id = try ledger.enter(locate: 1, strategy: strategy, side: side, price: price, qty: qty, flags: flags, request: &req).get()
        send(entry, ledger, req)
        return id
    }

    @Test func restFillByAnotherSessionThenTakeLiquidity() throws {
        let (entry, ledger) = setUp()
        defer { entry.venue.feed.deallocate() }
        let bid = try enter(entry, ledger, side: buy, price: 1_990_000, qty: 100)
        #expect(ledger.order(bid)?.state == .new)
        // Another session sells 60 into our bid: we were the passive side (added liquidity).
        _ = entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, price: 1_990_000, quantity: 60, tag: 7))
        entry.poll { _ = ledger.apply($0) }
        #expect(ledger.order(bid)?.state == .partiallyFilled && ledger.order(bid)?.leaves == 40)
        // It rests an offer; we lift it with an IOC for more than it has: we took liquidity.
        _ = entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, price: 2_000_000, quantity: 30, tag: 8))
        let ioc = try enter(entry, ledger, side: buy, price: 2_000_000, qty: 50, flags: UInt8(OMNI_ORDF_IOC))
        #expect(ledger.order(ioc) == nil) // filled 30, the rest canceled as IOC's remainder
        let p = ledger.position(strategy: 1, locate: 1)
        #expect(p.shares == 90 && p.openCost == 60 * 1_990_000 + 30 * 2_000_000)
        #expect(p.fees == Int128(30 * 30 - 60 * 20)) // 30 shares taken at 0.0030, 60 added at a 0.0020 rebate
        let c = ledger.counters
        #expect(c.accepted == 2 && c.fills == 2 && c.unsolicitedCancels == 1 && c.canceled == 1)
    }

    @Test func cancelReduceReplaceAndRefusals() throws {
        let (entry, ledger) = setUp()
        defer { entry.venue.feed.deallocate() }
        let id = try enter(entry, ledger, side: sell, price: 2_010_000, qty: 100)
        var req = omni_event()
        #expect(ledger.cancel(id, leaving: 40, request: &req) == nil)
        send(entry, ledger, req)
        #expect(ledger.order(id)?.leaves == 40 && ledger.order(id)?.pendingCancel == false && ledger.counters.partialCancels == 1)
        #expect(ledger.replace(id, price: 2_020_000, qty: 70, request: &req) == nil)
        send(entry, ledger, req)
        #expect(ledger.order(id)?.price == 2_020_000 && ledger.order(id)?.leaves == 70 && ledger.counters.replaced == 1)
        #expect(entry.venue.book(1)?.depth(.ask).first == VenueLevel(price: 2_020_000, shares: 70, orders: 1)) // the venue's book agrees
        #expect(ledger.cancel(id, request: &req) == nil)
        send(entry, ledger, req)
        #expect(ledger.order(id) == nil && ledger.counters.canceled == 1 && entry.venue.liveOrders == 0)
        // A price off the tick: the venue refuses it, in OUCH's words (X: invalid price).
        let bad = try enter(entry, ledger, side: buy, price: 1_990_001, qty: 10)
        #expect(ledger.order(bad) == nil && ledger.counters.rejected == 1)
        // A cancel for an order the venue never had: refused as unknown, nothing else moves.
        var ghost = omni_event()
        ghost.type = UInt8(OMNI_EV_ORDER_CANCEL.rawValue)
        ghost.order.client_order_id = 200
        var answered: [omni_event] = []
        #expect(entry.submit(ghost))
        entry.poll { answered.append($0) }
        #expect(answered.count == 1 && answered[0].type == UInt8(OMNI_EV_CANCEL_REJECTED.rawValue)
                && answered[0].order.reason == UInt16(OMNI_REASON_UNKNOWN_ORDER) && entry.answers.unknownOrderRequests == 1)
    }
}

import CEvent
import OmniGateway
import OmniOrders
import OmniTrading
import Testing

/// The order-state races, provoked against `omni sim` over OUCH and over FIX: another firm
/// trades with our order while our request about it is on its way (we have not read the fill),
/// so the venue answers in an order the ledger did not expect. After each, the order's state is
/// what the venue says, and positions, cash and open orders equal the venue's own record.
@Suite(.serialized) struct OrderRaceEndToEndTests {
    enum OrderProtocol: String, CaseIterable, Sendable { case ouch, fix }

    /// Runs one race body over a fresh venue and session of `proto`, then reconciles with the venue.
    static func on(_ proto: OrderProtocol, _ user: String, ouch: (LoopHarness<OuchOrderEntry>) throws -> Void,
                   fix: (LoopHarness<FixOrderEntry>) throws -> Void) throws {
        switch proto {
        case .ouch:
            let h = try LoopHarness.ouch(user: user)
            defer { h.sim.stop() }
            try ouch(h)
            h.reconcile()
        case .fix:
            let h = try LoopHarness.fix(user: user)
            defer { h.sim.stop() }
            try fix(h)
            h.reconcile()
        }
    }

    /// Each race, once per protocol: a fresh venue and session (login RACE<n>), the race, then the
    /// reconciliation with the venue's own record.
    enum Race: Int, CaseIterable, Sendable {
        case aFillWhileACancelIsPending = 1, aCancelTooLate, aReplaceOfAPartiallyFilledOrder, aReplaceRacingAFill,
             anUnsolicitedCancel, aReplaceRefusedByTheVenue

        func run<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
            switch self {
            case .aFillWhileACancelIsPending: try OrderRaceEndToEndTests.aFillWhileACancelIsPending(h, proto)
            case .aCancelTooLate: try OrderRaceEndToEndTests.aCancelTooLate(h, proto)
            case .aReplaceOfAPartiallyFilledOrder: try OrderRaceEndToEndTests.aReplaceOfAPartiallyFilledOrder(h, proto)
            case .aReplaceRacingAFill: try OrderRaceEndToEndTests.aReplaceRacingAFill(h, proto)
            case .anUnsolicitedCancel: try OrderRaceEndToEndTests.anUnsolicitedCancel(h, proto)
            case .aReplaceRefusedByTheVenue: try OrderRaceEndToEndTests.aReplaceRefusedByTheVenue(h, proto)
            }
        }
    }

    @Test(arguments: Race.allCases, OrderProtocol.allCases) func race(_ race: Race, _ proto: OrderProtocol) throws {
        try Self.on(proto, "RACE\(race.rawValue)", ouch: { try race.run($0, proto) }, fix: { try race.run($0, proto) })
    }

    /// 60 of our 100 fill while our cancel is on its way: the fill, then the venue cancels the 40 left.
    static func aFillWhileACancelIsPending<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let bid = h.a.referencePrice - 100
        let id = try #require(h.order(h.a, buy, bid, 100))
        h.settle()
        h.taker(h.a, side: "S", price: bid, shares: 60, read: false)
        h.cancel(id)
        #expect(h.loop.ledger.order(id)?.pendingCancel == true && h.loop.ledger.counters.fills == 0)
        h.settle()
        #expect(h.loop.ledger.order(id) == nil && h.loop.ledger.counters.fills == 1 && h.loop.ledger.counters.canceled == 1)
        #expect(h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 60)
    }

    /// Our cancel reaches the venue after the order filled whole: OUCH ignores it (a dead token),
    /// FIX answers OrderCancelReject (too late), which finds the order already done here.
    static func aCancelTooLate<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let bid = h.a.referencePrice - 100
        let id = try #require(h.order(h.a, buy, bid, 100))
        h.settle()
        h.taker(h.a, side: "S", price: bid, shares: 100, read: false)
        h.cancel(id)
        h.settle(also: { proto == .ouch || h.loop.ledger.counters.answersForUnknownOrders == 1 })
        #expect(h.loop.ledger.order(id) == nil && h.loop.ledger.counters.filled == 1 && h.loop.ledger.counters.canceled == 0)
        #expect(h.loop.ledger.counters.answersForUnknownOrders == (proto == .fix ? 1 : 0), "FIX's cancel reject, for an order done here")
        #expect(h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 100)
    }

    /// A replace of a partially filled order (the fill read first): the order keeps what filled
    /// and has the new open size at the new price; the rest fills at that price.
    static func aReplaceOfAPartiallyFilledOrder<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let bid = h.a.referencePrice - 100
        let id = try #require(h.order(h.a, buy, bid, 100))
        h.settle()
        h.taker(h.a, side: "S", price: bid, shares: 60)
        h.replace(id, price: bid - 100, qty: 100)
        h.settle()
        let o = try #require(h.loop.ledger.order(id))
        #expect(o.price == bid - 100 && o.cumQty == 60 && o.leaves == 100 && o.qty == 160)
        h.taker(h.a, side: "S", price: bid - 100, shares: 500)
        #expect(h.loop.ledger.order(id) == nil && h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 160)
    }

    /// A replace on its way while 60 fill: the venue applies the fill, then the replace (OUCH: 100
    /// open after it; FIX: OrderQty 100 in all, so 40 open); what the venue says open is what fills.
    static func aReplaceRacingAFill<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let bid = h.a.referencePrice - 100
        let id = try #require(h.order(h.a, buy, bid, 100))
        h.settle()
        h.taker(h.a, side: "S", price: bid, shares: 60, read: false)
        h.replace(id, price: bid - 100, qty: 100)
        h.settle()
        let o = try #require(h.loop.ledger.order(id))
        #expect(o.price == bid - 100 && o.cumQty == 60 && o.leaves == (proto == .ouch ? 100 : 40))
        h.taker(h.a, side: "S", price: bid - 100, shares: 500)
        #expect(h.loop.ledger.order(id) == nil && h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 60 + Int64(o.leaves))
    }

    /// The venue cancels on its own: our IOC buy of 100 meets 30 offered; the 70 left are canceled
    /// by the venue (unsolicited), the 30 filled.
    static func anUnsolicitedCancel<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let ask = h.a.referencePrice + 100
        h.rest(h.a, side: "S", price: ask, shares: 30)
        let id = try #require(h.order(h.a, buy, ask, 100, flags: UInt8(OMNI_ORDF_IOC)))
        h.settle(also: { h.loop.ledger.order(id) == nil })
        #expect(h.loop.ledger.counters.fills == 1 && h.loop.ledger.counters.unsolicitedCancels == 1 && h.loop.ledger.counters.canceled == 1)
        #expect(h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 30)
    }

    /// The venue refuses a replace (a price off the tick grid, which risk does not judge): OUCH
    /// answers Rejected with the replacement token, FIX OrderCancelReject; either way the order
    /// stands at the venue as it was, so it stays open here at its old price, and a cancel ends it.
    static func aReplaceRefusedByTheVenue<E>(_ h: LoopHarness<E>, _ proto: OrderProtocol) throws {
        let bid = h.a.referencePrice - 100
        let id = try #require(h.order(h.a, buy, bid, 100))
        h.settle()
        h.replace(id, price: bid - 150, qty: 100)
        h.settle()
        let o = try #require(h.loop.ledger.order(id), "the order stands after its replace was refused")
        #expect(o.price == bid && o.leaves == 100 && !o.pendingReplace)
        #expect(h.loop.ledger.counters.cancelRejects == 1 && h.loop.ledger.counters.rejected == 0)
        let byReason = h.loop.venueRefusalsByReason()
        #expect(byReason.count == 1 && byReason.first?.count == 1, "the venue's one refusal, counted under its reason: \(byReason)")
        if proto == .ouch { #expect(byReason.first?.reason == UInt16(OMNI_REASON_OUCH) | UInt16(UInt8(ascii: "X")), "OUCH's invalid price") }
        h.taker(h.a, side: "S", price: bid, shares: 40)
        #expect(h.loop.ledger.position(strategy: 1, locate: h.a.locate).shares == 40)
        h.cancel(id)
        h.settle()
        #expect(h.loop.ledger.order(id) == nil && h.loop.ledger.counters.canceled == 1)
    }
}

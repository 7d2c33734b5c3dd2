import CEvent
import CSys
import CWire
import Foundation
import OmniGateway
import OmniOrders
import OmniVenue
import OmniWire
import SharedTestData
import Testing

/// Our order ledger over OUCH against `omni sim` in this process: two of our users trade with
/// each other through the venue, and each ledger ends where the venue's book says.
@Suite(.serialized) struct OuchOrderEntryTests {
    let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

    struct Trader {
        let entry: OuchOrderEntry
        let ledger = OrderLedger(OrderLedgerConfig(orders: 256, strategies: 2, locates: 16, rememberedExecutions: 1024))
        func pump() { entry.flush(); entry.poll { _ = ledger.apply($0) } }
        func send(_ r: omni_event) { #expect(entry.submit(r)); pump() }
        func enter(side: UInt8, price: UInt32, qty: UInt32, flags: UInt8 = 0) throws -> ClientOrderID {
            var req = omni_event()
            let id = try ledger.enter(locate: 1, strategy: 1, side: side, price: price, qty: qty, flags: flags, request: &req).get()
            send(req)
            return id
        }
    }

    func waitFor(_ what: String, _ traders: [Trader], until done: () -> Bool) throws {
        let end = csys_monotonic_ns() + 5_000_000_000
        while !done() {
            if csys_monotonic_ns() > end { Issue.record("timed out: \(what)"); return }
            for t in traders { t.pump() }
            usleep(200)
        }
    }

    @Test func twoOfOurUsersTradeAndEachLedgerMatchesTheVenue() throws {
        let dir = TestScratch.directory("ouch-entry")
        var c = SimConfig()
        c.ouchPort = 0; c.fixPort = 0; c.retransmitPort = 0; c.fixStore = dir + "/fix"; c.generator = nil
        c.lineA = SimGroup(address: "239.192.93.1", port: 31_093); c.lineB = nil
        let sim = try SimVenue(c)
        sim.start()
        defer { sim.stop() }
        let symbols: [UInt16: String] = [1: "AAPL", 2: "MSFT"]
        let a = Trader(entry: OuchOrderEntry(SoupClientConfig(port: sim.ouchPort, username: "MMA", password: "x"), symbols: symbols, orderSlots: 256))
        let b = Trader(entry: OuchOrderEntry(SoupClientConfig(port: sim.ouchPort, username: "MMB", password: "x"), symbols: symbols, orderSlots: 256))
        try a.entry.connect()
        try b.entry.connect()

        let bid = try a.enter(side: buy, price: 1_990_000, qty: 100)
        try waitFor("A's bid accepted", [a]) { a.ledger.order(bid)?.state == .new }
        let hit = try b.enter(side: sell, price: 1_990_000, qty: 60)
        try waitFor("both fills", [a, b]) { a.ledger.order(bid)?.leaves == 40 && b.ledger.order(hit) == nil }
        #expect(a.ledger.position(strategy: 1, locate: 1).shares == 60 && b.ledger.position(strategy: 1, locate: 1).shares == -60)
        #expect(a.ledger.position(strategy: 1, locate: 1).fees == Int128(-60 * 20)) // A added liquidity
        #expect(b.ledger.position(strategy: 1, locate: 1).fees == Int128(60 * 30))  // B took it

        var req = omni_event()
        #expect(a.ledger.replace(bid, price: 1_990_100, qty: 50, request: &req) == nil)
        a.send(req)
        try waitFor("replaced", [a]) { a.ledger.order(bid)?.price == 1_990_100 }
        #expect(a.ledger.order(bid)?.leaves == 50 && a.ledger.counters.replaced == 1)
        #expect(a.ledger.cancel(bid, leaving: 20, request: &req) == nil)
        a.send(req)
        try waitFor("reduced", [a]) { a.ledger.order(bid)?.leaves == 20 && a.ledger.order(bid)?.pendingCancel == false }
        #expect(a.ledger.cancel(bid, request: &req) == nil)
        a.send(req)
        try waitFor("canceled", [a]) { a.ledger.order(bid) == nil }
        #expect(a.ledger.counters.canceled == 1 && a.ledger.counters.partialCancels == 1)

        let bad = try b.enter(side: buy, price: 1_990_001, qty: 10) // off the tick
        try waitFor("rejected", [b]) { b.ledger.order(bad) == nil }
        #expect(b.ledger.counters.rejected == 1 && a.entry.unmatched == 0 && b.entry.unmatched == 0)
        sim.stop()
        #expect(sim.summary.executions == 1 && sim.summary.sharesTraded == 60 && sim.liveOrders == 0)
    }

    @Test func tokensCarryTheClientOrderIdAndTheReplaceCount() {
        let id: UInt64 = 0x12_3456_789A
        for replaces: UInt16 in [0, 1, 35, 36, 1295] {
            let t = OuchOrderEntry.token(id, replaces: replaces)
            #expect(OuchOrderEntry.clientOrderID(t) == id)
        }
        #expect(OuchOrderEntry.token(id, replaces: 0) != OuchOrderEntry.token(id, replaces: 1))
        #expect(OuchOrderEntry.clientOrderID(cw_ouch_token("not-ours!")) == nil)
    }
}

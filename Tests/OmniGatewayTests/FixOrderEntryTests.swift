import CEvent
import CSys
import Foundation
import OmniGateway
import OmniOrders
import OmniVenue
import OmniWire
import SharedTestData
import Testing

/// Our order ledger over FIX against `omni sim` in this process: two of our CompIDs trade with
/// each other, replace, cancel, and each ledger ends where the venue's executions say.
@Suite(.serialized) struct FixOrderEntryTests {
    let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

    final class Trader {
        let entry: FixOrderEntry
        let ledger = OrderLedger(OrderLedgerConfig(orders: 256, strategies: 2, locates: 16, rememberedExecutions: 1024))
        init(_ entry: FixOrderEntry) { self.entry = entry }
        func pump() { entry.flush(); entry.poll { _ = ledger.apply($0) } }
        func enter(side: UInt8, price: UInt32, qty: UInt32) throws -> ClientOrderID {
            var req = omni_event()
            let id = try ledger.enter(locate: 1, strategy: 1, side: side, price: price, qty: qty, request: &req).get()
            #expect(entry.submit(req))
            return id
        }
    }

    func waitFor(_ what: String, _ traders: [Trader], until done: () -> Bool) {
        let end = csys_monotonic_ns() + 5_000_000_000
        while !done() {
            if csys_monotonic_ns() > end { Issue.record("timed out: \(what)"); return }
            for t in traders { t.pump() }
            usleep(200)
        }
    }

    @Test func twoOfOurCompIDsTradeAndEachLedgerMatchesTheVenue() throws {
        let dir = TestScratch.directory("fix-entry")
        var c = SimConfig()
        c.ouchPort = 0; c.fixPort = 0; c.retransmitPort = 0; c.fixStore = dir + "/venue"; c.generator = nil
        c.lineA = SimGroup(address: "239.192.94.1", port: 31_094); c.lineB = nil
        let sim = try SimVenue(c)
        sim.start()
        defer { sim.stop() }
        func trader(_ id: String) throws -> Trader {
            let cfg = FixSessionConfig(senderCompID: id, targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
            return Trader(try FixOrderEntry(port: sim.fixPort, config: cfg, symbols: [1: "AAPL", 2: "MSFT"], orderSlots: 256))
        }
        let a = try trader("MMA"), b = try trader("MMB")
        waitFor("logons", [a, b]) { a.entry.isLoggedOn && b.entry.isLoggedOn }

        let bid = try a.enter(side: buy, price: 1_990_000, qty: 100)
        waitFor("A's bid accepted", [a]) { a.ledger.order(bid)?.state == .new }
        let hit = try b.enter(side: sell, price: 1_990_000, qty: 60)
        waitFor("both fills", [a, b]) { a.ledger.order(bid)?.leaves == 40 && b.ledger.order(hit) == nil }
        #expect(a.ledger.position(strategy: 1, locate: 1).shares == 60 && b.ledger.position(strategy: 1, locate: 1).shares == -60)
        #expect(a.ledger.position(strategy: 1, locate: 1).fees == Int128(-60 * 20)) // 851=1: A added liquidity
        #expect(b.ledger.position(strategy: 1, locate: 1).fees == Int128(60 * 30))  // 851=2: B took it

        var req = omni_event()
        #expect(a.ledger.replace(bid, price: 1_990_100, qty: 50, request: &req) == nil)
        #expect(a.entry.submit(req))
        waitFor("replaced", [a]) { a.ledger.order(bid)?.price == 1_990_100 }
        #expect(a.ledger.order(bid)?.leaves == 50 && a.ledger.counters.replaced == 1)
        #expect(a.ledger.cancel(bid, request: &req) == nil)
        #expect(a.entry.submit(req))
        waitFor("canceled", [a]) { a.ledger.order(bid) == nil }
        #expect(a.ledger.counters.canceled == 1 && a.entry.session.isOpen)

        let bad = try b.enter(side: buy, price: 1_990_001, qty: 10) // off the tick
        waitFor("rejected", [b]) { b.ledger.order(bad) == nil }
        #expect(b.ledger.counters.rejected == 1)
        sim.stop()
        #expect(sim.summary.executions == 1 && sim.summary.sharesTraded == 60 && sim.liveOrders == 0)
    }

    @Test func clOrdIDsCarryTheClientOrderId() {
        let id: UInt64 = 0x12_3456_789A
        for n: UInt16 in [0, 1, 35, 36, 1295, 65535] {
            let cl = FixReports.clOrdID(id, n)
            #expect(FixReports.clientOrderID(cl) == id)
        }
        #expect(FixReports.clOrdID(id, 0) != FixReports.clOrdID(id, 1))
        #expect(FixReports.clientOrderID("NOT-OURS") == nil)
    }
}

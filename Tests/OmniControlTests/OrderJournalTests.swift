import Foundation
import OmniControl
import OmniCore
import OmniVenue
import SharedTestData
import Testing

/// The order journal end to end: the loop copies every request, answer and fill to the control
/// plane's ring; the open orders it lists are the ones the in-process venue holds, an execution
/// the venue makes against our bid comes back with the venue's price and shares, and the store
/// gets one row per event.
@Suite(.serialized) struct OrderJournalTests {
    func object(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    @Test func theOpenOrdersAreTheVenuesAndAFillIsTheVenuesExecutionAndEveryEventIsStored() async throws {
        let store = try SQLiteControlStore(path: TestScratch.directory("order-journal") + "/control.sqlite")
        let c = try ControlledLoop(store: store)
        try await c.serve()
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        try await Task.sleep(nanoseconds: 100_000_000) // every answer taken by the loop
        let orders = object(try await c.call("GET", "/v1/orders", role: .viewer).body)
        c.pause()
        let open = orders["open"] as? [[String: Any]] ?? []
        #expect(open.count == 4 && open.allSatisfy { $0["state"] as? String == "live" }, "\(open)")
        for spec in ControlledLoop.specs {
            for (side, name) in [(Side.bid, "buy"), (Side.ask, "sell")] {
                let atVenue = c.entry.venue.book(spec.locate)?.depth(side).first
                let listed = open.first { $0["symbol"] as? String == spec.symbol.description && $0["side"] as? String == name }
                #expect(atVenue.map { Double($0.price) / 10_000 } == listed?["price"] as? Double
                        && atVenue.map { Int($0.shares) } == listed?["shares"] as? Int, "\(spec.symbol) \(name): venue \(String(describing: atVenue)), listed \(String(describing: listed))")
            }
        }

        // Another session sells 100 shares into our AAPL bid: the venue's execution at its price.
        let aapl = ControlledLoop.specs[0]
        let bid = try #require(c.entry.venue.book(aapl.locate)?.depth(.bid).first)
        let seen = Received()
        let stream = Task {
            try await LiveStreamTests.subscribe(c, token: ControlledLoop.roles[.viewer]!) { t in
                seen.append(t)
                return LiveStreamTests.object(t)["type"] as? String == "fill"
            }
        }
        try await c.wait("subscribed", seconds: 30) { !seen.all.isEmpty } // the latest quotes come first (seconds, beside the whole suite)
        _ = c.entry.venue.submit(session: 2, order: NewOrder(locate: aapl.locate, side: .ask, kind: .immediateOrCancel, price: bid.price, quantity: 100))
        c.resume()
        try await c.wait("the fill in the loop") { c.port.snapshot.read().summary.fills == 1 }
        var fills: [[String: Any]] = []
        for _ in 0..<100 where fills.isEmpty { // the watcher reads the journal every 100 ms; GET /v1/fills reads it too
            fills = object(try await c.call("GET", "/v1/fills", role: .viewer).body)["fills"] as? [[String: Any]] ?? []
            if fills.isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(fills.count == 1)
        let f = fills.first ?? [:]
        #expect(f["symbol"] as? String == "AAPL" && f["side"] as? String == "buy" && f["price"] as? Double == Double(bid.price) / 10_000
                && f["shares"] as? Int == 100 && f["leaves"] as? Int == 0 && f["liquidity"] as? String == "added", "\(f)")
        let filled = f["client_order_id"] as? UInt64 ?? 0
        func streamedFill() -> [String: Any]? { seen.all.map { LiveStreamTests.object($0.text) }.first { $0["type"] as? String == "fill" } }
        try await c.wait("the fill on the stream", seconds: 30) { streamedFill() != nil }
        stream.cancel()
        let streamed = streamedFill() ?? [:]
        #expect(streamed["client_order_id"] as? UInt64 == filled && streamed["price"] as? Double == Double(bid.price) / 10_000
                && streamed["shares"] as? Int == 100 && streamed["match_number"] as? UInt64 == f["match_number"] as? UInt64, "the stream's fill: \(streamed)")
        await c.close() // the record keeper's last round: every event read and written

        let events = try await store.orderEvents(run: c.server.run, event: nil)
        let ofFilled = events.filter { $0.clientOrderID == filled }.map(\.event)
        #expect(ofFilled.first == "new" && ofFilled.contains("accepted") && ofFilled.last == "fill", "\(ofFilled)")
        let ledger = c.loop.ledger.counters
        #expect(events.filter { $0.event == "accepted" }.count == Int(ledger.accepted) && events.filter { $0.event == "fill" }.count == Int(ledger.fills),
                "the store holds every answer the ledger took: \(ledger); \(events.map { "\($0.event) \($0.clientOrderID)" })")
        #expect(events.filter { ["new", "cancel", "replace"].contains($0.event) }.count == Int(c.loop.counters.requests - c.loop.counters.refusedByRisk - c.loop.counters.notSent))
        #expect(c.port.journalCounts.dropped == 0)
    }
}

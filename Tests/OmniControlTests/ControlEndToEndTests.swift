import CEvent
import CSys
import Glibc
import OmniControl
import OmniCore
import OmniVenue
import Testing

/// The control plane end to end: HTTP requests to the server, commands through the ring to the
/// running loop, orders at the in-process venue; what the venue holds is read from the venue's
/// own book with the loop paused.
@Suite(.serialized) struct ControlEndToEndTests {
    /// The venue's best price on `side` of `locate` (only our orders rest there), nil when empty.
    func best(_ c: ControlledLoop, _ locate: UInt16, _ side: Side) -> UInt32? {
        c.entry.venue.book(locate)?.depth(side).first?.price
    }

    @Test func aSpreadChangeThroughTheAPIIsSeenInThePricesTheVenueHolds() async throws {
        let c = try ControlledLoop()
        let (aapl, msft) = (ControlledLoop.specs[0], ControlledLoop.specs[1])
        try await c.serve()
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        c.pause()
        #expect(best(c, 1, .bid) == aapl.referencePrice - 200 && best(c, 1, .ask) == aapl.referencePrice + 200, "2 ticks from the mid")
        c.resume()
        let r = try await c.call("PUT", "/v1/instruments/AAPL/params", body: #"{"spread_ticks": 5, "size": 300}"#, role: .trader)
        #expect(r.status == 200 && r.body.contains(#""spread_ticks":5"#) && r.body.contains(#""size":300"#) && r.body.contains(#""config_version":3"#), "\(r)")
        try await Task.sleep(nanoseconds: 50_000_000) // a few passes: the venue's answers applied
        c.pause()
        let bid = c.entry.venue.book(1)?.depth(.bid).first, ask = c.entry.venue.book(1)?.depth(.ask).first
        #expect(bid?.price == aapl.referencePrice - 500 && ask?.price == aapl.referencePrice + 500, "5 ticks from the mid at the venue: \(String(describing: bid)) \(String(describing: ask))")
        #expect(bid?.shares == 300 && ask?.shares == 300)
        #expect(best(c, 2, .bid) == msft.referencePrice - 200, "MSFT untouched")
        c.resume()
        let quotes = try await c.call("GET", "/v1/quotes", role: .viewer) // what the dashboard's ladder shows
        let ourBid = #""our_bid":\#(Double(aapl.referencePrice - 500) / 10_000),"our_bid_shares":300"#
        #expect(quotes.status == 200 && quotes.body.contains(ourBid) && quotes.body.contains(#""bid":\#(Double(aapl.referencePrice - 100) / 10_000)"#),
                "\(ourBid) in \(quotes.body)")
        await c.close()
    }

    @Test func aKillThroughTheAPILeavesTheVenueHoldingNoneOfOurOrdersAndAResetQuotesAgain() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        let t0 = csys_monotonic_ns()
        let k = try await c.call("POST", "/v1/kill", role: .trader)
        #expect(k.status == 200 && k.body.contains(#""killed":true"#) && k.body.contains(#""reason":"command""#), "\(k)")
        try await c.wait("every order canceled") { c.port.snapshot.read().summary.openOrders == 0 }
        print("control plane kill: the venue's last order canceled \((csys_monotonic_ns() - t0) / 1_000) us after the request was sent")
        try await Task.sleep(nanoseconds: 300_000_000) // three more touches: nothing is sent while killed
        c.pause()
        #expect(c.entry.venue.liveOrders == 0, "the venue holds none of our orders")
        let sent = c.loop.counters.requests
        c.resume()
        try await Task.sleep(nanoseconds: 300_000_000)
        c.pause()
        #expect(c.loop.counters.requests == sent && c.entry.venue.liveOrders == 0, "nothing sent while the switch is on")
        let status = try await c.call("GET", "/v1/status", role: .viewer)
        #expect(status.body.contains(#""killed":true"#) && status.body.contains(#""kill_reason":"command""#), "\(status)")

        #expect(try await c.call("POST", "/v1/kill/reset", role: .trader).status == 403, "a trader may not reset")
        c.resume()
        let reset = try await c.call("POST", "/v1/kill/reset", role: .riskOfficer)
        #expect(reset.status == 200 && reset.body.contains(#""killed":false"#), "\(reset)")
        try await c.wait("quotes again") { c.port.snapshot.read().summary.openOrders == 4 }
        c.pause()
        #expect(c.entry.venue.liveOrders == 4 && !c.loop.risk.isKilled)
        await c.close()
    }

    @Test func quotingOffCancelsTheInstrumentsOrdersAtTheVenue() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        let r = try await c.call("POST", "/v1/instruments/MSFT/quoting", body: #"{"quoting": false}"#, role: .trader)
        #expect(r.status == 200 && r.body.contains(#""quoting":false"#), "\(r)")
        try await c.wait("MSFT's orders canceled") { c.port.snapshot.read().summary.openOrders == 2 }
        c.pause()
        #expect(best(c, 2, .bid) == nil && best(c, 2, .ask) == nil && best(c, 1, .bid) != nil, "MSFT empty at the venue, AAPL quoted")
        // With the loop stalled the request times out (504) but the command stays queued: it is
        // applied when the loop runs again, and the next command finds the version after it.
        let on = try await c.call("POST", "/v1/instruments/MSFT/quoting", body: #"{"quoting": true}"#, role: .admin)
        #expect(on.status == 504 && on.body.contains("did not acknowledge"), "\(on)")
        c.resume()
        try await c.wait("MSFT quoted again") { c.port.snapshot.read().summary.openOrders == 4 }
        let next = try await c.call("PUT", "/v1/instruments/MSFT/params", body: #"{"skew_shares": 200}"#, role: .trader)
        #expect(next.status == 200 && next.body.contains(#""config_version":4"#) && next.body.contains(#""skew_shares":200"#), "\(next)")
        await c.close()
    }
}

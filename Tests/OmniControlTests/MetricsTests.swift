import Foundation
import OmniControl
import OmniRisk
import Testing

/// GET /metrics: Prometheus' text, readable with any token (viewer and up), 401 without one; the
/// series named in LoopMetrics carry the loop's own state.
@Suite(.serialized) struct MetricsTests {
    /// The value of `series` (its name and labels as written, e.g. `omni_fills_total{symbol="AAPL"}`).
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func metricsNeedATokenAndCarryTheLoopsState() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        let none = try await c.call("GET", "/metrics", role: nil)
        #expect(none.status == 401, "\(none)")
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        let set = try await c.call("PUT", "/v1/instruments/AAPL/params", body: #"{"spread_ticks": 3}"#, role: .trader)
        #expect(set.status == 200)
        try await Task.sleep(nanoseconds: 50_000_000)
        // The loop stopped, one more iteration here after the publication interval: the snapshot is the loop's state now.
        c.pause()
        try await Task.sleep(nanoseconds: 120_000_000)
        c.iterate()
        let r = try await c.call("GET", "/metrics", role: .viewer)
        #expect(r.status == 200, "\(r)")
        let t = r.body
        let loop = c.loop
        #expect(value(t, "omni_config_version") == 2, "\(t)")
        #expect(value(t, "omni_open_orders") == Double(loop.ledger.table.open))
        #expect(value(t, "omni_killed") == 0)
        #expect(value(t, "omni_loop_passes_total") == Double(loop.counters.passes))
        #expect(value(t, "omni_order_requests_total") == Double(loop.counters.requests) && loop.counters.requests >= 6, "4 new, 2 replaced")
        #expect(value(t, "omni_orders_sent_total") == Double(loop.counters.requests - loop.counters.refusedByRisk - loop.counters.notSent))
        #expect(value(t, "omni_orders_acknowledged_total") == Double(loop.ledger.counters.accepted) && loop.ledger.counters.accepted >= 4)
        #expect(value(t, "omni_orders_rejected_total{reason=\"venue\"}") == Double(loop.ledger.counters.rejected))
        for check in RiskCheck.allCases {
            let key = String(check.description.map { $0 == " " ? "_" : $0 })
            #expect(value(t, "omni_orders_rejected_total{reason=\"\(key)\"}") == Double(loop.risk.refusals(check)), "\(key)")
        }
        #expect(value(t, "omni_book_updates_total") == Double(loop.counters.bookChanges) && loop.counters.bookChanges > 0)
        #expect(value(t, "omni_feed_packets_total") == 10 && value(t, "omni_feed_messages_total") == 20, "the fake feed's counts")
        #expect(value(t, "omni_feed_gaps_total{event=\"lost\"}") == 0 && value(t, "omni_gateway_up") == 1 && value(t, "omni_feed_stale") == 0)
        for (locate, symbol) in [(UInt16(1), "AAPL"), (2, "MSFT")] {
            let p = loop.ledger.position(strategy: loop.strategyID, locate: locate)
            #expect(value(t, "omni_fills_total{symbol=\"\(symbol)\"}") == Double(p.fills))
            #expect(value(t, "omni_position_shares{symbol=\"\(symbol)\"}") == Double(p.shares))
            #expect(value(t, "omni_pnl_dollars{symbol=\"\(symbol)\",kind=\"realised\"}") == Double(Int64(clamping: p.realised)) / 10_000)
            #expect(value(t, "omni_pnl_dollars{symbol=\"\(symbol)\",kind=\"net\"}") != nil)
        }
        #expect(value(t, "omni_tick_to_trade_ns{quantile=\"0.99\"}") != nil && value(t, "omni_tick_to_trade_count") != nil)
        #expect(value(t, "omni_command_applied_count") == 1 && (value(t, "omni_command_applied_ns{quantile=\"0.5\"}") ?? 0) > 0)
        #expect(t.contains("# TYPE omni_fills_total counter") && t.contains("# TYPE omni_position_shares gauge"), "\(t)")

        // Counters keep counting across scrapes; a kill shows.
        c.resume()
        #expect(try await c.call("POST", "/v1/kill", role: .trader).status == 200)
        try await c.wait("every order canceled") { c.port.snapshot.read().summary.openOrders == 0 }
        let k = try await c.call("GET", "/metrics", role: .admin).body
        #expect(value(k, "omni_killed") == 1 && value(k, "omni_config_version") == 3 && value(k, "omni_open_orders") == 0, "\(k)")
        #expect((value(k, "omni_loop_passes_total") ?? 0) > (value(t, "omni_loop_passes_total") ?? 0))
        #expect(value(k, "omni_command_applied_count") == 2)
        await c.close()
    }
}

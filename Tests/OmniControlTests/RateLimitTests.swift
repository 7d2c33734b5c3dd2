@testable import OmniControl
import OmniTrading
import Testing

/// Rate limits per token: a token bucket per token name; past it, 429 with Retry-After, counted
/// in /metrics; other tokens keep theirs; the bucket refills at its rate.
@Suite(.serialized) struct RateLimitTests {
    @Test func aTokenPastItsRateGets429WithRetryAfterAndOthersKeepTheirs() async throws {
        // One request back every 100 s: however slow the host, nothing refills during the test.
        let c = try ControlledLoop(requestRate: RunConfig.RequestRate(perSecond: 0.01, burst: 3))
        try await c.serve()
        for i in 0..<3 { #expect(try await c.call("GET", "/v1/status", role: .viewer).status == 200, "request \(i + 1) of the burst") }
        let refused = try await c.call("GET", "/v1/status", role: .viewer)
        let retryAfter = refused.headers["retry-after"].flatMap { Int($0) } ?? 0
        #expect(refused.status == 429 && (90...100).contains(retryAfter), "\(refused)")
        #expect(refused.body.contains("viewer: more than 0.01 requests a second (burst 3); retry in \(retryAfter) s"), "\(refused)")
        #expect(try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 900}"#, role: .viewer).status == 429,
                "a change too, before its role is looked at")
        #expect(try await c.call("GET", "/v1/status", role: nil).status == 401, "no token: no bucket, 401")
        #expect(try await c.call("GET", "/v1/status", role: .trader).status == 200, "another token keeps its own")
        let metrics = try await c.call("GET", "/metrics", role: .admin)
        #expect(metrics.body.contains(#"omni_control_rate_limited_total{token="viewer"} 2"#), "\(metrics.body.suffix(800))")
        await c.close()
    }

    @Test func theBucketRefillsAtItsRateUpToItsBurst() {
        let budget = RequestBudget(RunConfig.RequestRate(perSecond: 2, burst: 3))
        let t0: UInt64 = 1_000_000_000
        #expect((0..<3).map { _ in budget.take("alice", nowNs: t0) } == [nil, nil, nil], "full at first: the burst")
        #expect(budget.take("alice", nowNs: t0) == 1, "empty: one back in 0.5 s, Retry-After in whole seconds")
        #expect(budget.take("bob", nowNs: t0) == nil, "a bucket per token name")
        #expect(budget.take("alice", nowNs: t0 + 500_000_000) == nil, "one back after 0.5 s")
        #expect(budget.take("alice", nowNs: t0 + 600_000_000) != nil)
        #expect((0..<3).map { _ in budget.take("alice", nowNs: t0 + 60_000_000_000) } == [nil, nil, nil], "a minute later: the burst, no more")
        #expect(budget.take("alice", nowNs: t0 + 60_000_000_000) != nil)
        #expect(budget.refusals == ["alice": 3])
    }
}

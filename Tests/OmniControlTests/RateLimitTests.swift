import OmniControl
import OmniTrading
import Testing

/// Rate limits per token: a token bucket per token name; past it, 429 with Retry-After, counted
/// in /metrics; other tokens keep theirs; the bucket refills.
@Suite(.serialized) struct RateLimitTests {
    @Test func aTokenPastItsRateGets429WithRetryAfterAndOthersKeepTheirs() async throws {
        let c = try ControlledLoop(requestRate: RunConfig.RequestRate(perSecond: 2, burst: 3))
        try await c.serve()
        for i in 0..<3 { #expect(try await c.call("GET", "/v1/status", role: .viewer).status == 200, "request \(i + 1) of the burst") }
        let refused = try await c.call("GET", "/v1/status", role: .viewer)
        #expect(refused.status == 429 && refused.headers["retry-after"] == "1", "\(refused)")
        #expect(refused.body.contains("viewer: more than 2 requests a second (burst 3)"), "\(refused)")
        #expect(try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 900}"#, role: .viewer).status == 429,
                "a change too, before its role is looked at")
        #expect(try await c.call("GET", "/v1/status", role: nil).status == 401, "no token: no bucket, 401")
        #expect(try await c.call("GET", "/v1/status", role: .trader).status == 200, "another token keeps its own")
        try await Task.sleep(nanoseconds: 600_000_000) // one request back (2 a second)
        #expect(try await c.call("GET", "/v1/status", role: .viewer).status == 200)
        let metrics = try await c.call("GET", "/metrics", role: .admin)
        #expect(metrics.body.contains(#"omni_control_rate_limited_total{token="viewer"} 2"#), "\(metrics.body.suffix(800))")
        await c.close()
    }
}

import Foundation
import OmniControl
import Testing

/// Every endpoint of the API: 401 without a token (and with a wrong one), 403 for a role that may
/// not, and no 401 / 403 for a role that may; the rule of limits: a trader lowers, only a risk
/// officer raises.
@Suite(.serialized) struct RolesTests {
    struct Endpoint {
        let method: String, path: String, body: String?
        let allowed: Set<ControlRole>
    }

    static let everyone: Set<ControlRole> = [.viewer, .trader, .riskOfficer, .admin]
    static let endpoints: [Endpoint] = [
        Endpoint(method: "GET", path: "/v1/status", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/strategies", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/instruments/AAPL/params", body: nil, allowed: everyone),
        Endpoint(method: "PUT", path: "/v1/instruments/AAPL/params", body: #"{"spread_ticks": 3}"#, allowed: [.trader, .admin]),
        Endpoint(method: "POST", path: "/v1/instruments/MSFT/quoting", body: #"{"quoting": true}"#, allowed: [.trader, .admin]),
        Endpoint(method: "GET", path: "/v1/risk/limits", body: nil, allowed: everyone),
        Endpoint(method: "PUT", path: "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 1000}"#, allowed: [.trader, .riskOfficer, .admin]),
        Endpoint(method: "GET", path: "/v1/positions", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/orders", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/fills", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/pnl", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/feed", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/latency", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/quotes", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/v1/alerts", body: nil, allowed: everyone),
        Endpoint(method: "GET", path: "/metrics", body: nil, allowed: everyone),
        Endpoint(method: "POST", path: "/v1/kill", body: nil, allowed: [.trader, .riskOfficer, .admin]),
        Endpoint(method: "POST", path: "/v1/kill/reset", body: nil, allowed: [.riskOfficer, .admin]),
    ]

    @Test func everyEndpointAnswers401WithoutATokenAnd403WithoutTheRole() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        #expect(try await c.call("GET", "/v1/health", role: nil).status == 200, "health needs no token")
        #expect(try await c.call("GET", "/openapi.json", role: nil).status == 200, "the API's document needs no token")
        let page = try await c.call("GET", "/", role: nil)
        #expect(page.status == 200 && page.body.contains("<title>OmniAlpha"), "the dashboard's page (no data in it) needs no token: \(page.status)")
        for e in Self.endpoints {
            let none = try await c.call(e.method, e.path, body: e.body, role: nil)
            #expect(none.status == 401 && none.body.contains("bearer token"), "\(e.method) \(e.path) without a token: \(none)")
            let wrong = try await c.call(e.method, e.path, body: e.body, role: nil, token: "not-a-token")
            #expect(wrong.status == 401, "\(e.method) \(e.path) with a wrong token: \(wrong)")
            for role in ControlRole.allCases {
                if e.path == "/v1/kill/reset" { _ = try await c.call("POST", "/v1/kill", role: .admin) } // each reset finds the switch on
                let r = try await c.call(e.method, e.path, body: e.body, role: role)
                if e.allowed.contains(role) {
                    #expect(r.status == 200, "\(e.method) \(e.path) as \(role): \(r)")
                } else {
                    #expect(r.status == 403 && r.body.contains("may not"), "\(e.method) \(e.path) as \(role): \(r)")
                }
            }
            if e.path == "/v1/kill" { _ = try await c.call("POST", "/v1/kill/reset", role: .riskOfficer) }
        }
        await c.close()
    }

    @Test func aTraderLowersALimitOnlyARiskOfficerRaisesOne() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        let lower = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 800, "max_position": 900}"#, role: .trader)
        #expect(lower.status == 200 && lower.body.contains(#""max_order_qty":800"#), "\(lower)")
        let raise = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_position": 901}"#, role: .trader)
        #expect(raise.status == 403 && raise.body.contains("only a risk officer raises"), "\(raise)")
        let traderWithExpiry = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_position": 901, "expires_in_s": 60}"#, role: .trader)
        #expect(traderWithExpiry.status == 403, "an expiry does not make a trader's raise allowed: \(traderWithExpiry)")
        let officer = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 2000, "max_position": 1500, "expires_in_s": 3600}"#,
                                       role: .riskOfficer)
        #expect(officer.status == 200 && officer.body.contains(#""max_order_qty":2000"#) && officer.body.contains(#""max_position":1500"#), "\(officer)")
        // Versioned: a change made against an older version is refused.
        let stale = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 10, "config_version": 1}"#, role: .admin)
        #expect(stale.status == 409, "\(stale)")
        await c.close()
        #expect(c.loop.risk.limits(instrument: 1)?.maxOrderQuantity == 2_000 && c.loop.risk.limits(instrument: 1)?.maxLong == 1_500)
    }

    @Test func badInputIsA400NamingIt() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        let cases: [(String, String, String?, String)] = [
            ("PUT", "/v1/instruments/AAPL/params", #"{"size": -5}"#, "size: -5 is out of range"),
            ("PUT", "/v1/instruments/AAPL/params", #"{"size": 5"#, "not valid JSON"),
            ("PUT", "/v1/instruments/AAPL/params", #"[1, 2]"#, "must be a JSON object"),
            ("PUT", "/v1/instruments/AAPL/params", #"{"spread": 3}"#, "unknown field 'spread'"),
            ("PUT", "/v1/instruments/AAPL/params", #"{"size": "big"}"#, "size: expected an integer"),
            ("PUT", "/v1/instruments/AAPL/params", #"{}"#, "no parameter given"),
            ("GET", "/v1/instruments/ZZZZ/params", nil, "unknown symbol 'ZZZZ'"),
            ("POST", "/v1/instruments/AAPL/quoting", #"{"quoting": "maybe"}"#, "quoting: expected true or false"),
            ("PUT", "/v1/risk/limits", #"{"symbol": "IBM", "max_order_qty": 5}"#, "unknown symbol 'IBM'"),
            ("PUT", "/v1/risk/limits", #"{"symbol": "AAPL", "max_order_qty": 0}"#, "max_order_qty: expected an integer in 1..."),
        ]
        for (method, path, body, message) in cases {
            let r = try await c.call(method, path, body: body, role: .admin)
            #expect(r.status == 400 && r.body.contains(message), "\(method) \(path) \(body ?? ""): \(r)")
        }
        // What the loop's state refuses is a conflict (409), not bad input.
        let big = try await c.call("PUT", "/v1/instruments/AAPL/params", body: #"{"size": 5000}"#, role: .admin)
        #expect(big.status == 409 && big.body.contains("above the risk limit max_order_qty 1000"), "\(big)")
        let reset = try await c.call("POST", "/v1/kill/reset", role: .admin)
        #expect(reset.status == 409 && reset.body.contains("the kill switch is not on"), "\(reset)")
        let trace = try await c.call("DELETE", "/v1/kill", role: .admin)
        #expect(trace.status == 405 && trace.body.contains("it has POST"), "\(trace)")
        await c.close()
        #expect(c.port.version == 1, "nothing applied")
    }
}

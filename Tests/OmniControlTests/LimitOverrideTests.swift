import Foundation
@testable import OmniControl
import SharedTestData
import Testing

/// A raise carries an expiry (required, at most 8 h) and reverts by itself: through the command
/// ring, acknowledged, audited as "system"; a lowering needs none and takes none.
@Suite(.serialized) struct LimitOverrideTests {
    @Test func aRaiseMustExpireAndRevertsByItselfAuditedAsSystem() async throws {
        let store = try SQLiteControlStore(path: TestScratch.directory("limit-override") + "/control.sqlite")
        let c = try ControlledLoop(store: store)
        try await c.serve()
        let noExpiry = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_position": 1200}"#, role: .riskOfficer)
        #expect(noExpiry.status == 409 && noExpiry.body.contains("a raise must expire"), "\(noExpiry)")
        let tooLong = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_position": 1200, "expires_in_s": 28801}"#, role: .riskOfficer)
        #expect(tooLong.status == 400 && tooLong.body.contains("expires_in_s: expected an integer in 1...28800"), "\(tooLong)")
        let lowerWithExpiry = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "MSFT", "max_position": 900, "expires_in_s": 5}"#, role: .trader)
        #expect(lowerWithExpiry.status == 409 && lowerWithExpiry.body.contains("only a raise expires"), "\(lowerWithExpiry)")

        let raise = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 1500, "max_position": 1200, "expires_in_s": 3600}"#,
                                     role: .riskOfficer)
        #expect(raise.status == 200 && raise.body.contains(#""max_order_qty":1500"#) && raise.body.contains(#""reverts_to_max_order_qty":1000"#)
                && raise.body.contains(#""by":"risk_officer (risk_officer)""#), "\(raise)")
        // A lowering meanwhile (no expiry needed) is kept where it is below the value to revert to.
        let lower = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_position": 800}"#, role: .trader)
        #expect(lower.status == 200 && lower.body.contains("override"), "the override stands: \(lower)")
        await c.server.revertExpired(now: .max) // as if its hour had passed
        let after = try await c.call("GET", "/v1/risk/limits", role: .viewer)
        #expect(after.body.contains(#"{"max_order_qty":1000,"max_position":800,"symbol":"AAPL"}"#) && !after.body.contains("override"), "\(after)")
        // By itself: a one-second raise, reverted by the control plane's own reading (every 100 ms).
        let short = try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "MSFT", "max_order_qty": 1200, "expires_in_s": 1}"#, role: .riskOfficer)
        #expect(short.status == 200 && short.body.contains(#""max_order_qty":1200"#), "\(short)")
        try await c.wait("MSFT's override reverted", seconds: 30) { c.port.snapshot.read().instruments[1].limits?.maxOrderQuantity == 1_000 }
        var reverts: [AuditEntry] = []
        let end = Date().addingTimeInterval(30)
        while reverts.count < 2 && Date() < end { // the revert's audit row follows the loop's acknowledgement
            try await Task.sleep(nanoseconds: 10_000_000)
            reverts = try await store.audit(after: 0, limit: 100).map(\.entry).filter { $0.who == "system" }
        }
        await c.close()

        let rows = try await store.audit(after: 0, limit: 100).map(\.entry)
        let raised = try #require(rows.first { $0.who == "risk_officer" && $0.outcome.hasPrefix("200") })
        #expect(raised.after.contains(#""max_order_qty":1500"#), "\(raised)")
        #expect(reverts.count == 2 && reverts.allSatisfy { $0.role == "system" && $0.action == "revert limit override" && $0.endpoint == "(override expired)" },
                "\(reverts)")
        #expect(reverts.first?.outcome.contains("the override by risk_officer (risk_officer) expired: AAPL max_order_qty 1000, max_position 800 applied at version") == true,
                "\(reverts.first?.outcome ?? "")")
        #expect(reverts.first?.before.contains(#""max_order_qty":1500"#) == true && reverts.first?.after.contains(#""max_order_qty":1000"#) == true, "\(reverts)")
        #expect(reverts.last?.outcome.contains("MSFT max_order_qty 1000, max_position 1000 applied at version") == true, "\(reverts.last?.outcome ?? "")")
        #expect(try await store.verifyAudit().intact)
    }
}

import Foundation
import GRDB
import OmniControl
import OmniTrading
import OmniVenue
import SharedTestData
import Testing

/// The control plane's store: migrations from an empty file, the audit chain (verified, a changed
/// or deleted row found), an audit row for every mutating request, order events and daily PnL,
/// and a restart on the same store resuming the last configuration through the command ring.
@Suite(.serialized) struct ControlStoreTests {
    func newStore(_ name: String) throws -> (SQLiteControlStore, String) {
        let path = TestScratch.directory(name) + "/control.sqlite"
        return (try SQLiteControlStore(path: path), path)
    }

    func entry(_ i: Int) -> AuditEntry {
        AuditEntry(at: Date(timeIntervalSince1970: 1_780_000_000 + Double(i)), who: "alice", role: "trader", action: "trade",
                   endpoint: "PUT /v1/instruments/AAPL/params", before: #"{"spread_ticks":\#(i)}"#, after: #"{"spread_ticks":\#(i + 1)}"#,
                   outcome: "200 applied at version \(i + 1)")
    }

    @Test func migrationsRunFromAnEmptyFileAndOnceOnly() async throws {
        let (store, path) = try newStore("store-migrations")
        #expect(try await store.migrations() == SQLiteControlStore.migrationNames)
        #expect(!SQLiteControlStore.migrationNames.isEmpty)
        let tables = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
        }
        #expect(tables == ["audit", "config_version", "daily_pnl", "kill_switch_event", "limit_override", "order_event"])
        try await store.appendAudit(entry(1))
        // Opened again: nothing migrated twice, nothing lost.
        let again = try SQLiteControlStore(path: path)
        #expect(try await again.migrations() == SQLiteControlStore.migrationNames)
        #expect(try await again.audit(after: 0, limit: 10).count == 1)
        #expect(try await again.lastConfig() == nil)
    }

    @Test func theAuditChainVerifiesAndATamperedRowIsFound() async throws {
        let (store, path) = try newStore("store-audit")
        var records: [AuditRecord] = []
        for i in 1...5 { records.append(try await store.appendAudit(entry(i))) }
        #expect(records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(records[0].hash == AuditRecord.chainHash(previous: AuditRecord.genesis, seq: 1, entry(1)))
        #expect(records[1].hash == AuditRecord.chainHash(previous: records[0].hash, seq: 2, entry(2)))
        #expect(try await store.audit(after: 0, limit: 10) == records, "read back as written")
        let intact = try await store.verifyAudit()
        #expect(intact.intact && intact.rows == 5, "\(intact)")

        // The table refuses a change and a deletion.
        let db = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try db.write { try $0.execute(sql: "UPDATE audit SET after = '{}' WHERE seq = 3") } }
        #expect(throws: (any Error).self) { try db.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 5") } }
        // Behind the triggers' back: row 3's "after" edited.
        try await db.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update")
            try db.execute(sql: #"UPDATE audit SET after = '{"spread_ticks":99}' WHERE seq = 3"#)
        }
        let edited = try await store.verifyAudit()
        #expect(edited.firstBroken == 3 && edited.problem?.contains("row 3") == true, "\(edited)")
        // Put back, the chain holds again; a deleted row is found at the row after it.
        try await db.write { try $0.execute(sql: #"UPDATE audit SET after = '{"spread_ticks":4}' WHERE seq = 3"#) }
        #expect(try await store.verifyAudit().intact)
        try await db.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_delete")
            try db.execute(sql: "DELETE FROM audit WHERE seq = 2")
        }
        let deleted = try await store.verifyAudit()
        #expect(deleted.firstBroken == 3 && deleted.problem?.contains("missing") == true, "\(deleted)")
        // A row rewritten with a fresh hash of its own is still found: its successor's hash no longer follows.
        let (other, otherPath) = try newStore("store-audit-rehash")
        for i in 1...3 { try await other.appendAudit(entry(i)) }
        let forged = { var e = entry(2); e.after = #"{"spread_ticks":50}"#; return e }()
        let forgedHash = AuditRecord.chainHash(previous: try await other.audit(after: 0, limit: 1)[0].hash, seq: 2, forged)
        try await DatabaseQueue(path: otherPath).write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update")
            try db.execute(sql: "UPDATE audit SET after = ?, hash = ? WHERE seq = 2", arguments: [forged.after, forgedHash])
        }
        #expect(try await other.verifyAudit().firstBroken == 3)
    }

    @Test func everyMutatingRequestWritesItsAuditRowAndAppliedChangesAConfigVersion() async throws {
        let (store, _) = try newStore("store-requests")
        let c = try ControlledLoop(store: store)
        try await c.serve()
        try await c.wait("the resume at start") { c.server.resumed.withLock { $0 } != nil }
        let requests: [(String, String, String?, ControlRole, Int)] = [
            ("PUT", "/v1/instruments/AAPL/params", #"{"spread_ticks": 4}"#, .trader, 200),
            ("PUT", "/v1/instruments/AAPL/params", #"{"spread_ticks": 5}"#, .viewer, 403),
            ("POST", "/v1/instruments/MSFT/quoting", #"{"quoting": false}"#, .trader, 200),
            ("PUT", "/v1/risk/limits", #"{"symbol": "AAPL", "max_position": 5000}"#, .trader, 403),
            ("PUT", "/v1/risk/limits", #"{"symbol": "AAPL", "max_order_qty": 900}"#, .riskOfficer, 200),
            ("PUT", "/v1/instruments/AAPL/params", #"{"size": 0}"#, .trader, 400),
            ("POST", "/v1/kill", nil, .trader, 200),
            ("POST", "/v1/kill/reset", nil, .riskOfficer, 200),
        ]
        for (method, path, body, role, status) in requests {
            let r = try await c.call(method, path, body: body, role: role)
            #expect(r.status == status, "\(method) \(path) as \(role): \(r)")
        }
        _ = try await c.call("PUT", "/v1/instruments/AAPL/params", body: #"{"size": 1}"#, role: nil) // 401: no one to name, not audited
        _ = try await c.call("GET", "/v1/status", role: .viewer) // a read: not audited
        await c.close()

        let rows = try await store.audit(after: 0, limit: 100)
        #expect(rows.count == 1 + requests.count, "the resume's row and one per request: \(rows.map(\.entry.endpoint))")
        #expect(rows.first?.entry.who == "omni run" && rows.first?.entry.action == "resume configuration")
        for (row, (method, path, _, role, status)) in zip(rows.dropFirst(), requests) {
            #expect(row.entry.endpoint == "\(method) \(path)" && row.entry.who == role.rawValue && row.entry.role == role.rawValue, "\(row)")
            #expect(row.entry.outcome.hasPrefix("\(status)"), "\(row.entry.outcome)")
        }
        let spread = rows[1].entry
        #expect(spread.before.contains(#""spread_ticks":2"#) && spread.after.contains(#""spread_ticks":4"#) && spread.outcome == "200 applied at version 2",
                "\(spread)")
        #expect(rows[2].entry.outcome.contains("may not") && rows[2].entry.before == rows[2].entry.after, "\(rows[2].entry)")
        #expect(rows[4].entry.outcome.contains("only a risk officer raises"), "\(rows[4].entry)")
        #expect(rows[7].entry.after.contains(#""killed":true"#) && rows[8].entry.after.contains(#""killed":false"#))
        #expect(try await store.verifyAudit().intact)

        // The last configuration: version 6 (spread, quoting, limits, kill, reset after the run's 1).
        let last = try #require(try await store.lastConfig())
        #expect(last.loopVersion == 6 && last.who == "risk_officer (risk_officer)", "\(last)")
        let aapl = last.instruments.first { $0.symbol == "AAPL" }, msft = last.instruments.first { $0.symbol == "MSFT" }
        #expect(aapl?.spreadTicks == 4 && aapl?.maxOrderQty == 900 && msft?.quoting == false, "\(last.instruments)")
    }

    @Test func aRestartWithTheSameStoreResumesTheLastConfiguration() async throws {
        let (store, path) = try newStore("store-resume")
        let first = try ControlledLoop(store: store)
        try await first.serve()
        try await first.wait("the resume at start") { first.server.resumed.withLock { $0 } != nil }
        #expect(first.server.resumed.withLock { $0 }?.contains("nothing to resume") == true)
        for (method, path, body, role) in [
            ("PUT", "/v1/instruments/AAPL/params", #"{"spread_ticks": 6, "size": 300, "skew_shares": 250}"#, ControlRole.trader),
            ("PUT", "/v1/risk/limits", #"{"symbol": "AAPL", "max_order_qty": 700, "max_position": 800}"#, .trader),
            ("PUT", "/v1/instruments/MSFT/params", #"{"max_position": 200}"#, .trader),
            ("POST", "/v1/instruments/MSFT/quoting", #"{"quoting": false}"#, .trader),
        ] {
            let r = try await first.call(method, path, body: body, role: role)
            #expect(r.status == 200, "\(method) \(path): \(r)")
        }
        await first.close()

        // A new run (a new loop at its own configuration, version 1) on the same file.
        let second = try ControlledLoop(store: try SQLiteControlStore(path: path))
        try await second.serve()
        try await second.wait("the resume at start") { second.server.resumed.withLock { $0 } != nil }
        let note = second.server.resumed.withLock { $0 } ?? ""
        #expect(note.contains("resumed") && !note.contains("NOT"), "\(note)")
        try await second.wait("MSFT's orders canceled") { second.port.snapshot.read().summary.openOrders == 2 }
        await second.close()
        // What the loop itself holds now: applied through the command ring.
        let aapl = try #require(second.loop.strategy.parameters(locate: 1)), msft = try #require(second.loop.strategy.parameters(locate: 2))
        #expect(aapl.spreadTicks == 6 && aapl.size == 300 && aapl.skewShares == 250, "\(aapl)")
        #expect(second.loop.risk.limits(instrument: 1)?.maxOrderQuantity == 700 && second.loop.risk.limits(instrument: 1)?.maxLong == 800)
        #expect(msft.maxPosition == 200 && second.loop.maxPosition(locate: 2) == 200 && !second.loop.isQuoting(2) && second.loop.isQuoting(1))
        #expect(second.port.version == 1 + 6, "limits, three AAPL parameters, MSFT's max_position and quoting: six commands")
        // The resume is itself recorded: a configuration version and an audit row.
        let last = try #require(try await store.lastConfig())
        #expect(last.who == "omni run (resume)" && last.loopVersion == 7 && last.run == second.server.run, "\(last)")
        let rows = try await store.audit(after: 0, limit: 100)
        #expect(rows.last?.entry.action == "resume configuration" && rows.last?.entry.outcome.contains("AAPL spread_ticks=6") == true, "\(rows.last?.entry.outcome ?? "")")
        #expect(try await store.verifyAudit().intact)
    }

    /// stop() is the service group's graceful shutdown: the HTTP server stops, then the watcher, then
    /// the record keeper writes the fills it has not written and takes its last reading of the PnL, after the last request.
    @Test func stopWritesTheLastReadingOfFillsAndPnLAfterTheServerHasStopped() async throws {
        let (store, _) = try newStore("store-stop")
        let c = try ControlledLoop(store: store, recordEveryNs: 3_600_000_000_000) // no reading but the last
        try await c.serve()
        try await c.wait("the resume at start") { c.server.resumed.withLock { $0 } != nil }
        try await c.wait("our quotes") { c.port.snapshot.read().summary.openOrders == 4 }
        // Another session sells 100 into our AAPL bid (two ticks under the mid).
        c.pause()
        let aapl = ControlledLoop.specs[0]
        _ = c.entry.venue.submit(session: 2, order: NewOrder(locate: aapl.locate, side: .ask, kind: .immediateOrCancel, price: aapl.referencePrice - 200, quantity: 100))
        c.resume()
        try await c.wait("the fill in the snapshot") { c.port.snapshot.read().instruments[0].fills == 1 }
        let lastRequest = Date()
        #expect(try await c.call("GET", "/v1/status", role: .viewer).status == 200)
        #expect(try await store.orderEvents(run: c.server.run, event: "fill").isEmpty, "nothing written yet: the keeper writes once an hour")
        await c.close()

        let fills = try await store.orderEvents(run: c.server.run, event: "fill")
        #expect(fills.count == 1 && fills.first?.symbol == "AAPL" && fills.first?.side == "buy" && fills.first?.shares == 100, "\(fills)")
        let pnl = try await store.dailyPnL(day: DailyPnL.day(Date())).filter { $0.run == c.server.run }
        #expect(pnl.map(\.symbol).sorted() == ["AAPL", "MSFT"] && pnl.first { $0.symbol == "AAPL" }?.fills == 1, "\(pnl)")
        // Stored to the millisecond: the PnL taken after the last request.
        #expect(pnl.allSatisfy { $0.at >= lastRequest.addingTimeInterval(-0.001) })
        // The server answers no more.
        await #expect(throws: (any Error).self) { try await c.call("GET", "/v1/health", role: nil) }
    }

    @Test func orderEventsAndTheDaysPnLRoundTrip() async throws {
        let (store, _) = try newStore("store-orders")
        let t0 = Date(timeIntervalSince1970: 1_780_000_000)
        let rows = [
            OrderEventRecord(run: "test run", at: t0, symbol: "AAPL", event: "new", clientOrderID: 7, side: "buy", price: 1_999_900, shares: 100),
            OrderEventRecord(run: "test run", at: t0, symbol: "AAPL", event: "accepted", clientOrderID: 7, side: "buy", price: 1_999_900, shares: 100,
                             venueNs: 34_200_000_000_001),
            // The largest ids and match numbers survive the database's signed integers.
            OrderEventRecord(run: "test run", at: t0.addingTimeInterval(1), symbol: "AAPL", event: "fill", clientOrderID: UInt64.max, side: "buy",
                             price: 1_999_900, shares: 40, leaves: 60, matchNumber: UInt64.max - 1, liquidity: "added", venueNs: 34_200_000_000_002),
            OrderEventRecord(run: "other run", at: t0, symbol: "MSFT", event: "rejected", clientOrderID: 8, side: "sell", price: 1, shares: 1, reason: 0x2003),
        ]
        try await store.recordOrderEvents(rows)
        #expect(try await store.orderEvents(run: "test run", event: nil) == Array(rows.prefix(3)))
        #expect(try await store.orderEvents(run: "test run", event: "fill") == [rows[2]])
        #expect(try await store.orderEvents(run: "other run", event: nil) == [rows[3]])

        var s = LoopSnapshot(summary: LoopSummary(), instruments: [InstrumentSummary(), InstrumentSummary()], refusals: [])
        #expect(DailyPnL.rows(s, symbols: ["AAPL", "MSFT"], run: "test run", at: t0).isEmpty, "nothing before the loop's first snapshot")
        s.summary.publishedNs = 1
        s.instruments[0].fills = 3; s.instruments[0].position = 100; s.instruments[0].realised = 25_000; s.instruments[0].unrealised = -5_000
        s.instruments[0].fees = 1_000
        try await store.recordDailyPnL(DailyPnL.rows(s, symbols: ["AAPL", "MSFT"], run: "test run", at: t0))
        s.instruments[0].fills = 4; s.instruments[0].position = 0
        try await store.recordDailyPnL(DailyPnL.rows(s, symbols: ["AAPL", "MSFT"], run: "test run", at: t0.addingTimeInterval(1)))
        let day = try await store.dailyPnL(day: DailyPnL.day(t0))
        #expect(day.count == 2, "one row per instrument, replaced by each reading")
        let aapl = day.first { $0.symbol == "AAPL" }
        #expect(aapl?.fills == 4 && aapl?.realised == 25_000 && aapl?.net == 19_000 && aapl?.position == 0, "\(String(describing: aapl))")
    }
}

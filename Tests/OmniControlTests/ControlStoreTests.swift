import Foundation
import GRDB
import OmniControl
import OmniTrading
import OmniVenue
import SharedTestData
import Testing

/// The kinds of store every store test runs on: SQLite always; PostgreSQL where its server
/// binaries are installed (a throwaway cluster of the test process's own, `PostgresCluster`);
/// where they are not, the PostgreSQL-only tests below show as skipped, naming what is missing.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    static let available: [StoreKind] = PostgresCluster.present ? [.sqlite, .postgres] : [.sqlite]
    var testDescription: String { rawValue }
}

/// A store under test, and a way around it to the database itself: its tables, a statement run as
/// the database's owner (which the audit's triggers may refuse), and one run with the triggers out
/// of the way (SQLite: dropped; PostgreSQL: a superuser's session_replication_role = replica).
struct StoreUnderTest: Sendable {
    let kind: StoreKind
    let store: any ControlStore
    /// The same store opened again (a second host, or a restart).
    let reopen: @Sendable () async throws -> any ControlStore
    let tables: @Sendable () async throws -> [String]
    let execute: @Sendable (String) async throws -> Void
    let tamper: @Sendable (String) async throws -> Void

    static func make(_ kind: StoreKind, _ name: String) async throws -> StoreUnderTest {
        switch kind {
        case .sqlite:
            let path = TestScratch.directory(name) + "/control.sqlite"
            let store = try SQLiteControlStore(path: path)
            return StoreUnderTest(
                kind: kind, store: store, reopen: { try SQLiteControlStore(path: path) },
                tables: {
                    try await DatabaseQueue(path: path).read { db in
                        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
                    }
                },
                execute: { sql in try await DatabaseQueue(path: path).write { try $0.execute(sql: sql) } },
                tamper: { sql in
                    try await DatabaseQueue(path: path).write { db in
                        try db.execute(sql: "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete")
                        try db.execute(sql: sql)
                    }
                })
        case .postgres:
            let cluster = try PostgresCluster.shared()
            let db = "t_" + name.replacingOccurrences(of: "-", with: "_") + "_\(UInt32.random(in: 0...UInt32.max))"
            try cluster.createDatabase(db)
            let url = cluster.url(db)
            guard let store = try await ControlStoreAddress.open(url) else { throw ControlStoreError("\(url) opened no store") }
            return StoreUnderTest(
                kind: kind, store: store, reopen: { try await ControlStoreAddress.open(url)! },
                tables: {
                    try cluster.sql(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'control_migration' ORDER BY tablename")
                        .split(separator: "\n").map(String.init)
                },
                execute: { sql in try cluster.sql(db, sql) },
                tamper: { sql in try cluster.sql(db, "SET session_replication_role = replica; " + sql) })
        }
    }
}

/// The control plane's store: migrations from an empty database, the audit chain (verified, a
/// changed or deleted row found), an audit row for every mutating request, order events and
/// daily PnL, and a restart on the same store resuming the last configuration through the command
/// ring: each on SQLite and on PostgreSQL.
@Suite(.serialized) struct ControlStoreTests {
    func entry(_ i: Int) -> AuditEntry {
        AuditEntry(at: Date(timeIntervalSince1970: 1_780_000_000 + Double(i)), who: "alice", role: "trader", action: "trade",
                   endpoint: "PUT /v1/instruments/AAPL/params", before: #"{"spread_ticks":\#(i)}"#, after: #"{"spread_ticks":\#(i + 1)}"#,
                   outcome: "200 applied at version \(i + 1)")
    }

    static var migrationNames: [StoreKind: [String]] { [.sqlite: SQLiteControlStore.migrationNames, .postgres: PostgresControlStore.migrationNames] }

    @Test(arguments: StoreKind.available) func migrationsRunFromAnEmptyDatabaseAndOnceOnly(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind, "store-migrations")
        let names = try #require(Self.migrationNames[kind])
        #expect(try await t.store.migrations() == names)
        #expect(!names.isEmpty)
        #expect(PostgresControlStore.migrationNames == SQLiteControlStore.migrationNames, "one schema's versions, one name each")
        #expect(try await t.tables() == ["audit", "config_version", "daily_pnl", "kill_switch_event", "limit_override", "order_event"])
        try await t.store.appendAudit(entry(1))
        // Opened again: nothing migrated twice, nothing lost.
        let again = try await t.reopen()
        #expect(try await again.migrations() == names)
        #expect(try await again.audit(after: 0, limit: 10).count == 1)
        #expect(try await again.lastConfig() == nil)
    }

    @Test(arguments: StoreKind.available) func theAuditChainVerifiesAndATamperedRowIsFound(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind, "store-audit")
        let store = t.store
        var records: [AuditRecord] = []
        for i in 1...5 { records.append(try await store.appendAudit(entry(i))) }
        #expect(records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(records[0].hash == AuditRecord.chainHash(previous: AuditRecord.genesis, seq: 1, entry(1)))
        #expect(records[1].hash == AuditRecord.chainHash(previous: records[0].hash, seq: 2, entry(2)))
        #expect(try await store.audit(after: 0, limit: 10) == records, "read back as written")
        #expect(try await store.audit(after: 3, limit: 1).map(\.seq) == [4])
        let intact = try await store.verifyAudit()
        #expect(intact.intact && intact.rows == 5, "\(intact)")

        // The table refuses a change and a deletion, even from the database's owner.
        for refused in ["UPDATE audit SET after = '{}' WHERE seq = 3", "DELETE FROM audit WHERE seq = 5"] {
            await #expect(throws: (any Error).self, "\(refused)") { try await t.execute(refused) }
        }
        if kind == .postgres {
            await #expect(throws: (any Error).self) { try await t.execute("TRUNCATE audit") }
            do { try await t.execute("UPDATE audit SET after = '{}' WHERE seq = 3") } catch {
                #expect("\(error)".contains("the audit is append-only"), "the trigger's words: \(error)")
            }
        }
        #expect(try await store.verifyAudit().intact)
        // Behind the triggers' back: row 3's "after" edited.
        try await t.tamper(#"UPDATE audit SET after = '{"spread_ticks":99}' WHERE seq = 3"#)
        let edited = try await store.verifyAudit()
        #expect(edited.firstBroken == 3 && edited.problem?.contains("row 3") == true, "\(edited)")
        // Put back, the chain holds again; a deleted row is found at the row after it.
        try await t.tamper(#"UPDATE audit SET after = '{"spread_ticks":4}' WHERE seq = 3"#)
        #expect(try await store.verifyAudit().intact)
        try await t.tamper("DELETE FROM audit WHERE seq = 2")
        let deleted = try await store.verifyAudit()
        #expect(deleted.firstBroken == 3 && deleted.problem?.contains("missing") == true, "\(deleted)")
        // A row rewritten with a fresh hash of its own is still found: its successor's hash no longer follows.
        let o = try await StoreUnderTest.make(kind, "store-audit-rehash")
        for i in 1...3 { try await o.store.appendAudit(entry(i)) }
        let forged = { var e = entry(2); e.after = #"{"spread_ticks":50}"#; return e }()
        let forgedHash = AuditRecord.chainHash(previous: try await o.store.audit(after: 0, limit: 1)[0].hash, seq: 2, forged)
        try await o.tamper("UPDATE audit SET after = '\(forged.after)', hash = '\(forgedHash)' WHERE seq = 2")
        #expect(try await o.store.verifyAudit().firstBroken == 3)
    }

    @Test(arguments: StoreKind.available) func everyMutatingRequestWritesItsAuditRowAndAppliedChangesAConfigVersion(_ kind: StoreKind) async throws {
        let store = try await StoreUnderTest.make(kind, "store-requests").store
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

    @Test(arguments: StoreKind.available) func aRestartWithTheSameStoreResumesTheLastConfiguration(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind, "store-resume")
        let store = t.store
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

        // A new run (a new loop at its own configuration, version 1) on the same store.
        let second = try ControlledLoop(store: try await t.reopen())
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
        let store = try await StoreUnderTest.make(.sqlite, "store-stop").store
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

    @Test(arguments: StoreKind.available) func orderEventsDailyPnLAndConfigsRoundTripExactly(_ kind: StoreKind) async throws {
        let store = try await StoreUnderTest.make(kind, "store-roundtrip").store
        // Times at the stores' resolution (ms), made as they read them back, so they compare equal.
        func at(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1_000) }
        let t0 = at(1_780_000_000_123)
        // 2,500 rows in one call: more than one INSERT's worth on PostgreSQL (1,000 rows each), one transaction;
        // the largest ids and match numbers survive the databases' signed integers.
        let kinds = ["new", "accepted", "cancel", "canceled", "replace", "replaced", "rejected", "cancel rejected", "fill"]
        var events: [OrderEventRecord] = []
        for i in 0..<2_500 {
            let kind = kinds[i % kinds.count]
            events.append(OrderEventRecord(run: "rt", at: at(1_780_000_000_123 + Int64(i)), symbol: i % 3 == 0 ? "AAPL" : "MSFT", event: kind,
                                           clientOrderID: i == 7 ? UInt64.max : UInt64(i) << 24, side: i % 2 == 0 ? "buy" : "sell",
                                           price: 1_999_900 + UInt32(i % 50), shares: UInt32(i % 9 * 100), leaves: kind == "fill" ? UInt32(i % 3 * 100) : 0,
                                           reason: kind == "rejected" ? 0x2003 : 0, matchNumber: kind == "fill" ? (i == 8 ? UInt64.max - 1 : UInt64(i)) : 0,
                                           liquidity: kind == "fill" ? "added" : "", venueNs: kind == "new" ? 0 : 34_200_000_000_000 + UInt64(i)))
        }
        try await store.recordOrderEvents(events)
        try await store.recordOrderEvents([])
        let back = try await store.orderEvents(run: "rt", event: nil)
        let firstDifference: String = zip(back, events).first { (b: OrderEventRecord, e: OrderEventRecord) in b != e }.map { "\($0.0) vs \($0.1)" } ?? "none"
        #expect(back.count == events.count && back == events, "first difference: \(firstDifference)")
        #expect(try await store.orderEvents(run: "rt", event: "fill") == events.filter { $0.event == "fill" })
        #expect(try await store.orderEvents(run: "another run", event: nil).isEmpty)
        let day = DailyPnL.day(t0)
        let rows = [DailyPnL(day: day, run: "rt", symbol: "AAPL", realised: 10, unrealised: -20, fees: 3, position: 100, fills: 7, at: t0),
                    DailyPnL(day: day, run: "rt", symbol: "MSFT", realised: -Int64(1) << 40, unrealised: 0, fees: 0, position: -300, fills: 1, at: t0)]
        try await store.recordDailyPnL(rows)
        #expect(try await store.dailyPnL(day: day) == rows)
        var later = rows[0]
        later.realised = 50; later.fills = 9; later.at = at(1_780_000_060_123)
        try await store.recordDailyPnL([later])
        #expect(try await store.dailyPnL(day: day) == [later, rows[1]], "one row per day, run and instrument: replaced")
        #expect(try await store.dailyPnL(day: "1999-01-01").isEmpty)
        // Configuration versions: ids in order, the last one returned whole.
        let config = AppliedConfig(run: "rt", loopVersion: 3, at: t0, who: "omni run", instruments: [
            InstrumentConfig(symbol: "AAPL", quoting: true, spreadTicks: 2, size: 100, skewShares: 50, maxPosition: 1_000, maxOrderQty: 500, limitPosition: 2_000),
            InstrumentConfig(symbol: "MSFT", quoting: false, maxPosition: 0),
        ])
        let first = try await store.recordConfig(config)
        var next = config
        next.loopVersion = 4
        let second = try await store.recordConfig(next)
        #expect(second.id > first.id)
        #expect(try await store.lastConfig() == second)
    }

    @Test(.enabled(if: PostgresCluster.present, PostgresCluster.absent))
    func twoHostsAppendingAtOnceKeepOneChain() async throws {
        let t = try await StoreUnderTest.make(.postgres, "store-two-hosts")
        // Two hosts: two stores (two connections) on one database, opened at once (migrations run once).
        async let a = t.reopen(), b = t.reopen()
        let hosts = [try await a, try await b, t.store]
        #expect(try await hosts[0].migrations() == PostgresControlStore.migrationNames)
        let perHost = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (h, store) in hosts.enumerated() {
                group.addTask {
                    for i in 0..<perHost {
                        try await store.appendAudit(AuditEntry(at: Date(), who: "host \(h)", role: "trader", action: "trade", endpoint: "PUT /v1/x",
                                                               before: "{}", after: #"{"i":\#(i)}"#, outcome: "200"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let rows = try await t.store.audit(after: 0, limit: 1_000)
        #expect(rows.map(\.seq) == Array(1...Int64(hosts.count * perHost)), "one sequence, no gap and no duplicate")
        for h in hosts.indices { #expect(rows.filter { $0.entry.who == "host \(h)" }.count == perHost) }
        let check = try await t.store.verifyAudit()
        #expect(check.intact && check.rows == hosts.count * perHost, "\(check)")
    }

    @Test(.enabled(if: PostgresCluster.present, PostgresCluster.absent))
    func aPostgresStoreNamesItsServerNeverItsPasswordAndSaysWhyItFailed() async throws {
        let cluster = try PostgresCluster.shared()
        let t = try await StoreUnderTest.make(.postgres, "store-location")
        #expect(t.store.location.hasPrefix("postgres 127.0.0.1:\(cluster.port)/t_store_location_") && !t.store.location.contains(PostgresCluster.password),
                "\(t.store.location)")
        // Nothing listening: the server named, and the connection's error.
        let nowhere = "postgres://omni:secret@127.0.0.1:1/omni"
        do { _ = try await ControlStoreAddress.open(nowhere); Issue.record("opened \(nowhere)") } catch {
            #expect("\(error)".contains("127.0.0.1:1/omni") && !"\(error)".contains("secret"), "\(error)")
        }
        // A wrong password and a database that is not there: the server's own words.
        do { _ = try await ControlStoreAddress.open("postgres://omni:wrong@127.0.0.1:\(cluster.port)/postgres"); Issue.record("opened with a wrong password") } catch {
            #expect("\(error)".contains("password authentication failed") && !"\(error)".contains("wrong"), "\(error)")
        }
        do { _ = try await ControlStoreAddress.open(cluster.url("no_such_db")); Issue.record("opened a database that is not there") } catch {
            #expect("\(error)".contains("no_such_db") && "\(error)".contains("does not exist"), "\(error)")
        }
    }

    @Test func theStoreAddressIsAFileAPostgresURLOrOff() throws {
        #expect(try ControlStoreAddress.parse("off") == nil)
        #expect(try ControlStoreAddress.parse("/var/lib/omni/control.sqlite") == .sqlite(path: "/var/lib/omni/control.sqlite"))
        #expect(try ControlStoreAddress.parse("control.sqlite") == .sqlite(path: "control.sqlite"))
        let full = try ControlStoreAddress.parse("postgres://omni:p%40ss@db.example:6543/fleet")
        #expect(full == .postgres(PostgresAddress(user: "omni", password: "p@ss", host: "db.example", port: 6543, database: "fleet")))
        #expect(try ControlStoreAddress.parse("postgresql://omni@10.0.0.5/omni") == .postgres(PostgresAddress(user: "omni", password: nil, host: "10.0.0.5",
                                                                                                            port: 5432, database: "omni")))
        #expect(PostgresAddress(user: "u", password: "pw", host: "127.0.0.1", port: 5432, database: "omni").description == "postgres 127.0.0.1:5432/omni")
        for bad in ["postgres://db.example/omni", "postgres://omni:pw@/omni", "postgres://omni:pw@db.example:5432", "postgres://omni:pw@db.example/",
                    "postgres://omni:pw@db.example/omni?sslmode=require", "postgres://omni:pw@db.example:99999/omni", "postgres:omni", ""] {
            #expect(throws: ControlStoreAddressError.self, "\(bad)") { try ControlStoreAddress.parse(bad) }
            do { _ = try ControlStoreAddress.parse(bad) } catch {
                #expect(!error.problem.contains("pw@") && !error.problem.contains(":pw"), "the password never shown: \(error.problem)")
            }
        }
    }
}

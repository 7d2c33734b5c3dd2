import Foundation
import Logging
import NIOCore
import OmniTrading
import PostgresNIO

/// The `ControlStore` a fleet shares: one PostgreSQL database (postgres-nio) that several hosts'
/// runs write at once. The same rows and semantics as `SQLiteControlStore`: each method one
/// transaction (BEGIN ... COMMIT, or one statement sent alone, which is a transaction of its own);
/// versioned migrations (applied once, in order, named in `control_migration`, the same names as
/// SQLite's); the audit refuses UPDATE, DELETE and TRUNCATE by trigger, and its chain is
/// `AuditRecord.chainHash`, computed here, so `verifyAudit` reads it as SQLite's does.
///
/// One connection per store, its transactions one at a time (a run's control plane writes a few
/// rows a second); it is opened again on the next call when the server dropped it. Plain TCP: no
/// TLS yet (a server on the fleet's own network, or loopback).
public final class PostgresControlStore: ControlStore {
    public let address: PostgresAddress
    public var location: String { address.description }
    let link: PostgresLink

    /// Every migration, oldest first: a new version is a new entry appended here, never an edit of
    /// one that has shipped. Names shared with `SQLiteControlStore.migrationNames` mean the same schema.
    static let migrationSteps: [(name: String, statements: [String])] = [
        ("v1 config, audit, fills, daily pnl", [
            """
            CREATE TABLE config_version (
                id BIGSERIAL PRIMARY KEY,
                run TEXT NOT NULL,
                loop_version BIGINT NOT NULL,
                at_ms BIGINT NOT NULL,
                who TEXT NOT NULL,
                instruments TEXT NOT NULL          -- JSON: [InstrumentConfig]
            )
            """,
            """
            CREATE TABLE audit (
                seq BIGINT PRIMARY KEY,            -- 1, 2, ... (no gaps: the chain names rows by it)
                at_ms BIGINT NOT NULL,
                who TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                before TEXT NOT NULL,
                after TEXT NOT NULL,
                outcome TEXT NOT NULL,
                hash TEXT NOT NULL                 -- SHA-256 of the previous hash and this row (AuditRecord.chainHash)
            )
            """,
            """
            CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit is append-only'; END $$
            """,
            "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
            """
            CREATE TABLE fill_sample (
                id BIGSERIAL PRIMARY KEY,
                run TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                symbol TEXT NOT NULL,
                fills BIGINT NOT NULL,
                bought_shares BIGINT NOT NULL,
                sold_shares BIGINT NOT NULL,
                position BIGINT NOT NULL,
                realised BIGINT NOT NULL,
                fees BIGINT NOT NULL
            )
            """,
            "CREATE INDEX fill_sample_run ON fill_sample (run, id)",
            """
            CREATE TABLE daily_pnl (
                day TEXT NOT NULL,
                run TEXT NOT NULL,
                symbol TEXT NOT NULL,
                realised BIGINT NOT NULL,
                unrealised BIGINT NOT NULL,
                fees BIGINT NOT NULL,
                position BIGINT NOT NULL,
                fills BIGINT NOT NULL,
                at_ms BIGINT NOT NULL,
                PRIMARY KEY (day, run, symbol)
            )
            """,
        ]),
        // The order journal's rows replace v1's fill samples (SQLiteControlStore's v2, the same schema).
        ("v2 order events", [
            "DROP TABLE fill_sample",
            """
            CREATE TABLE order_event (
                id BIGSERIAL PRIMARY KEY,
                run TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                symbol TEXT NOT NULL,
                event TEXT NOT NULL,               -- new, cancel, replace, accepted, rejected, canceled, replaced, cancel rejected, fill
                client_order_id BIGINT NOT NULL,   -- the UInt64's bits
                side TEXT NOT NULL,
                price BIGINT NOT NULL,             -- ITCH units
                shares BIGINT NOT NULL,
                leaves BIGINT NOT NULL,
                reason BIGINT NOT NULL,
                match_number BIGINT NOT NULL,      -- the UInt64's bits
                liquidity TEXT NOT NULL,
                venue_ns BIGINT NOT NULL
            )
            """,
            "CREATE INDEX order_event_run ON order_event (run, id)",
        ]),
        // What a restart must not forget (SQLiteControlStore's v3): the kill switch's turns and the raises not yet expired.
        ("v3 kill switch, limit overrides", [
            """
            CREATE TABLE kill_switch_event (
                id BIGSERIAL PRIMARY KEY,
                run TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                engaged BOOLEAN NOT NULL,
                reason TEXT NOT NULL,
                who TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE limit_override (
                symbol TEXT PRIMARY KEY,
                max_order_qty BIGINT NOT NULL,
                max_position BIGINT NOT NULL,
                reverts_to_max_order_qty BIGINT NOT NULL,
                reverts_to_max_position BIGINT NOT NULL,
                expires_at_ms BIGINT NOT NULL,
                by TEXT NOT NULL,
                run TEXT NOT NULL,
                at_ms BIGINT NOT NULL
            )
            """,
        ]),
    ]

    /// Every migration's name, oldest first.
    public static var migrationNames: [String] { migrationSteps.map(\.name) }

    /// The advisory lock key the migrations run under (two hosts starting at once migrate one after the other).
    static let migrationLock: Int64 = 0x6F6D_6E69_6D69_6772 // "omnimigr"

    init(address: PostgresAddress, link: PostgresLink) { self.address = address; self.link = link }

    /// Connects to `address` and applies the migrations not yet applied there.
    public static func open(_ address: PostgresAddress) async throws(ControlStoreError) -> PostgresControlStore {
        let store = PostgresControlStore(address: address, link: PostgresLink(address))
        try await store.transaction("migrate") { c in
            // Serialised across hosts: a transaction-scoped advisory lock, released at COMMIT.
            try await c.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: PostgresLink.logger)
            try await c.query("CREATE TABLE IF NOT EXISTS control_migration (name TEXT PRIMARY KEY, applied_at_ms BIGINT NOT NULL, seq INT NOT NULL)",
                              logger: PostgresLink.logger)
            let applied = try await Self.applied(c)
            for (i, step) in migrationSteps.enumerated() where !applied.contains(step.name) {
                for sql in step.statements { try await c.query(PostgresQuery(unsafeSQL: sql), logger: PostgresLink.logger) }
                try await c.query("INSERT INTO control_migration (name, applied_at_ms, seq) VALUES (\(step.name), \(AuditRecord.milliseconds(Date())), \(i + 1))",
                                  logger: PostgresLink.logger)
            }
        }
        return store
    }

    static func applied(_ c: PostgresConnection) async throws -> [String] {
        var names: [String] = []
        for try await name in try await c.query("SELECT name FROM control_migration ORDER BY seq", logger: PostgresLink.logger).decode(String.self) {
            names.append(name)
        }
        return names
    }

    /// Runs `body` in one transaction (BEGIN ... COMMIT, ROLLBACK when it throws); an error names
    /// the operation, the server and the database's own words. `oneStatement`: `body` runs a single
    /// statement, which outside BEGIN is a transaction of its own: two round trips fewer.
    func transaction<T: Sendable>(_ what: String, oneStatement: Bool = false,
                                  _ body: (PostgresConnection) async throws -> T) async throws(ControlStoreError) -> T {
        do {
            return try await link.serially { c in
                if oneStatement { return try await body(c) }
                try await c.query("BEGIN", logger: PostgresLink.logger)
                do {
                    let v = try await body(c)
                    try await c.query("COMMIT", logger: PostgresLink.logger)
                    return v
                } catch {
                    _ = try? await c.query("ROLLBACK", logger: PostgresLink.logger)
                    throw error
                }
            }
        } catch {
            throw ControlStoreError("\(what) on \(address.description) (as \(address.user)): \(PostgresLink.describe(error))")
        }
    }

    public func migrations() async throws -> [String] {
        try await transaction("migrations", oneStatement: true) { try await Self.applied($0) }
    }

    // MARK: - Configuration versions

    @discardableResult
    public func recordConfig(_ config: AppliedConfig) async throws -> AppliedConfig {
        let json = String(decoding: try JSONEncoder().encode(config.instruments), as: UTF8.self)
        let id = try await transaction("record config", oneStatement: true) { c -> Int64 in
            let rows = try await c.query("""
                INSERT INTO config_version (run, loop_version, at_ms, who, instruments)
                VALUES (\(config.run), \(Int64(clamping: config.loopVersion)), \(AuditRecord.milliseconds(config.at)), \(config.who), \(json)) RETURNING id
                """, logger: PostgresLink.logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw ControlStoreError("INSERT ... RETURNING id returned no row")
        }
        var c = config
        c.id = id
        return c
    }

    public func lastConfig() async throws -> AppliedConfig? {
        let found = try await transaction("last config", oneStatement: true) { c -> (AppliedConfig, String)? in
            let rows = try await c.query("SELECT id, run, loop_version, at_ms, who, instruments FROM config_version ORDER BY id DESC LIMIT 1",
                                         logger: PostgresLink.logger)
            for try await (id, run, version, at, who, instruments) in rows.decode((Int64, String, Int64, Int64, String, String).self) {
                var c = AppliedConfig(run: run, loopVersion: UInt64(max(version, 0)), at: Self.date(at), who: who, instruments: [])
                c.id = id
                return (c, instruments)
            }
            return nil
        }
        guard let (found, text) = found else { return nil }
        return try AppliedConfig.stored(found, instruments: text)
    }

    // MARK: - Audit

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord {
        var e = entry
        e.at = Self.date(AuditRecord.milliseconds(entry.at)) // the resolution stored, so the record returned is the one read back
        let n = e
        return try await transaction("append audit") { c in
            // Several hosts append at once: EXCLUSIVE mode lets readers in but one writer at a time, held to COMMIT,
            // so each reads the chain's true last row before it links its own.
            try await c.query("LOCK TABLE audit IN EXCLUSIVE MODE", logger: PostgresLink.logger)
            var last: (Int64, String)?
            for try await row in try await c.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", logger: PostgresLink.logger)
                .decode((Int64, String).self) { last = row }
            let seq = (last?.0 ?? 0) + 1
            let hash = AuditRecord.chainHash(previous: last?.1 ?? AuditRecord.genesis, seq: seq, n)
            try await c.query("""
                INSERT INTO audit (seq, at_ms, who, role, action, endpoint, before, after, outcome, hash)
                VALUES (\(seq), \(AuditRecord.milliseconds(n.at)), \(n.who), \(n.role), \(n.action), \(n.endpoint), \(n.before), \(n.after), \(n.outcome), \(hash))
                """, logger: PostgresLink.logger)
            return AuditRecord(seq: seq, entry: n, hash: hash)
        }
    }

    static let rowsPerInsert = 1_000

    static let auditColumns = "seq, at_ms, who, role, action, endpoint, before, after, outcome, hash"

    static func records(_ rows: PostgresRowSequence) async throws -> [AuditRecord] {
        var out: [AuditRecord] = []
        for try await (seq, at, who, role, action, endpoint, before, after, outcome, hash)
            in rows.decode((Int64, Int64, String, String, String, String, String, String, String, String).self) {
            out.append(AuditRecord(seq: seq, entry: AuditEntry(at: date(at), who: who, role: role, action: action, endpoint: endpoint, before: before,
                                                               after: after, outcome: outcome), hash: hash))
        }
        return out
    }

    public func audit(after: Int64, limit: Int) async throws -> [AuditRecord] {
        try await transaction("read audit", oneStatement: true) { c in
            try await Self.records(try await c.query("SELECT \(unescaped: Self.auditColumns) FROM audit WHERE seq > \(after) ORDER BY seq LIMIT \(Int64(limit))",
                                                     logger: PostgresLink.logger))
        }
    }

    public func verifyAudit() async throws -> AuditCheck {
        try await transaction("verify audit") { c in
            // One snapshot for every page: rows appended meanwhile are not half seen.
            try await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: PostgresLink.logger)
            var previous = AuditRecord.genesis
            var expected: Int64 = 1
            var rows = 0
            // In pages, so a long audit is never held whole.
            var after: Int64 = 0
            while true {
                let page = try await Self.records(try await c.query("SELECT \(unescaped: Self.auditColumns) FROM audit WHERE seq > \(after) ORDER BY seq LIMIT 1000",
                                                                    logger: PostgresLink.logger))
                if page.isEmpty { break }
                for r in page {
                    rows += 1
                    if r.seq != expected {
                        return AuditCheck(rows: rows, firstBroken: r.seq, problem: "row \(r.seq) follows row \(expected - 1): rows \(expected)...\(r.seq - 1) are missing")
                    }
                    if AuditRecord.chainHash(previous: previous, seq: r.seq, r.entry) != r.hash {
                        return AuditCheck(rows: rows, firstBroken: r.seq, problem: "row \(r.seq): its hash does not follow from its content and row \(r.seq - 1)'s hash (changed, or a row before it deleted)")
                    }
                    previous = r.hash
                    expected += 1
                }
                after = page.last!.seq
            }
            return AuditCheck(rows: rows, firstBroken: nil, problem: nil)
        }
    }

    // MARK: - Order events and daily PnL

    public func recordOrderEvents(_ rows: [OrderEventRecord]) async throws {
        guard !rows.isEmpty else { return }
        // Up to 1,000 rows are one INSERT, a transaction of its own; more, several in one transaction.
        try await transaction("record order events", oneStatement: rows.count <= Self.rowsPerInsert) { c in
            // One INSERT of up to 1,000 rows at a time (13 parameters a row, under the protocol's 65,535).
            var i = 0
            while i < rows.count {
                let chunk = rows[i..<min(i + Self.rowsPerInsert, rows.count)]
                var q = PostgresQuery(unsafeSQL: "")
                var sql = "INSERT INTO order_event (run, at_ms, symbol, event, client_order_id, side, price, shares, leaves, reason, match_number, liquidity, venue_ns) VALUES "
                var n = 0
                for (k, r) in chunk.enumerated() {
                    if k > 0 { sql += ", " }
                    sql += "(" + (1...13).map { "$\(n + $0)" }.joined(separator: ", ") + ")"
                    n += 13
                    q.binds.append(r.run)
                    q.binds.append(AuditRecord.milliseconds(r.at))
                    q.binds.append(r.symbol)
                    q.binds.append(r.event)
                    q.binds.append(Int64(bitPattern: r.clientOrderID))
                    q.binds.append(r.side)
                    q.binds.append(Int64(r.price))
                    q.binds.append(Int64(r.shares))
                    q.binds.append(Int64(r.leaves))
                    q.binds.append(Int64(r.reason))
                    q.binds.append(Int64(bitPattern: r.matchNumber))
                    q.binds.append(r.liquidity)
                    q.binds.append(Int64(clamping: r.venueNs))
                }
                q.sql = sql
                try await c.query(q, logger: PostgresLink.logger)
                i += chunk.count
            }
        }
    }

    public func orderEvents(run: String, event: String?) async throws -> [OrderEventRecord] {
        try await transaction("read order events", oneStatement: true) { c in
            var out: [OrderEventRecord] = []
            let columns = "at_ms, symbol, event, client_order_id, side, price, shares, leaves, reason, match_number, liquidity, venue_ns"
            let rows = if let event {
                try await c.query("SELECT \(unescaped: columns) FROM order_event WHERE run = \(run) AND event = \(event) ORDER BY id", logger: PostgresLink.logger)
            } else {
                try await c.query("SELECT \(unescaped: columns) FROM order_event WHERE run = \(run) ORDER BY id", logger: PostgresLink.logger)
            }
            for try await (at, symbol, name, id, side, price, shares, leaves, reason, match, liquidity, venue)
                in rows.decode((Int64, String, String, Int64, String, Int64, Int64, Int64, Int64, Int64, String, Int64).self) {
                out.append(OrderEventRecord(run: run, at: Self.date(at), symbol: symbol, event: name, clientOrderID: UInt64(bitPattern: id), side: side,
                                            price: UInt32(clamping: price), shares: UInt32(clamping: shares), leaves: UInt32(clamping: leaves),
                                            reason: UInt16(clamping: reason), matchNumber: UInt64(bitPattern: match), liquidity: liquidity,
                                            venueNs: UInt64(clamping: venue)))
            }
            return out
        }
    }

    public func recordDailyPnL(_ rows: [DailyPnL]) async throws {
        guard !rows.isEmpty else { return }
        try await transaction("record daily pnl", oneStatement: rows.count == 1) { c in
            for p in rows {
                try await c.query("""
                    INSERT INTO daily_pnl (day, run, symbol, realised, unrealised, fees, position, fills, at_ms)
                    VALUES (\(p.day), \(p.run), \(p.symbol), \(p.realised), \(p.unrealised), \(p.fees), \(p.position), \(Int64(clamping: p.fills)), \(AuditRecord.milliseconds(p.at)))
                    ON CONFLICT (day, run, symbol) DO UPDATE SET realised = excluded.realised, unrealised = excluded.unrealised, fees = excluded.fees,
                        position = excluded.position, fills = excluded.fills, at_ms = excluded.at_ms
                    """, logger: PostgresLink.logger)
            }
        }
    }

    public func dailyPnL(day: String) async throws -> [DailyPnL] {
        try await transaction("read daily pnl", oneStatement: true) { c in
            var out: [DailyPnL] = []
            let rows = try await c.query("""
                SELECT run, symbol, realised, unrealised, fees, position, fills, at_ms FROM daily_pnl WHERE day = \(day) ORDER BY run, symbol
                """, logger: PostgresLink.logger)
            for try await (run, symbol, realised, unrealised, fees, position, fills, at) in rows.decode((String, String, Int64, Int64, Int64, Int64, Int64, Int64).self) {
                out.append(DailyPnL(day: day, run: run, symbol: symbol, realised: realised, unrealised: unrealised, fees: fees, position: position,
                                    fills: UInt64(max(fills, 0)), at: Self.date(at)))
            }
            return out
        }
    }

    // MARK: - Kill switch and limit overrides (v3)

    @discardableResult
    public func recordKillSwitch(_ record: KillSwitchRecord) async throws -> KillSwitchRecord {
        var r = record
        r.at = Self.date(AuditRecord.milliseconds(record.at))
        let normalised = r
        let id = try await transaction("record kill switch", oneStatement: true) { c -> Int64 in
            let rows = try await c.query("""
                INSERT INTO kill_switch_event (run, at_ms, engaged, reason, who)
                VALUES (\(normalised.run), \(AuditRecord.milliseconds(normalised.at)), \(normalised.engaged), \(normalised.reason), \(normalised.who)) RETURNING id
                """, logger: PostgresLink.logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw ControlStoreError("INSERT ... RETURNING id returned no row")
        }
        r.id = id
        return r
    }

    public func lastKillSwitch() async throws -> KillSwitchRecord? {
        try await transaction("last kill switch", oneStatement: true) { c -> KillSwitchRecord? in
            let rows = try await c.query("SELECT id, run, at_ms, engaged, reason, who FROM kill_switch_event ORDER BY id DESC LIMIT 1", logger: PostgresLink.logger)
            for try await (id, run, at, engaged, reason, who) in rows.decode((Int64, String, Int64, Bool, String, String).self) {
                var k = KillSwitchRecord(run: run, at: Self.date(at), engaged: engaged, reason: reason, who: who)
                k.id = id
                return k
            }
            return nil
        }
    }

    public func saveLimitOverride(_ o: StoredLimitOverride) async throws {
        try await transaction("save limit override", oneStatement: true) { c in
            try await c.query("""
                INSERT INTO limit_override (symbol, max_order_qty, max_position, reverts_to_max_order_qty, reverts_to_max_position, expires_at_ms, by, run, at_ms)
                VALUES (\(o.symbol), \(Int64(o.maxOrderQty)), \(o.maxPosition), \(Int64(o.revertsToMaxOrderQty)), \(o.revertsToMaxPosition),
                        \(AuditRecord.milliseconds(o.expiresAt)), \(o.by), \(o.run), \(AuditRecord.milliseconds(o.at)))
                ON CONFLICT (symbol) DO UPDATE SET max_order_qty = excluded.max_order_qty, max_position = excluded.max_position,
                    reverts_to_max_order_qty = excluded.reverts_to_max_order_qty, reverts_to_max_position = excluded.reverts_to_max_position,
                    expires_at_ms = excluded.expires_at_ms, by = excluded.by, run = excluded.run, at_ms = excluded.at_ms
                """, logger: PostgresLink.logger)
        }
    }

    public func removeLimitOverride(symbol: String) async throws {
        try await transaction("remove limit override", oneStatement: true) { c in
            try await c.query("DELETE FROM limit_override WHERE symbol = \(symbol)", logger: PostgresLink.logger)
        }
    }

    public func limitOverrides() async throws -> [StoredLimitOverride] {
        try await transaction("read limit overrides", oneStatement: true) { c in
            var out: [StoredLimitOverride] = []
            let rows = try await c.query("""
                SELECT symbol, max_order_qty, max_position, reverts_to_max_order_qty, reverts_to_max_position, expires_at_ms, by, run, at_ms
                FROM limit_override ORDER BY symbol
                """, logger: PostgresLink.logger)
            for try await (symbol, qty, position, revertQty, revertPosition, expires, by, run, at)
                in rows.decode((String, Int64, Int64, Int64, Int64, Int64, String, String, Int64).self) {
                out.append(StoredLimitOverride(symbol: symbol, maxOrderQty: UInt32(clamping: qty), maxPosition: position,
                                               revertsToMaxOrderQty: UInt32(clamping: revertQty), revertsToMaxPosition: revertPosition,
                                               expiresAt: Self.date(expires), by: by, run: run, at: Self.date(at)))
            }
            return out
        }
    }

    /// The server's durability settings, "fsync=on, synchronous_commit=on, ..." (for a benchmark's conditions).
    public func durabilitySettings() async throws -> String {
        try await transaction("read settings", oneStatement: true) { c in
            var out: [String] = []
            let rows = try await c.query("""
                SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'commit_delay') ORDER BY name
                """, logger: PostgresLink.logger)
            for try await (name, setting) in rows.decode((String, String).self) { out.append("\(name)=\(setting)") }
            return out.joined(separator: ", ")
        }
    }

    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1_000) }
}

/// One connection to the server, used by one caller at a time (`serially`), connected on first use
/// and again after the server or the network dropped it.
actor PostgresLink {
    static let logger = Logger(label: "omni.control.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    let configuration: PostgresConnection.Configuration
    var connection: PostgresConnection?
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []
    var nextID = 1

    init(_ a: PostgresAddress) {
        var c = PostgresConnection.Configuration(host: a.host, port: a.port, username: a.user, password: a.password, database: a.database, tls: .disable)
        c.options.connectTimeout = .seconds(10)
        configuration = c
    }

    deinit {
        // Closed, and kept until it is: postgres-nio asserts a connection is closed before it goes.
        if let c = connection { c.close().whenComplete { _ in withExtendedLifetime(c) {} } }
    }

    func acquire() async {
        if busy { await withCheckedContinuation { waiting.append($0) } } else { busy = true }
    }

    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() } // handed over: busy stays true
    }

    func connected() async throws -> PostgresConnection {
        if let c = connection, !c.isClosed { return c }
        connection = nil
        nextID += 1
        let c = try await PostgresConnection.connect(configuration: configuration, id: nextID, logger: Self.logger)
        connection = c
        return c
    }

    /// Runs `body` on the connection, callers one after the other.
    nonisolated func serially<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        await acquire()
        do {
            let c: PostgresConnection
            do { c = try await connected() } catch { throw ConnectFailure(underlying: error) }
            let v = try await body(c)
            await release()
            return v
        } catch {
            await release()
            throw error
        }
    }

    /// The connection could not be opened (not the statement's fault).
    struct ConnectFailure: Error { let underlying: any Error }

    /// The database's own words: SQLSTATE, message, detail and hint; or the connection's error.
    static func describe(_ error: any Error) -> String {
        if let e = error as? ControlStoreError { return e.problem }
        if let e = error as? ConnectFailure { return "cannot connect: \(describe(e.underlying))" }
        guard let e = error as? PSQLError else { return String(describing: error) }
        if let info = e.serverInfo {
            var s = "\(info[.severity] ?? "ERROR") \(info[.sqlState] ?? "?"): \(info[.message] ?? "(no message)")"
            if let d = info[.detail] { s += "; detail: \(d)" }
            if let h = info[.hint] { s += "; hint: \(h)" }
            return s
        }
        if let u = e.underlying { return "\(e.code): \(String(describing: u))" }
        return "\(e.code)"
    }
}

import Foundation
import GRDB

/// The default `ControlStore`: one SQLite file (GRDB), in WAL mode with synchronous=NORMAL (a
/// committed transaction survives the process's crash; a power loss may take the last ones back).
/// Its schema is GRDB's `DatabaseMigrator`: versioned migrations, each applied once, in order,
/// from an empty file on. The audit table refuses UPDATE and DELETE by trigger; the chain
/// (`verifyAudit`) finds a row changed behind the triggers' back.
public final class SQLiteControlStore: ControlStore {
    let db: DatabaseQueue
    public let path: String
    public var location: String { "sqlite \(path)" }

    /// The schema's migrations, oldest first. A new version is a new migration appended here,
    /// never an edit of one that has shipped.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1 config, audit, fills, daily pnl") { db in
            try db.execute(sql: """
                CREATE TABLE config_version (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run TEXT NOT NULL,
                    loop_version INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    who TEXT NOT NULL,
                    instruments TEXT NOT NULL          -- JSON: [InstrumentConfig]
                );
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY,           -- 1, 2, ... (no AUTOINCREMENT gaps: the chain names rows by it)
                    at_ms INTEGER NOT NULL,
                    who TEXT NOT NULL,
                    role TEXT NOT NULL,
                    action TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    before TEXT NOT NULL,
                    after TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    hash TEXT NOT NULL                 -- SHA-256 of the previous hash and this row (AuditRecord.chainHash)
                );
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
                CREATE TABLE fill_sample (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    symbol TEXT NOT NULL,
                    fills INTEGER NOT NULL,
                    bought_shares INTEGER NOT NULL,
                    sold_shares INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    realised INTEGER NOT NULL,
                    fees INTEGER NOT NULL
                );
                CREATE INDEX fill_sample_run ON fill_sample(run, id);
                CREATE TABLE daily_pnl (
                    day TEXT NOT NULL,
                    run TEXT NOT NULL,
                    symbol TEXT NOT NULL,
                    realised INTEGER NOT NULL,
                    unrealised INTEGER NOT NULL,
                    fees INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    fills INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    PRIMARY KEY (day, run, symbol)
                );
                """)
        }
        // The order journal's rows replace v1's fill samples (per-second differences of the
        // snapshot's counts, which the executions themselves now give exactly).
        m.registerMigration("v2 order events") { db in
            try db.execute(sql: """
                DROP TABLE fill_sample;
                CREATE TABLE order_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    symbol TEXT NOT NULL,
                    event TEXT NOT NULL,               -- new, cancel, replace, accepted, rejected, canceled, replaced, cancel rejected, fill
                    client_order_id INTEGER NOT NULL,  -- the UInt64's bits
                    side TEXT NOT NULL,
                    price INTEGER NOT NULL,            -- ITCH units
                    shares INTEGER NOT NULL,
                    leaves INTEGER NOT NULL,
                    reason INTEGER NOT NULL,
                    match_number INTEGER NOT NULL,     -- the UInt64's bits
                    liquidity TEXT NOT NULL,
                    venue_ns INTEGER NOT NULL
                );
                CREATE INDEX order_event_run ON order_event(run, id);
                """)
        }
        // What a restart must not forget: the kill switch's turns (the last row is its state) and the
        // raised limits not yet expired (one row per instrument).
        m.registerMigration("v3 kill switch, limit overrides") { db in
            try db.execute(sql: """
                CREATE TABLE kill_switch_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    engaged INTEGER NOT NULL,          -- 1 on, 0 reset
                    reason TEXT NOT NULL,              -- why it turned on; '' for a reset
                    who TEXT NOT NULL
                );
                CREATE TABLE limit_override (
                    symbol TEXT PRIMARY KEY,
                    max_order_qty INTEGER NOT NULL,    -- as raised
                    max_position INTEGER NOT NULL,
                    reverts_to_max_order_qty INTEGER NOT NULL,
                    reverts_to_max_position INTEGER NOT NULL,
                    expires_at_ms INTEGER NOT NULL,
                    by TEXT NOT NULL,
                    run TEXT NOT NULL,
                    at_ms INTEGER NOT NULL
                );
                """)
        }
        return m
    }

    /// Every migration's identifier, oldest first.
    public static var migrationNames: [String] { migrator.migrations }

    /// Opens (creating the file and its folder) and migrates the store at `path`.
    public init(path: String) throws(ControlStoreError) {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        var c = Configuration()
        c.busyMode = .timeout(5) // another process (a second run, a reader) holding the lock briefly
        c.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            db = try DatabaseQueue(path: path, configuration: c)
            try Self.migrator.migrate(db)
        } catch { throw ControlStoreError("\(path): \(error)") }
    }

    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.write(body) } catch { throw ControlStoreError("\(what): \(error)") }
    }

    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await db.read(body) } catch { throw ControlStoreError("\(what): \(error)") }
    }

    public func migrations() async throws -> [String] {
        try await read("migrations") { try Self.migrator.appliedMigrations($0) }
    }

    // MARK: - Configuration versions

    @discardableResult
    public func recordConfig(_ config: AppliedConfig) async throws -> AppliedConfig {
        let json = String(decoding: try JSONEncoder().encode(config.instruments), as: UTF8.self)
        return try await write("record config") { db in
            try db.execute(sql: "INSERT INTO config_version (run, loop_version, at_ms, who, instruments) VALUES (?, ?, ?, ?, ?)",
                           arguments: [config.run, Int64(clamping: config.loopVersion), AuditRecord.milliseconds(config.at), config.who, json])
            var c = config
            c.id = db.lastInsertedRowID
            return c
        }
    }

    public func lastConfig() async throws -> AppliedConfig? {
        let found = try await read("last config") { db -> (AppliedConfig, String)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM config_version ORDER BY id DESC LIMIT 1") else { return nil }
            var c = AppliedConfig(run: row["run"], loopVersion: UInt64(max(row["loop_version"] as Int64, 0)), at: Self.date(row["at_ms"]), who: row["who"],
                                  instruments: [])
            c.id = row["id"]
            return (c, row["instruments"])
        }
        guard let (found, text) = found else { return nil }
        return try AppliedConfig.stored(found, instruments: text)
    }

    // MARK: - Audit

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord {
        var e = entry
        e.at = Self.date(AuditRecord.milliseconds(entry.at)) // the resolution stored, so the record returned is the one read back
        let normalised = e
        return try await write("append audit") { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            let seq = (last?["seq"] as Int64? ?? 0) + 1
            let hash = AuditRecord.chainHash(previous: last?["hash"] ?? AuditRecord.genesis, seq: seq, normalised)
            try db.execute(sql: """
                INSERT INTO audit (seq, at_ms, who, role, action, endpoint, before, after, outcome, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [seq, AuditRecord.milliseconds(normalised.at), normalised.who, normalised.role, normalised.action, normalised.endpoint,
                                 normalised.before, normalised.after, normalised.outcome, hash])
            return AuditRecord(seq: seq, entry: normalised, hash: hash)
        }
    }

    static func record(_ r: Row) -> AuditRecord {
        AuditRecord(seq: r["seq"], entry: AuditEntry(at: date(r["at_ms"]), who: r["who"], role: r["role"], action: r["action"], endpoint: r["endpoint"],
                                                     before: r["before"], after: r["after"], outcome: r["outcome"]),
                    hash: r["hash"])
    }

    public func audit(after: Int64, limit: Int) async throws -> [AuditRecord] {
        try await read("read audit") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit]).map(Self.record)
        }
    }

    public func verifyAudit() async throws -> AuditCheck {
        try await read("verify audit") { db in
            var previous = AuditRecord.genesis
            var expected: Int64 = 1
            var rows = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                let r = Self.record(row)
                rows += 1
                if r.seq != expected {
                    return AuditCheck(rows: rows, firstBroken: r.seq, problem: "row \(r.seq) follows row \(expected - 1): rows \(expected)...\(r.seq - 1) are missing")
                }
                let h = AuditRecord.chainHash(previous: previous, seq: r.seq, r.entry)
                if h != r.hash {
                    return AuditCheck(rows: rows, firstBroken: r.seq, problem: "row \(r.seq): its hash does not follow from its content and row \(r.seq - 1)'s hash (changed, or a row before it deleted)")
                }
                previous = r.hash
                expected += 1
            }
            return AuditCheck(rows: rows, firstBroken: nil, problem: nil)
        }
    }

    // MARK: - Order events and daily PnL

    public func recordOrderEvents(_ rows: [OrderEventRecord]) async throws {
        guard !rows.isEmpty else { return }
        try await write("record order events") { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO order_event (run, at_ms, symbol, event, client_order_id, side, price, shares, leaves, reason, match_number, liquidity, venue_ns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for r in rows {
                try insert.execute(arguments: [r.run, AuditRecord.milliseconds(r.at), r.symbol, r.event, Int64(bitPattern: r.clientOrderID), r.side,
                                               Int64(r.price), Int64(r.shares), Int64(r.leaves), Int64(r.reason), Int64(bitPattern: r.matchNumber),
                                               r.liquidity, Int64(clamping: r.venueNs)])
            }
        }
    }

    public func orderEvents(run: String, event: String?) async throws -> [OrderEventRecord] {
        try await read("read order events") { db in
            let rows = if let event {
                try Row.fetchAll(db, sql: "SELECT * FROM order_event WHERE run = ? AND event = ? ORDER BY id", arguments: [run, event])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM order_event WHERE run = ? ORDER BY id", arguments: [run])
            }
            return rows.map { r in
                OrderEventRecord(run: r["run"], at: Self.date(r["at_ms"]), symbol: r["symbol"], event: r["event"],
                                 clientOrderID: UInt64(bitPattern: r["client_order_id"]), side: r["side"], price: UInt32(clamping: r["price"] as Int64),
                                 shares: UInt32(clamping: r["shares"] as Int64), leaves: UInt32(clamping: r["leaves"] as Int64),
                                 reason: UInt16(clamping: r["reason"] as Int64), matchNumber: UInt64(bitPattern: r["match_number"]),
                                 liquidity: r["liquidity"], venueNs: UInt64(clamping: r["venue_ns"] as Int64))
            }
        }
    }

    public func recordDailyPnL(_ rows: [DailyPnL]) async throws {
        guard !rows.isEmpty else { return }
        try await write("record daily pnl") { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO daily_pnl (day, run, symbol, realised, unrealised, fees, position, fills, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (day, run, symbol) DO UPDATE SET realised = excluded.realised, unrealised = excluded.unrealised, fees = excluded.fees,
                    position = excluded.position, fills = excluded.fills, at_ms = excluded.at_ms
                """)
            for p in rows {
                try upsert.execute(arguments: [p.day, p.run, p.symbol, p.realised, p.unrealised, p.fees, p.position, Int64(clamping: p.fills),
                                               AuditRecord.milliseconds(p.at)])
            }
        }
    }

    public func dailyPnL(day: String) async throws -> [DailyPnL] {
        try await read("read daily pnl") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM daily_pnl WHERE day = ? ORDER BY run, symbol", arguments: [day]).map { r in
                DailyPnL(day: r["day"], run: r["run"], symbol: r["symbol"], realised: r["realised"], unrealised: r["unrealised"], fees: r["fees"],
                         position: r["position"], fills: UInt64(max(r["fills"] as Int64, 0)), at: Self.date(r["at_ms"]))
            }
        }
    }

    // MARK: - Kill switch and limit overrides (v2)

    @discardableResult
    public func recordKillSwitch(_ record: KillSwitchRecord) async throws -> KillSwitchRecord {
        var r = record
        r.at = Self.date(AuditRecord.milliseconds(record.at))
        let normalised = r
        return try await write("record kill switch") { db in
            try db.execute(sql: "INSERT INTO kill_switch_event (run, at_ms, engaged, reason, who) VALUES (?, ?, ?, ?, ?)",
                           arguments: [normalised.run, AuditRecord.milliseconds(normalised.at), normalised.engaged, normalised.reason, normalised.who])
            var k = normalised
            k.id = db.lastInsertedRowID
            return k
        }
    }

    public func lastKillSwitch() async throws -> KillSwitchRecord? {
        try await read("last kill switch") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM kill_switch_event ORDER BY id DESC LIMIT 1").map { r in
                var k = KillSwitchRecord(run: r["run"], at: Self.date(r["at_ms"]), engaged: r["engaged"], reason: r["reason"], who: r["who"])
                k.id = r["id"]
                return k
            }
        }
    }

    public func saveLimitOverride(_ o: StoredLimitOverride) async throws {
        try await write("save limit override") { db in
            try db.execute(sql: """
                INSERT INTO limit_override (symbol, max_order_qty, max_position, reverts_to_max_order_qty, reverts_to_max_position, expires_at_ms, by, run, at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (symbol) DO UPDATE SET max_order_qty = excluded.max_order_qty, max_position = excluded.max_position,
                    reverts_to_max_order_qty = excluded.reverts_to_max_order_qty, reverts_to_max_position = excluded.reverts_to_max_position,
                    expires_at_ms = excluded.expires_at_ms, by = excluded.by, run = excluded.run, at_ms = excluded.at_ms
                """, arguments: [o.symbol, Int64(o.maxOrderQty), o.maxPosition, Int64(o.revertsToMaxOrderQty), o.revertsToMaxPosition,
                                 AuditRecord.milliseconds(o.expiresAt), o.by, o.run, AuditRecord.milliseconds(o.at)])
        }
    }

    public func removeLimitOverride(symbol: String) async throws {
        try await write("remove limit override") { db in
            try db.execute(sql: "DELETE FROM limit_override WHERE symbol = ?", arguments: [symbol])
        }
    }

    public func limitOverrides() async throws -> [StoredLimitOverride] {
        try await read("read limit overrides") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM limit_override ORDER BY symbol").map { r in
                StoredLimitOverride(symbol: r["symbol"], maxOrderQty: UInt32(clamping: r["max_order_qty"] as Int64), maxPosition: r["max_position"],
                                    revertsToMaxOrderQty: UInt32(clamping: r["reverts_to_max_order_qty"] as Int64),
                                    revertsToMaxPosition: r["reverts_to_max_position"], expiresAt: Self.date(r["expires_at_ms"]), by: r["by"],
                                    run: r["run"], at: Self.date(r["at_ms"]))
            }
        }
    }

    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1_000) }
}

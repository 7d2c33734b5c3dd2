import Crypto
import Foundation
import OmniTrading

// What the control plane keeps across runs (issue 14, item 4): the configuration versions the loop
// applied, the hash-chained audit of every change asked for, every order event the loop's journal
// gives (our requests, the venue's answers, the fills) and the day's PnL as its snapshot shows it.
// One protocol, `ControlStore`; SQLite through GRDB is the default
// (`SQLiteControlStore`); PostgreSQL (`PostgresControlStore`, postgres-nio) implements the same
// methods over the same rows for a fleet of hosts sharing one store, and
// the audit chain's hash (`AuditRecord.chainHash`) is computed here, in Swift, never by the
// database, so every store writes and verifies the same chain.

/// One instrument's configuration as the loop applied it (from its snapshot).
public struct InstrumentConfig: Codable, Sendable, Equatable {
    public var symbol: String
    public var quoting: Bool
    /// The strategy's parameters (nil where its strategy has none of them).
    public var spreadTicks: UInt32?
    public var size: UInt32?
    public var skewShares: Int64?
    /// The quote ladder's position limit (the `max_position` quoting parameter).
    public var maxPosition: Int64
    /// Risk's limits (nil: risk has none for it).
    public var maxOrderQty: UInt32?
    public var limitPosition: Int64?

    public init(symbol: String, quoting: Bool, spreadTicks: UInt32? = nil, size: UInt32? = nil, skewShares: Int64? = nil, maxPosition: Int64,
                maxOrderQty: UInt32? = nil, limitPosition: Int64? = nil) {
        self.symbol = symbol; self.quoting = quoting; self.spreadTicks = spreadTicks; self.size = size; self.skewShares = skewShares
        self.maxPosition = maxPosition; self.maxOrderQty = maxOrderQty; self.limitPosition = limitPosition
    }
}

/// A configuration the loop acknowledged: every traded instrument's parameters and limits at `loopVersion`.
public struct AppliedConfig: Codable, Sendable, Equatable {
    /// The store's own number, one more per row (0 until stored).
    public var id: Int64 = 0
    /// The run that applied it (`ControlStoreRun.id`) and the loop's configuration version there.
    public var run: String
    public var loopVersion: UInt64
    public var at: Date
    /// Who asked for it ("name (role)"), or "omni run" for the run's own start and resume.
    public var who: String
    public var instruments: [InstrumentConfig]

    public init(run: String, loopVersion: UInt64, at: Date, who: String, instruments: [InstrumentConfig]) {
        self.run = run; self.loopVersion = loopVersion; self.at = at; self.who = who; self.instruments = instruments
    }
}

extension AppliedConfig {
    /// A stored configuration with its instruments read back from their JSON text (every store keeps them so).
    static func stored(_ c: AppliedConfig, instruments text: String) throws(ControlStoreError) -> AppliedConfig {
        var c = c
        do { c.instruments = try JSONDecoder().decode([InstrumentConfig].self, from: Data(text.utf8)) } catch {
            throw ControlStoreError("config version \(c.id): its instruments are not readable: \(error)")
        }
        return c
    }
}

/// One audited request, as written: who (the token's name and role), when, what (method and path,
/// the action), the state before and after as JSON, and the outcome (status and message).
public struct AuditEntry: Sendable, Equatable {
    public var at: Date
    /// The token's name and role; the action (ControlAction) and "METHOD /path".
    public var who, role, action, endpoint: String
    /// The loop's state before and after, JSON; "STATUS message".
    public var before, after, outcome: String

    public init(at: Date, who: String, role: String, action: String, endpoint: String, before: String, after: String, outcome: String) {
        self.at = at; self.who = who; self.role = role; self.action = action; self.endpoint = endpoint
        self.before = before; self.after = after; self.outcome = outcome
    }
}

/// An audit row as stored: its sequence number and its link in the chain.
public struct AuditRecord: Sendable, Equatable {
    public var seq: Int64
    public var entry: AuditEntry
    /// SHA-256 (hex) of the previous row's hash and this row's content (`chainHash`).
    public var hash: String

    /// The hash of the first row's predecessor.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 over the previous row's hash (its 64 hex characters) and this row's fields, each
    /// as its UTF-8 length (8 bytes, little-endian) and bytes, in the order seq, at (ms since
    /// 1970), who, role, action, endpoint, before, after, outcome: no field can run into the next.
    public static func chainHash(previous: String, seq: Int64, _ e: AuditEntry) -> String {
        var h = SHA256()
        func field(_ s: String) {
            let bytes = Array(s.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { h.update(bufferPointer: $0) }
            h.update(data: bytes)
        }
        field(previous)
        for f in [String(seq), String(milliseconds(e.at)), e.who, e.role, e.action, e.endpoint, e.before, e.after, e.outcome] { field(f) }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Milliseconds since 1970: the resolution the chain and the stores keep of a time.
    public static func milliseconds(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1_000).rounded()) }
}

/// What `verifyAudit` found.
public struct AuditCheck: Sendable, Equatable {
    public var rows: Int
    /// The first row whose hash does not follow from its content and its predecessor's hash (an
    /// edited row, or the row after a deleted one), nil when the chain holds.
    public var firstBroken: Int64?
    public var problem: String?
    public var intact: Bool { firstBroken == nil }
}

/// One instrument's PnL for a day (UTC) of one run, as last read from the snapshot. Money in ITCH
/// units × shares.
public struct DailyPnL: Sendable, Equatable {
    public var day: String
    public var run: String
    public var symbol: String
    public var realised: Int64, unrealised: Int64, fees: Int64
    public var position: Int64
    public var fills: UInt64
    public var at: Date
    public var net: Int64 { realised + unrealised - fees }

    public init(day: String, run: String, symbol: String, realised: Int64, unrealised: Int64, fees: Int64, position: Int64, fills: UInt64, at: Date) {
        self.day = day; self.run = run; self.symbol = symbol; self.realised = realised; self.unrealised = unrealised; self.fees = fees
        self.position = position; self.fills = fills; self.at = at
    }
}

/// One turn of the kill switch, as the store keeps it (append-only; the last row is its state):
/// on (`engaged`, with the reason) or off (a person's reset), who did it and when. A new run on the
/// store starts killed when the last row is on (RTS 6 Art. 12: nothing goes out until a person
/// resets it).
public struct KillSwitchRecord: Sendable, Equatable {
    /// The store's own number, one more per row (0 until stored).
    public var id: Int64 = 0
    /// The run in which it turned (`ControlServer.run`).
    public var run: String
    public var at: Date
    /// On (true) or reset (false).
    public var engaged: Bool
    /// Why it turned on ("command", "SIGUSR1", "stale feed", "gateway disconnect", "daily loss"); "" for a reset.
    public var reason: String
    /// "name (role)" of the token that asked, or "omni run (TRIGGER)" for a trigger of the loop's own.
    public var who: String

    public init(run: String, at: Date, engaged: Bool, reason: String, who: String) {
        self.run = run; self.at = at; self.engaged = engaged; self.reason = reason; self.who = who
    }
}

/// A raised limit waiting to expire, as the store keeps it: one row per instrument (a second raise
/// replaces it), removed when it reverts. A new run on the store re-applies one still unexpired
/// with its remaining time; one expired meanwhile is dropped (audited as system).
public struct StoredLimitOverride: Sendable, Equatable {
    public var symbol: String
    /// The limits as raised.
    public var maxOrderQty: UInt32, maxPosition: Int64
    /// The limits before the first raise: what it reverts to.
    public var revertsToMaxOrderQty: UInt32, revertsToMaxPosition: Int64
    public var expiresAt: Date
    /// "name (role)" of the risk officer who raised it.
    public var by: String
    /// The run that raised it, and when.
    public var run: String
    public var at: Date

    public init(symbol: String, maxOrderQty: UInt32, maxPosition: Int64, revertsToMaxOrderQty: UInt32, revertsToMaxPosition: Int64, expiresAt: Date,
                by: String, run: String, at: Date) {
        self.symbol = symbol; self.maxOrderQty = maxOrderQty; self.maxPosition = maxPosition; self.revertsToMaxOrderQty = revertsToMaxOrderQty
        self.revertsToMaxPosition = revertsToMaxPosition; self.expiresAt = expiresAt; self.by = by; self.run = run; self.at = at
    }
}

/// Why the store failed: the operation and the database's own words.
public struct ControlStoreError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { "control store: \(problem)" }
}

/// The control plane's store. Every method is one transaction; writes are appended, never
/// changed (config versions, audit, order events), except the day's PnL row, which each reading replaces.
public protocol ControlStore: Sendable {
    /// Where it is, for the log ("sqlite /path", "postgres HOST:PORT/DB": never a password).
    var location: String { get }
    /// The migrations applied, oldest first.
    func migrations() async throws -> [String]

    /// Appends a configuration the loop applied; returns it with its id.
    @discardableResult func recordConfig(_ config: AppliedConfig) async throws -> AppliedConfig
    /// The last configuration applied (of any run), nil when none is stored.
    func lastConfig() async throws -> AppliedConfig?

    /// Appends an audit row, chained to the last one; returns it as stored.
    @discardableResult func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord
    /// Audit rows with seq > `after`, in order, at most `limit`.
    func audit(after: Int64, limit: Int) async throws -> [AuditRecord]
    /// Recomputes the chain from the first row: the first row that does not follow is named.
    func verifyAudit() async throws -> AuditCheck

    /// Appends order events (the journal's requests, answers and fills), all in one transaction.
    func recordOrderEvents(_ rows: [OrderEventRecord]) async throws
    /// Sets the day's PnL rows (one per day, run and instrument), all in one transaction.
    func recordDailyPnL(_ rows: [DailyPnL]) async throws
    /// The rows of `day` (YYYY-MM-DD, UTC), every run.
    func dailyPnL(day: String) async throws -> [DailyPnL]
    /// Order events of `run`, oldest first; `event`: only those (e.g. "fill"), nil: all.
    func orderEvents(run: String, event: String?) async throws -> [OrderEventRecord]

    // Since migration v3: what a restart must not forget.

    /// Appends a turn of the kill switch; returns it with its id.
    @discardableResult func recordKillSwitch(_ record: KillSwitchRecord) async throws -> KillSwitchRecord
    /// The last turn of the kill switch (of any run), nil when it never turned.
    func lastKillSwitch() async throws -> KillSwitchRecord?
    /// Keeps `override` as its instrument's one override (replacing one kept before).
    func saveLimitOverride(_ override: StoredLimitOverride) async throws
    /// Forgets `symbol`'s override (reverted, or dropped at expiry); nothing when none is kept.
    func removeLimitOverride(symbol: String) async throws
    /// Every override kept, by symbol.
    func limitOverrides() async throws -> [StoredLimitOverride]
}

extension DailyPnL {
    /// The UTC day of `date`, YYYY-MM-DD.
    public static func day(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }
}

extension ControlStoreAddress {
    /// The one way from `control.store` / `--control-store` to a store: "off" is nil, a
    /// postgres:// URL connects to that server and migrates it, anything else is a SQLite file
    /// (created and migrated). A malformed URL, an unreachable server and a failed migration are
    /// each a `ControlStoreError` naming it.
    public static func open(_ text: String) async throws(ControlStoreError) -> (any ControlStore)? {
        let address: ControlStoreAddress?
        do { address = try parse(text) } catch { throw ControlStoreError(error.problem) }
        switch address {
        case nil: return nil
        case .sqlite(let path)?: return try SQLiteControlStore(path: path)
        case .postgres(let a)?: return try await PostgresControlStore.open(a)
        }
    }
}

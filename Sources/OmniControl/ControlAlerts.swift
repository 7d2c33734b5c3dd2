import Foundation
import Logging
import OmniRisk
import OmniTrading
import Synchronization

// Alerts (RTS 6 Art. 16: within 5 s) on a kill, a limit breach, a stale feed and a gateway
// disconnect, derived from successive readings of the loop's snapshot (ControlServer.watch reads
// it every 100 ms): the loop itself raises nothing and waits for no one. Each alert goes to the
// log (swift-log, structured), to GET /v1/alerts (the last 256) and to the WebSocket stream.

/// What an alert is about, and how loud it is.
enum AlertKind: String, Sendable, CaseIterable {
    case kill, limitBreach = "limit_breach", staleFeed = "stale_feed", gatewayDisconnect = "gateway_disconnect"

    var level: Logger.Level {
        switch self {
        case .kill: .critical
        case .gatewayDisconnect, .staleFeed: .error
        case .limitBreach: .warning
        }
    }

    /// The log level's name, as the API writes it.
    var severity: String { level.rawValue }
}

/// One alert as the API, the stream and the log carry it.
struct Alert: Codable, Sendable, Equatable {
    /// 1, 2, ... in the order raised (this server's).
    var id: UInt64
    /// When it was raised, UTC (ISO 8601, ms).
    var at: String
    var kind: String
    var severity: String
    /// A limit breach: the risk check that refused (its API key, as in GET /v1/orders).
    var check: String?
    /// A limit breach: refusals by that check since its last alert.
    var refusals: UInt64?
    var message: String
}

/// Compares each reading of the snapshot with the one before: the kill switch turned on, the feed
/// turned stale, the gateway went down, a risk check refused more orders (at most one alert per
/// check a second, with the refusals since its last). The first reading is the baseline.
struct AlertWatch {
    var last: LoopSnapshot?
    /// Per check: its refusals when last alerted, and when (monotonic ns).
    var alerted: [RiskCheck: (refusals: UInt64, at: UInt64)] = [:]
    static let breachEveryNs: UInt64 = 1_000_000_000

    /// The alerts `s` raises (kind, check, refusals, message).
    mutating func read(_ s: LoopSnapshot, now: UInt64) -> [(kind: AlertKind, check: String?, refusals: UInt64?, message: String)] {
        guard s.summary.publishedNs != 0 else { return [] }
        defer { last = s }
        guard let was = last, s.refusals.count == was.refusals.count else {
            for c in RiskCheck.allCases where Int(c.rawValue) <= s.refusals.count { alerted[c] = (s.refusals[Int(c.rawValue) - 1], 0) }
            return []
        }
        var out: [(kind: AlertKind, check: String?, refusals: UInt64?, message: String)] = []
        if was.summary.killReason == 0, s.summary.killReason != 0 {
            let why = KillReason(rawValue: s.summary.killReason)?.name ?? "reason \(s.summary.killReason)"
            out.append((.kill, nil, nil, "kill switch ON (\(why)): every open order canceled, nothing sent until a risk officer resets it"))
        }
        if !was.summary.feedStale, s.summary.feedStale {
            out.append((.staleFeed, nil, nil, "the market data feed is stale: no packet within the feed's staleness limit"))
        }
        if was.summary.gatewayUp, !s.summary.gatewayUp {
            out.append((.gatewayDisconnect, nil, nil, "the order entry session is down: orders cannot reach the venue"))
        }
        // The kill switch's own refusals follow a kill (alerted above), not a limit.
        for c in RiskCheck.allCases where c != .killSwitch {
            let total = s.refusals[Int(c.rawValue) - 1]
            let before = alerted[c] ?? (0, 0)
            if total < before.refusals { alerted[c] = (total, before.at); continue } // a new loop: counted again from 0
            guard total > before.refusals, now &- before.at >= Self.breachEveryNs else { continue }
            out.append((.limitBreach, c.key, total - before.refusals,
                        "risk check '\(c.description)' refused \(total - before.refusals) order(s) (\(total) in all)"))
            alerted[c] = (total, now)
        }
        return out
    }
}

/// The last `capacity` alerts, numbered, and how many of each kind were raised.
final class AlertLog: Sendable {
    let capacity: Int
    let state = Mutex<(next: UInt64, recent: [Alert], raised: [String: UInt64])>((1, [], [:]))
    let logger: Logger

    init(capacity: Int = 256, logger: Logger) { self.capacity = capacity; self.logger = logger }

    /// Numbers, keeps and logs one alert; returns it.
    func raise(_ kind: AlertKind, check: String?, refusals: UInt64?, message: String, at: Date) -> Alert {
        let alert = state.withLock { s in
            let a = Alert(id: s.next, at: timestamp(at), kind: kind.rawValue,
                          severity: kind.severity, check: check, refusals: refusals, message: message)
            s.next += 1
            s.recent.append(a)
            if s.recent.count > capacity { s.recent.removeFirst(s.recent.count - capacity) }
            s.raised[kind.rawValue, default: 0] += 1
            return a
        }
        var metadata: Logger.Metadata = ["alert": "\(kind.rawValue)", "alert_id": "\(alert.id)"]
        if let check { metadata["check"] = "\(check)" }
        if let refusals { metadata["refusals"] = "\(refusals)" }
        logger.log(level: kind.level, "\(message)", metadata: metadata)
        return alert
    }

    var recent: [Alert] { state.withLock { $0.recent } }
    var raised: [String: UInt64] { state.withLock { $0.raised } }
}

import CSys
import OmniGateway
import OmniWire

/// An order entry over a network session, as the trading loop's runner needs it: whether
/// requests can go out, why not, how to log in again after a disconnect and recover, and how to
/// end the session. `omni run` and the end-to-end tests specialise over it.
public protocol GatewaySession: OrderEntry {
    /// Logged in (recovering or not); false once the connection is gone.
    var isLoggedIn: Bool { get }
    /// Logged in and recovered: requests can go out.
    var isUp: Bool { get }
    /// Why the session is down, for the kill switch's line.
    var problem: String { get }
    /// Connects and logs in again after a disconnect, resuming the session's sequence numbers so
    /// the venue's answers we missed come back through `poll`; returns what it did. Throws
    /// naming the endpoint.
    func reconnect() throws -> String
    /// True once after a reconnect, when the venue has answered everything it received before
    /// the disconnect: a request still unanswered then was lost with the connection.
    func takeRecovered() -> Bool
    /// After a recovery, asks the venue what it holds of an order still open here (FIX:
    /// OrderStatusRequest; OUCH 4.2 has none, its replay being complete); the answer comes back
    /// through `poll`. Returns whether a request went out.
    func requestStatus(clientOrderID: UInt64, locate: UInt16, side: UInt8) -> Bool
    /// Logs out (bounded) and closes.
    func close()
}

extension OuchOrderEntry: GatewaySession {
    public var isLoggedIn: Bool { isConnected }
    public var isUp: Bool { isConnected && !isRecovering }
    public var problem: String { lastError.map { "\($0)" } ?? "closed" }
    public func reconnect() throws -> String {
        try connect()
        return "OUCH \(client.soup.endpoint) logged in again, from sequence \(client.nextSequence)"
    }
    public func close() { client.logout() }
    public func requestStatus(clientOrderID: UInt64, locate: UInt16, side: UInt8) -> Bool { false }
}

extension FixOrderEntry: GatewaySession {
    public var isLoggedIn: Bool { isLoggedOn }
    public var isUp: Bool { isLoggedOn && !isRecovering }
    public var problem: String { "FIX session \(session.state)" }
    public func reconnect() throws -> String {
        try logOnAgain()
        return "FIX \(endpoint) logged on again, sequence numbers kept (next out \(session.nextSenderSeq), next in \(session.nextTargetSeq))"
    }
    public func close() {
        session.logout()
        let end = csys_monotonic_ns() + 1_000_000_000
        while session.isOpen && csys_monotonic_ns() < end { _ = session.pollOnce(timeoutMs: 10) }
        session.disconnect("logout")
    }
}

/// After a gateway disconnect, while the kill switch holds everything but cancels: logs in
/// again every `intervalNs`, and once the venue's replay has ended resolves the requests lost
/// with the connection (`TradingLoop.resolveLostRequests`), so the ledger, risk and positions
/// are the venue's. Stepped once per pass by whoever runs the loop.
public struct GatewayRecovery: Sendable {
    public enum News: Sendable, Equatable {
        case attemptFailed(attempt: Int, error: String)
        case reconnected(String)
        /// The replay has ended; `lostRequests` were answered locally as never received, and the
        /// venue was asked the status of `statusRequests` orders still open.
        case recovered(lostRequests: Int, statusRequests: Int)
    }

    public let intervalNs: UInt64
    var nextAttemptNs: UInt64 = 0
    public private(set) var attempts = 0, reconnects = 0

    public init(intervalNs: UInt64 = 1_000_000_000) { self.intervalNs = intervalNs }

    /// What changed this pass, if anything. A reconnect attempt blocks for at most the session's
    /// connect and login timeouts (nothing could go out meanwhile anyway).
    public mutating func step<Entry: GatewaySession, S>(_ loop: TradingLoop<Entry, S>, now: UInt64) -> News? {
        let entry = loop.entry
        if entry.takeRecovered() {
            let lost = loop.resolveLostRequests()
            var asked = 0
            loop.ledger.table.forEachOpen { o in
                if entry.requestStatus(clientOrderID: o.id.raw, locate: o.locate, side: o.side) { asked += 1 }
            }
            entry.flush()
            return .recovered(lostRequests: lost, statusRequests: asked)
        }
        guard !entry.isLoggedIn, now >= nextAttemptNs else { return nil }
        nextAttemptNs = now + intervalNs
        attempts += 1
        do {
            let what = try entry.reconnect()
            reconnects += 1
            nextAttemptNs = 0
            return .reconnected(what)
        } catch {
            nextAttemptNs = csys_monotonic_ns() + intervalNs
            return .attemptFailed(attempt: attempts, error: "\(error)")
        }
    }
}

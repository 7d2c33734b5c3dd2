import CSys
import CWire
import Glibc
import OmniNet
import OmniWire

/// Listens on host:port (default 127.0.0.1; port 0: any free port) and serves many client
/// connections at once, one FixSession each. Each counterparty CompID has one store (sequence
/// numbers, sent messages), opened at its Logon and closed when that connection ends, so the
/// descriptors held follow the live connections, not every CompID ever seen. A Logon with a
/// CompID that is logged on on another connection is refused (Logout with the reason, then
/// close), as FIX engines do. A connection that completes no Logon within `logonTimeoutNs` is
/// closed. At most `maxConnections` are open; one more is accepted and closed at once. When the
/// process is out of descriptors (EMFILE), a spare one held for that moment accepts and closes
/// the waiting connection, so the listening socket does not stay readable and spin the loop.
///
/// Driven by `pollOnce` (a poll set of its own), or from an outside poll set: `register(in:)`,
/// one `PollSet.wait`, `handle(in:)`, with `nextTimerNs()` bounding the wait.
public final class FixAcceptor<App: FixApplication>: FixSessionOwner, @unchecked Sendable {
    public let config: FixSessionConfig
    public let app: App
    public var host: String { listener.host }
    /// The bound port (the ephemeral one when 0 was asked for).
    public var port: UInt16 { listener.port }
    /// The connection accepted last.
    public private(set) var session: FixSession<App>?
    /// Every session this acceptor has served, latest last, while `keepHistory` (a long-running
    /// acceptor turns it off: each session holds its buffers and event log).
    public private(set) var sessions: [FixSession<App>] = []
    public var keepHistory = true
    /// Open connections, logged on or not yet.
    public private(set) var connections: [FixSession<App>] = []
    /// Logged-on sessions by counterparty CompID.
    public private(set) var loggedOn: [String: FixSession<App>] = [:]
    /// Logons refused: the CompID logged on elsewhere or no valid CompID, or HeartBtInt out of range.
    public private(set) var refusedLogons = 0
    /// Connections closed as soon as accepted: over `maxConnections`, or no descriptor left.
    public var refusedConnections: Int { listener.refused }
    /// Connections closed because their peer fell more than `maxPendingBytes` behind.
    public private(set) var slowClientDisconnects = 0
    /// Open connections (logged on or not) beyond which new ones are accepted and closed at once.
    public var maxConnections = 256
    /// Logons completed.
    public private(set) var logons = 0
    public var logonTimeoutNs: UInt64 = 10_000_000_000
    /// Stores opened by `send(_:to:)` for CompIDs without a connection holding theirs: kept for
    /// the rest of the pass (a burst such as cancel on disconnect opens the files once), closed
    /// by `sweep`, or taken over by the CompID's Logon.
    var offlineStores: [String: FixFileStore] = [:]
    let listener: TCPListener
    var listenIndex = -1
    let ownPollSet = PollSet(capacity: 16)

    /// Listens on host:port (port 0: an ephemeral port); throws naming the endpoint.
    public init(host: String = "127.0.0.1", port: UInt16 = 0, config: FixSessionConfig, app: App) throws(TCPError) {
        self.config = config
        self.app = app
        listener = try TCPListener(host: host, port: port)
    }

    deinit {
        for s in connections { s.disconnect("acceptor closed") }
        offlineBuffer.deallocate()
    }

    /// One poll round on a poll set of its own: waits up to `timeoutMs`, then `handle`.
    public func pollOnce(timeoutMs: Int32) {
        ownPollSet.reset()
        register(in: ownPollSet)
        ownPollSet.wait(timeoutMs: timeoutMs)
        handle(in: ownPollSet)
    }

    /// Adds the listening socket and every open connection to `set`.
    public func register(in set: PollSet) {
        listenIndex = listener.accepting(now: csys_monotonic_ns()) ? set.add(listener.fd, events: Int16(POLLIN)) : -1
        for s in connections { s.register(in: set) }
    }

    /// After `set.wait`: serves every ready connection, runs every session's timers, accepts
    /// new connections, forgets closed ones (telling the application of ended sessions).
    public func handle(in set: PollSet) {
        let now = csys_monotonic_ns()
        for s in connections {
            s.handle(in: set)
            if s.state == .awaitingLogon && s.isOpen && csys_elapsed_ns(now, s.connectedNs) >= logonTimeoutNs {
                s.disconnect("no Logon within \(logonTimeoutNs / 1_000_000) ms")
            }
        }
        if listenIndex >= 0 {
            if set.revents(at: listenIndex) & Int16(POLLIN) != 0 { acceptAll() }
            listenIndex = -1
        }
        sweep()
    }

    /// Monotonic ns of the next timer of any connection (heartbeat, TestRequest, logon timeout).
    public func nextTimerNs() -> UInt64 {
        var due = listener.pausedUntilNs == 0 ? UInt64.max : listener.pausedUntilNs
        for s in connections {
            if s.state == .awaitingLogon {
                let (t, over) = s.connectedNs.addingReportingOverflow(logonTimeoutNs)
                due = min(due, over ? .max : t)
            }
            due = min(due, s.nextTimerNs())
        }
        return due
    }

    /// The logged-on session of a counterparty CompID.
    public func session(for compID: String) -> FixSession<App>? { loggedOn[compID] }

    /// Sends Logout to every logged-on session (each closes when its peer answers).
    public func logoutAll(_ text: String? = nil) {
        for s in connections where s.state == .loggedOn { s.logout(text) }
    }

    /// Sends `m` to `compID`: at once when it is logged on; else numbered and kept in its store
    /// (FIX practice: the counterparty gets it by ResendRequest after its next Logon, unless that
    /// Logon resets the numbers). The store of an offline CompID is opened on demand and closed
    /// at the end of the pass (`offlineStores`). False when the CompID has no store here (never
    /// logged on) or the message does not fit.
    @discardableResult
    public func send(_ m: FixOut, to compID: String) -> Bool {
        let live = loggedOn[compID]
        if let s = live, s.state == .loggedOn { s.send(m); return true }
        let store: FixFileStore
        if let held = live?.store, held.isOpen {
            store = held  // a session still ending (Logout sent) holds the store open
        } else if let st = offlineStores[compID] ?? FixFileStore(directory: config.storeDirectory, sender: config.senderCompID, target: compID,
                                                                   fsyncEveryMessage: config.fsyncEveryMessage, create: false) {
            store = st
            offlineStores[compID] = st
        } else {
            return false
        }
        guard let bytes = FixSession<App>.encode(m, sender: config.senderCompID, target: compID, seq: store.nextSender,
                                                 into: offlineBuffer, capacity: offlineCapacity) else { return false }
        store.recordSent(seq: store.nextSender, bytes: bytes)
        storedForResend += 1
        return true
    }

    /// Messages kept for a counterparty that was not logged on (see `send(_:to:)`).
    public private(set) var storedForResend = 0
    let offlineCapacity = 1 << 16
    let offlineBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)

    /// Closes every connection now.
    public func disconnectAll(_ why: String) {
        for s in connections { s.disconnect(why) }
        sweep()
    }

    func acceptAll() {
        while let (c, _) = listener.accept() {
            if connections.count >= maxConnections { listener.refuse(c); continue }
            let s = FixSession(fd: c, config: config, app: app, initiator: false)
            s.acceptor = self
            session = s
            connections.append(s)
            if keepHistory { sessions.append(s) }
        }
    }

    func sweep() {
        var closed = false
        for s in connections { s.store?.commit() } // reports sent since the sessions' own passes
        for s in connections where !s.isOpen {
            closed = true
            if let peer = s.peerCompID, loggedOn[peer] === s {
                loggedOn[peer] = nil
                app.sessionEnded(peer: peer)
            }
        }
        if closed { connections.removeAll { !$0.isOpen } }
        if !offlineStores.isEmpty {
            for st in offlineStores.values { st.close() }
            offlineStores.removeAll()
        }
    }

    // Called by the sessions (FixSessionOwner).

    package func takeOfflineStore(_ peer: String) -> FixFileStore? { offlineStores.removeValue(forKey: peer) }

    package func isLoggedOn(_ peer: String, other: ObjectIdentifier) -> Bool {
        guard let live = loggedOn[peer], ObjectIdentifier(live) != other, live.isOpen else { return false }
        return true
    }

    package func didRefuseLogon() { refusedLogons += 1 }
    package func didDropSlowClient() { slowClientDisconnects += 1 }

    package func didLogOn(peer: String?, session: ObjectIdentifier) {
        guard let peer, let s = connections.first(where: { ObjectIdentifier($0) == session }) else { return }
        if let old = loggedOn[peer], old !== s, !old.isOpen { sweep() }  // its end is told first
        loggedOn[peer] = s
        logons += 1
        app.loggedOn(peer: peer)
    }
}

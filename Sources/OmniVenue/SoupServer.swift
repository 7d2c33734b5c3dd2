import OmniEngine
import OmniNet
import OmniWire
import CSys
import CWire
import Glibc
import Synchronization

/// SoupBinTCP server settings. Intervals are nanoseconds; tests shorten them.
public struct SoupServerConfig: Sendable {
    public var host = "127.0.0.1"
    /// 0: an ephemeral port, read back from `SoupServer.port`.
    public var port: UInt16 = 0
    /// The session name sent in Login Accepted (at most 10 characters).
    public var sessionName = "OMNI000001"
    /// username -> password; nil accepts any login.
    public var credentials: [String: String]? = nil
    /// A Server Heartbeat goes out when nothing else was sent for this long (spec: 1 s).
    public var heartbeatIntervalNs: UInt64 = 1_000_000_000
    /// A client silent for this long is disconnected (spec: 15 s).
    public var clientTimeoutNs: UInt64 = 15_000_000_000
    /// SO_BUSY_POLL (µs) on every accepted connection (0: off).
    public var busyPollMicroseconds = 0
    /// A connection that has not logged in this long after it was accepted is closed, however
    /// many bytes it trickles in.
    public var loginTimeoutNs: UInt64 = 5_000_000_000
    /// Sequenced messages kept per user for replay on re-login; older ones cannot be requested,
    /// and a connected client that falls this far behind is cut off (`laggedClients`).
    public var logCapacity = 1 << 16
    /// Login names with a stream (each holds a log of `logCapacity` × `maxMessage` bytes): a
    /// login with a further new name is rejected as not authorized. Bounds the memory that
    /// accept-any mode (`credentials` nil) hands to whoever connects.
    public var maxUsers = 64
    /// Open connections, logged in or not; a further connection is accepted and closed at once.
    public var maxConnections = 64
    /// Largest sequenced message the log holds.
    public var maxMessage = 128
    /// Largest length field accepted from a client (type + payload); more is a protocol error.
    public var maxClientPacket: UInt16 = 1024
    /// Send buffer per connection; a client too slow to drain it falls behind the log, then
    /// is disconnected when even a heartbeat no longer fits.
    public var sendBuffer = 1 << 20
    /// Longest wait in one poll turn of `run`, which bounds how late `tick` runs.
    public var pollTimeoutMs: Int32 = 1
    public init() {}
}

/// One login name's sequenced stream; it outlives connections so a re-login can replay it.
public struct SoupUser: Hashable, Sendable {
    public let index: Int
}

/// What the server is serving: it sees each client's unsequenced messages, gets a turn on
/// every loop pass, and hears when a user logs in and when that connection goes away. All
/// run on the server's thread.
public protocol SoupServerApplication: AnyObject {
    func received(_ payload: UnsafeRawBufferPointer, from user: SoupUser, server: SoupServer)
    func tick(server: SoupServer)
    /// A login for `user` was accepted (Login Accepted is queued; the replay follows).
    func loggedIn(_ user: SoupUser, server: SoupServer)
    /// The connection `user` logged in on is gone: Logout, End of Session, timeout, peer
    /// closed, a protocol error, or a re-login of the same user replacing it (called before
    /// the new login's `loggedIn`). Called once per logged-in connection.
    func disconnected(_ user: SoupUser, server: SoupServer)
}

extension SoupServerApplication {
    public func loggedIn(_ user: SoupUser, server: SoupServer) {}
    public func disconnected(_ user: SoupUser, server: SoupServer) {}
}

/// A bounded log of sequenced messages in fixed slots, allocated once.
final class SoupStream {
    let name: String
    let slot: Int
    let capacity: Int
    private let bytes: UnsafeMutablePointer<UInt8>
    private let lengths: UnsafeMutablePointer<Int32>
    private(set) var last: UInt64 = 0 // sequence number of the newest message, 0 when none

    init(name: String, slot: Int, capacity: Int) {
        self.name = name
        self.slot = slot
        self.capacity = capacity
        bytes = .allocate(capacity: slot * capacity)
        lengths = .allocate(capacity: capacity)
    }
    deinit { bytes.deallocate(); lengths.deallocate() }

    var oldest: UInt64 { last < UInt64(capacity) ? 1 : last - UInt64(capacity) + 1 }

    /// Lets `body` write one message (at most `slot` bytes) into the next slot; returns its sequence number.
    @inline(__always)
    func append(_ body: (UnsafeMutablePointer<UInt8>) -> Int) -> UInt64 {
        let i = Int(last % UInt64(capacity))
        let n = body(bytes + i * slot)
        precondition(n >= 0 && n <= slot, "sequenced message of \(n) bytes exceeds the log slot of \(slot)")
        lengths[i] = Int32(n)
        last += 1
        return last
    }

    /// Lets `encode` write one message into the next slot, given the slot's size; returns its
    /// sequence number, or nil (nothing sequenced) when `encode` wrote 0 bytes: an encoder that
    /// did not fit writes nothing, so the slot still holds the message it held.
    @inline(__always)
    func append(encode: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> UInt64? {
        let i = Int(last % UInt64(capacity))
        let n = encode(bytes + i * slot, slot)
        precondition(n >= 0 && n <= slot, "sequenced message of \(n) bytes exceeds the log slot of \(slot)")
        if n == 0 { return nil }
        lengths[i] = Int32(n)
        last += 1
        return last
    }

    func message(_ seq: UInt64) -> UnsafeRawBufferPointer {
        let i = Int((seq - 1) % UInt64(capacity))
        return UnsafeRawBufferPointer(start: bytes + i * slot, count: Int(lengths[i]))
    }
}

/// The SoupBinTCP 3.00 server side: listens, accepts many clients, checks logins, numbers
/// every sequenced message from 1 per user, keeps a bounded log for replay, sends Server
/// Heartbeats when idle and drops silent clients. Single-threaded: `pollOnce` (or the
/// thread `start` runs) does all I/O and calls the application.
public final class SoupServer: @unchecked Sendable {
    public let config: SoupServerConfig
    public var port: UInt16 { listener.port }
    public var endpoint: String { listener.endpoint }
    private let listener: TCPListener

    private enum State { case awaitingLogin, loggedIn(Int), closing }
    private final class Client {
        let link: SoupLink
        var state: State = .awaitingLogin
        var nextToSend: UInt64 = 1
        /// The user this connection logged in as, kept through `.closing` for the disconnect hook.
        var loginUser = -1
        /// This connection's index in the poll set of the current pass (-1: not registered).
        var pollIndex = -1
        let acceptedNs: UInt64
        init(link: SoupLink, acceptedNs: UInt64) { self.link = link; self.acceptedNs = acceptedNs }
        var user: Int? { if case .loggedIn(let u) = state { return u }; return nil }
    }
    private var clients: [Client] = []
    private var streams: [SoupStream] = []
    private var userByName: [String: Int] = [:]
    private let ownPollSet = PollSet(capacity: 16)
    private var listenIndex = -1
    private var ended = false

    private let stopFlag = Atomic<Bool>(false)
    private let endFlag = Atomic<Bool>(false)
    private var thread: PinnedThread?

    /// Counters, read on the server thread or after `stop()`.
    public private(set) var loginsAccepted = 0, loginsRejected = 0, timeouts = 0, protocolErrors = 0, heartbeatsSent = 0
    /// Clients cut off because they fell more than `logCapacity` messages behind their stream:
    /// the slots they had yet to read were reused, and wrong data is never sent.
    public private(set) var laggedClients = 0
    /// Connections closed on accept (`maxConnections` reached, or no descriptor left), and
    /// logins rejected because `maxUsers` names already have a stream.
    public private(set) var usersRefused = 0
    public var connectionsRefused: Int { listener.refused }

    public init(_ config: SoupServerConfig) throws(SoupError) {
        precondition(config.sessionName.utf8.count <= 10, "a SoupBinTCP session name has at most 10 characters")
        self.config = config
        do { listener = try TCPListener(host: config.host, port: config.port) } catch {
            throw SoupError(endpoint: error.endpoint, problem: error.problem)
        }
        listener.busyPollMicroseconds = config.busyPollMicroseconds
    }

    deinit {
        stop()
        for c in clients { c.link.close() }
    }

    // ------------------------------------------------------------ streams

    /// The stream for a login name, created on first use; nil when `maxUsers` names have one.
    public func user(named name: String) -> SoupUser? {
        if let i = userByName[name] { return SoupUser(index: i) }
        guard streams.count < config.maxUsers else { return nil }
        streams.append(SoupStream(name: name, slot: config.maxMessage, capacity: config.logCapacity))
        userByName[name] = streams.count - 1
        return SoupUser(index: streams.count - 1)
    }

    public func name(of user: SoupUser) -> String { streams[user.index].name }

    /// Sequence number of the newest message sent on the user's stream (0: none yet).
    public func lastSequence(of user: SoupUser) -> UInt64 { streams[user.index].last }

    /// Appends a sequenced message to the user's stream; `body` writes it (at most
    /// `config.maxMessage` bytes) and returns its length. Connected clients get it on this
    /// loop pass; disconnected ones on re-login. Server thread only.
    @inline(__always)
    @discardableResult
    public func sequence(to user: SoupUser, _ body: (UnsafeMutablePointer<UInt8>) -> Int) -> UInt64 {
        unsent = true
        return streams[user.index].append(body)
    }

    /// Appends a sequenced message that `encode` writes into the log slot it is given (pointer and
    /// size: `config.maxMessage` bytes), returning the bytes written. Returns the sequence number,
    /// or 0 when `encode` wrote nothing (an encoder refusing a slot too small for its message):
    /// then nothing is sequenced and `refusedMessages` counts it. Server thread only.
    @inline(__always)
    @discardableResult
    public func sequence(to user: SoupUser, encode: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> UInt64 {
        guard let seq = streams[user.index].append(encode: encode) else { refusedMessages &+= 1; return 0 }
        unsent = true
        return seq
    }

    /// Messages `sequence(to:encode:)` refused because the encoder wrote nothing (slot too small).
    public private(set) var refusedMessages: UInt64 = 0

    /// Whether messages were sequenced since the last send step (`service`, or `handle`'s end):
    /// a loop that fed this server from elsewhere calls `service` only then.
    public private(set) var unsent = false

    @discardableResult
    public func sequence(to user: SoupUser, bytes: UnsafeRawBufferPointer) -> UInt64 {
        sequence(to: user) { dst in
            if bytes.count > 0 { dst.update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
            return bytes.count
        }
    }

    public var connectedClients: Int { clients.count }

    /// Whether a connection is logged in as `user` now.
    public func isConnected(_ user: SoupUser) -> Bool {
        clients.contains { !$0.link.closed && $0.user == user.index }
    }

    // ------------------------------------------------------------ running

    /// Runs the loop on a thread of its own until `stop()`.
    public func start<A: SoupServerApplication>(_ app: A) {
        precondition(thread == nil, "the server runs once")
        // A server that cannot get its one thread cannot serve at all.
        do { thread = try PinnedThread(name: "soup-server") { [self] _ in
            while !stopFlag.load(ordering: .acquiring) { pollOnce(app, timeoutMs: config.pollTimeoutMs) }
        } } catch { preconditionFailure("\(error)") }
    }

    /// Stops the loop thread and waits for it.
    public func stop() {
        stopFlag.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    /// Ends the session (from any thread): every client is sent what it has not yet
    /// received, then End of Session, and is disconnected; later logins are refused.
    public func endSession() { endFlag.store(true, ordering: .releasing) }

    /// One pass on a poll set of its own: waits up to `timeoutMs` for I/O, then `handle`.
    public func pollOnce<A: SoupServerApplication>(_ app: A, timeoutMs: Int32) {
        ownPollSet.reset()
        register(in: ownPollSet)
        ownPollSet.wait(timeoutMs: timeoutMs)
        handle(app, in: ownPollSet, now: csys_monotonic_ns())
    }

    // ------------------------------------------------------------ driven from an outside poll

    /// Adds the listening socket and every client (POLLIN; POLLOUT while a send is pending)
    /// to `set`, remembering their indices for `handle`. Register, wait, handle: one pass.
    public func register(in set: PollSet) {
        listenIndex = listener.accepting(now: csys_monotonic_ns()) ? set.add(listener.fd, events: Int16(POLLIN)) : -1
        for c in clients {
            var ev = Int16(POLLIN)
            if c.link.txPending > 0 { ev |= Int16(POLLOUT) }
            c.pollIndex = set.add(c.link.fd, events: ev)
        }
    }

    /// After `set.wait`: reads and handles the packets of every ready client, accepts new
    /// connections, gives the application its tick, sends sequenced backlog and heartbeats,
    /// drops silent clients. Also right without a wait in between (then it only services).
    public func handle<A: SoupServerApplication>(_ app: A, in set: PollSet, now: UInt64) {
        for c in clients where c.pollIndex >= 0 {
            let i = c.pollIndex
            c.pollIndex = -1
            if set.revents(at: i) != 0 { receive(c, app, now) }
        }
        if listenIndex >= 0 {
            if set.revents(at: listenIndex) & Int16(POLLIN) != 0 { acceptAll(now) } // not polled until the next pass
            listenIndex = -1
        }
        if endFlag.load(ordering: .acquiring) && !ended { ended = true }
        app.tick(server: self)
        service(app, now)
    }

    /// Sends what the clients have not yet received (sequenced backlog, heartbeats, End of
    /// Session), flushes, drops silent clients. `handle` ends with it; a loop that sequenced
    /// messages after this server's `handle` (from another server's input) calls it to send them now.
    public func service<A: SoupServerApplication>(_ app: A, _ now: UInt64) {
        unsent = false
        var anyClosed = false
        for c in clients {
            serviceClient(c, now)
            if c.link.closed { gone(c, app); anyClosed = true }
        }
        if anyClosed { clients.removeAll { $0.link.closed } }
    }

    /// Monotonic ns when the next timer falls due: a Server Heartbeat to an idle client or a
    /// silent client's timeout (UInt64.max with no clients). A loop waits at most until then.
    public func nextTimerNs() -> UInt64 {
        var due = UInt64.max
        for c in clients where !c.link.closed {
            let l = c.link
            switch c.state {
            case .awaitingLogin:
                due = min(due, c.acceptedNs &+ config.loginTimeoutNs)
            case .loggedIn(let u):
                // Backlog to send now, unless the send buffer is full: then POLLOUT wakes the loop.
                if (c.nextToSend <= streams[u].last || ended) && l.txPending == 0 { return 0 }
                due = min(due, l.lastReceiveNs &+ config.clientTimeoutNs, l.lastSendNs &+ config.heartbeatIntervalNs)
            case .closing:
                if l.txPending == 0 { return 0 }
            }
        }
        return due
    }

    /// The disconnect hook, once per logged-in connection.
    private func gone<A: SoupServerApplication>(_ c: Client, _ app: A) {
        guard c.loginUser >= 0 else { return }
        let u = c.loginUser
        c.loginUser = -1
        app.disconnected(SoupUser(index: u), server: self)
    }

    // ------------------------------------------------------------ internals

    private func acceptAll(_ now: UInt64) {
        while let (fd, peer) = listener.accept() {
            if clients.count >= config.maxConnections { listener.refuse(fd); continue }
            let link = SoupLink(fd: fd, endpoint: peer, maxPacket: config.maxClientPacket, txCapacity: config.sendBuffer, now: now)
            clients.append(Client(link: link, acceptedNs: now))
        }
    }

    private func receive<A: SoupServerApplication>(_ c: Client, _ app: A, _ now: UInt64) {
        let r = c.link.read(now: now)
        var pkt = cw_soup_packet()
        loop: while case .loggedIn = c.state {
            let st = c.link.next(&pkt)
            if st == CW_SOUP_NEED_MORE { break }
            if st != CW_SOUP_OK { protocolErrors += 1; c.link.close(); return }
            switch pkt.type {
            case UInt8(ascii: "U"):
                app.received(UnsafeRawBufferPointer(start: pkt.payload, count: Int(pkt.payload_len)),
                             from: SoupUser(index: c.user!), server: self)
            case UInt8(ascii: "R"), UInt8(ascii: "+"):
                break // the read already counted as life
            case UInt8(ascii: "O"):
                c.state = .closing
                break loop
            default: // a second login or a server-only type: the client is broken
                protocolErrors += 1
                c.link.close()
                return
            }
        }
        if case .awaitingLogin = c.state {
            let st = c.link.next(&pkt)
            if st == CW_SOUP_OK {
                login(c, pkt, now, app)
                if case .loggedIn = c.state { receive(c, app, now); return } // packets behind the login
            } else if st != CW_SOUP_NEED_MORE {
                protocolErrors += 1
                c.link.close()
                return
            }
        }
        if r != .ok { c.link.close() }
    }

    private func reject(_ c: Client, _ reason: UInt8) {
        _ = c.link.append(max: 4) { cw_soup_put_login_rejected($0, 4, reason) }
        loginsRejected += 1
        c.state = .closing
    }

    private func login<A: SoupServerApplication>(_ c: Client, _ pkt: cw_soup_packet, _ now: UInt64, _ app: A) {
        var req = cw_soup_login_request()
        var p = pkt
        if cw_soup_parse_login_request(&p, &req) != 0 { protocolErrors += 1; c.link.close(); return }
        let username = fieldText(req.username), password = fieldText(req.password), session = fieldText(req.session)
        if let creds = config.credentials, creds[username] != password {
            reject(c, UInt8(ascii: "A"))
            return
        }
        if ended || (!session.isEmpty && session != config.sessionName) {
            reject(c, UInt8(ascii: "S"))
            return
        }
        guard let u = user(named: username) else {
            usersRefused += 1
            reject(c, UInt8(ascii: "A"))
            return
        }
        let s = streams[u.index]
        var next = req.sequence == 0 ? s.last + 1 : min(req.sequence, s.last + 1)
        if next < s.oldest {
            reject(c, UInt8(ascii: "S")) // asked for messages the bounded log no longer holds
            return
        }
        if next == 0 { next = 1 }
        // One connection per user: a re-login replaces a connection the server still holds.
        for other in clients where other !== c && other.user == u.index { other.link.close(); gone(other, app) }
        c.state = .loggedIn(u.index)
        c.loginUser = u.index
        c.nextToSend = next
        let name = config.sessionName
        _ = c.link.append(max: 33) { dst in
            name.withCString { cw_soup_put_login_accepted(dst, 33, $0, strlen($0), next) }
        }
        loginsAccepted += 1
        app.loggedIn(u, server: self)
    }

    private func serviceClient(_ c: Client, _ now: UInt64) {
        let l = c.link
        if l.closed { return }
        switch c.state {
        case .awaitingLogin:
            if csys_elapsed_ns(now, c.acceptedNs) >= config.loginTimeoutNs { timeouts += 1; l.close(); return }
        case .loggedIn(let u):
            let s = streams[u]
            if c.nextToSend < s.oldest { laggedClients += 1; l.close(); return }
            while c.nextToSend <= s.last {
                let m = s.message(c.nextToSend)
                if !l.appendPacket(UInt8(ascii: "S"), m) { break } // the send buffer is full: resume next pass
                c.nextToSend += 1
            }
            if ended && c.nextToSend > s.last {
                if l.appendEmpty(UInt8(ascii: "Z")) { c.state = .closing }
            } else if csys_elapsed_ns(now, l.lastReceiveNs) >= config.clientTimeoutNs {
                timeouts += 1
                l.close()
                return
            } else if l.txPending == 0 && csys_elapsed_ns(now, l.lastSendNs) >= config.heartbeatIntervalNs {
                if !l.appendEmpty(UInt8(ascii: "H")) { l.close(); return }
                heartbeatsSent += 1
            }
        case .closing: // a client that stops reading cannot hold its last bytes open for ever
            if csys_elapsed_ns(now, l.lastSendNs) >= config.clientTimeoutNs { timeouts += 1; l.close(); return }
        }
        if l.flush(now: now) != 0 { l.close(); return }
        if case .closing = c.state, l.txPending == 0 { l.close() }
    }
}

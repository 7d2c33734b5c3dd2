import OmniNet
import OmniWire
import CSys
import CWire
import Glibc

/// SoupBinTCP client settings. Intervals are nanoseconds; tests shorten them.
public struct SoupClientConfig: Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16
    public var username: String
    public var password: String
    /// Blank: whatever session the server is running.
    public var session = ""
    /// A Client Heartbeat goes out when nothing else was sent for this long (spec: 1 s).
    public var heartbeatIntervalNs: UInt64 = 1_000_000_000
    /// A server silent for this long is taken as gone (spec: 15 s).
    public var serverTimeoutNs: UInt64 = 15_000_000_000
    public var connectTimeoutMs: Int32 = 2_000
    /// Longest wait for Login Accepted / Rejected.
    public var loginTimeoutMs: Int32 = 5_000
    /// Largest length field accepted from the server; more is a protocol error.
    public var maxServerPacket: UInt16 = 4096
    public var sendBuffer = 1 << 16
    /// How the orders leave: send(2), or io_uring (SQPOLL: no syscall per send).
    public var transmit: OrderTransmit = .send
    /// SO_BUSY_POLL on the connection (µs; 0: off).
    public var busyPollMicroseconds = 0
    public init(host: String = "127.0.0.1", port: UInt16, username: String, password: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }
}

/// How a client's bytes leave: send(2) per flush, or io_uring, with a kernel thread polling the
/// submission queue (SQPOLL, pinned to `sqpollCore` when given) or not.
public enum OrderTransmit: Sendable, Equatable {
    case send
    case ioUring(sqpoll: Bool, sqpollCore: Int?)
}

/// What a client poll delivers. Payloads point into the receive buffer: valid only
/// inside the callback.
public enum SoupClientEvent {
    case sequenced(sequence: UInt64, payload: UnsafeRawBufferPointer)
    case unsequenced(UnsafeRawBufferPointer)
    case debug(UnsafeRawBufferPointer)
    /// The server ended the session; the connection is closed.
    case endOfSession
    /// The connection is gone (peer closed, silent past the timeout, protocol error).
    case disconnected(SoupError)
}

/// The SoupBinTCP 3.00 client side: connects, logs in (a re-login asks for the next
/// sequence number it has not yet seen, so nothing is lost or delivered twice), sends
/// Client Heartbeats when idle and notices a silent server.
public final class SoupClient {
    public let config: SoupClientConfig
    public var endpoint: String { "\(config.host):\(config.port)" }
    /// Sequence number of the next sequenced message expected.
    public private(set) var nextSequence: UInt64 = 1
    /// Session name from the last Login Accepted.
    public private(set) var session = ""
    private var link: SoupLink?
    public var isConnected: Bool { link.map { !$0.closed } ?? false }
    /// The io_uring sender's counts (nil: send(2), or not connected).
    public var transmitStats: RingSenderStats? { link?.senderStats }
    public private(set) var heartbeatsSent = 0, heartbeatsReceived = 0

    public init(_ config: SoupClientConfig) { self.config = config }
    deinit { link?.close() }

    /// Connects and logs in, asking for `sequence` (default: `nextSequence`, so a re-login
    /// resumes right after the last message received; 0 asks for new messages only).
    /// Throws on refusal, rejection or timeout, naming host:port and the cause.
    public func connect(sequence: UInt64? = nil) throws(SoupError) {
        link?.close()
        link = nil
        let fd: Int32
        do { fd = try TCP.connect(host: config.host, port: config.port, timeoutMs: config.connectTimeoutMs) } catch {
            throw SoupError(endpoint: error.endpoint, problem: error.problem)
        }
        if config.busyPollMicroseconds > 0, let e = setBusyPoll(fd, microseconds: config.busyPollMicroseconds) {
            close(fd)
            throw fail("SO_BUSY_POLL \(config.busyPollMicroseconds) µs: \(errnoText(e))")
        }
        var sender: RingSender?
        if case .ioUring(let sqpoll, let core) = config.transmit {
            do { sender = try RingSender(fd: fd, sqpoll: sqpoll, sqpollCore: core) } catch {
                close(fd)
                throw fail(error.problem)
            }
        }
        let now = csys_monotonic_ns()
        let l = SoupLink(fd: fd, endpoint: endpoint, maxPacket: config.maxServerPacket, txCapacity: config.sendBuffer, now: now, sender: sender)
        let want = sequence ?? nextSequence
        let (u, p, s) = (config.username, config.password, config.session)
        _ = l.append(max: 49) { dst in
            u.withCString { uc in p.withCString { pc in s.withCString { sc in
                cw_soup_put_login_request(dst, 49, uc, strlen(uc), pc, strlen(pc), sc, strlen(sc), want)
            } } }
        }
        let deadline = now + UInt64(config.loginTimeoutMs) * 1_000_000
        while true {
            if l.flush(now: csys_monotonic_ns()) != 0 { throw fail("connection lost while logging in: \(errnoText(errno))") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let t = csys_monotonic_ns()
            if t >= deadline { throw fail("no login response within \(config.loginTimeoutMs) ms") }
            _ = Glibc.poll(&pfd, 1, Int32((deadline - t) / 1_000_000) + 1)
            let r = l.read(now: csys_monotonic_ns())
            var pkt = cw_soup_packet()
            let st = l.next(&pkt)
            if st == CW_SOUP_OK {
                switch pkt.type {
                case UInt8(ascii: "A"):
                    var acc = cw_soup_login_accepted()
                    if cw_soup_parse_login_accepted(&pkt, &acc) != 0 { throw fail("malformed Login Accepted") }
                    session = fieldText(acc.session)
                    nextSequence = acc.sequence
                    link = l
                    return
                case UInt8(ascii: "J"):
                    let reason = cw_soup_parse_login_rejected(&pkt)
                    let why = reason == UInt8(ascii: "A") ? "not authorized (A): bad username or password"
                        : reason == UInt8(ascii: "S") ? "session not available (S): unknown session or sequence out of range"
                        : "malformed Login Rejected"
                    throw fail("login rejected: \(why)")
                case UInt8(ascii: "H"), UInt8(ascii: "+"):
                    continue
                default:
                    throw fail("unexpected packet type \(pkt.type) before the login response")
                }
            }
            if st != CW_SOUP_NEED_MORE { throw fail("protocol error while logging in (status \(st.rawValue))") }
            if r == .peerClosed { throw fail("server closed the connection before answering the login") }
            if case .failed(let e) = r { throw fail("read while logging in: \(errnoText(e))") }
        }
    }

    private func fail(_ problem: String) -> SoupError { SoupError(endpoint: endpoint, problem: problem) }

    /// Queues one Unsequenced Data packet and tries to send it at once.
    public func send(_ payload: UnsafeRawBufferPointer) throws(SoupError) {
        try send(max: payload.count) { dst in
            if payload.count > 0 { dst.update(from: payload.baseAddress!.assumingMemoryBound(to: UInt8.self), count: payload.count) }
            return payload.count
        }
    }

    /// Unsequenced Data whose payload (at most `max` bytes) `body` writes in place; sent at once,
    /// or with `flush: false` left in the send buffer for `flush()` (a pass's messages in one send).
    @inline(__always)
    public func send(max: Int, flush: Bool = true, _ body: (UnsafeMutablePointer<UInt8>) -> Int) throws(SoupError) {
        try send(max: max, flush: flush, refusingEmpty: false) { p, _ in body(p) }
    }

    /// Unsequenced Data that an encoder writes in place, given the room (`max` bytes) as its
    /// capacity. An encoder's 0 means its message did not fit: nothing is queued and this throws.
    @inline(__always)
    public func send(max: Int, flush: Bool = true, encode: (UnsafeMutablePointer<UInt8>, Int) -> Int) throws(SoupError) {
        try send(max: max, flush: flush, refusingEmpty: true, encode)
    }

    @inline(__always)
    private func send(max: Int, flush: Bool, refusingEmpty: Bool, _ body: (UnsafeMutablePointer<UInt8>, Int) -> Int) throws(SoupError) {
        guard let l = link, !l.closed else { throw fail("not connected") }
        var refused = false
        let ok = l.append(max: max + 3) { dst in
            let n = body(dst + 3, max)
            if n == 0 && refusingEmpty { refused = true; return 0 } // nothing committed: the header is not written either
            _ = cw_soup_put_header(dst, 3, UInt8(ascii: "U"), n)
            return n + 3
        }
        if !ok { throw fail("send buffer full (\(l.txPending) bytes unsent)") }
        if refused { throw fail("encoder refused its message: larger than the \(max) bytes given") }
        if flush { try self.flush() }
    }

    /// Writes what the send buffer holds (what the socket takes now; the rest on later calls).
    public func flush() throws(SoupError) {
        guard let l = link, !l.closed else { throw fail("not connected") }
        let e = l.flush(now: csys_monotonic_ns())
        if e != 0 { l.close(); throw fail("send: \(errnoText(e))") }
    }

    /// Sends Logout Request and closes the connection.
    public func logout() {
        guard let l = link, !l.closed else { return }
        _ = l.appendEmpty(UInt8(ascii: "O"))
        // io_uring sends complete later: give the logout 10 ms to leave (send(2) leaves at once).
        let end = csys_monotonic_ns() + 10_000_000
        while l.flush(now: csys_monotonic_ns()) == 0 && l.txPending > 0 && csys_monotonic_ns() < end {}
        l.close()
    }

    /// Drops the connection without logging out (as a network failure would).
    public func disconnect() { link?.close() }

    /// Waits up to `timeoutMs` for data, then delivers every whole packet received; sends a
    /// heartbeat when due and reports a server silent past the timeout. With `timeoutMs` 0 it
    /// makes no poll(2): it reads the non-blocking socket at once (a busy loop's every pass).
    public func poll(timeoutMs: Int32, _ onEvent: (SoupClientEvent) -> Void) {
        guard let l = link, !l.closed else { return }
        var ready = true
        if timeoutMs != 0 {
            var pfd = pollfd(fd: l.fd, events: Int16(POLLIN) | (l.txPending > 0 ? Int16(POLLOUT) : 0), revents: 0)
            _ = Glibc.poll(&pfd, 1, cw_soup_rx_pending(l.rx) > 0 ? 0 : timeoutMs)
            ready = pfd.revents != 0
        }
        let now = csys_monotonic_ns()
        let r = ready ? l.read(now: now) : .ok
        var pkt = cw_soup_packet()
        while true {
            let st = l.next(&pkt)
            if st == CW_SOUP_NEED_MORE { break }
            if st != CW_SOUP_OK {
                l.close()
                onEvent(.disconnected(fail("protocol error: bad packet length from the server")))
                return
            }
            let payload = UnsafeRawBufferPointer(start: pkt.payload, count: Int(pkt.payload_len))
            switch pkt.type {
            case UInt8(ascii: "S"):
                let seq = nextSequence
                nextSequence += 1
                onEvent(.sequenced(sequence: seq, payload: payload))
            case UInt8(ascii: "H"): heartbeatsReceived += 1
            case UInt8(ascii: "U"): onEvent(.unsequenced(payload))
            case UInt8(ascii: "+"): onEvent(.debug(payload))
            case UInt8(ascii: "Z"):
                l.close()
                onEvent(.endOfSession)
                return
            default:
                l.close()
                onEvent(.disconnected(fail("protocol error: unexpected packet type \(pkt.type)")))
                return
            }
        }
        switch r {
        case .peerClosed: l.close(); onEvent(.disconnected(fail("server closed the connection"))); return
        case .failed(let e): l.close(); onEvent(.disconnected(fail("read: \(errnoText(e))"))); return
        case .ok: break
        }
        if csys_elapsed_ns(now, l.lastReceiveNs) >= config.serverTimeoutNs {
            l.close()
            onEvent(.disconnected(fail("server silent for \(csys_elapsed_ns(now, l.lastReceiveNs) / 1_000_000) ms (timeout \(config.serverTimeoutNs / 1_000_000) ms)")))
            return
        }
        if l.txPending == 0 && csys_elapsed_ns(now, l.lastSendNs) >= config.heartbeatIntervalNs {
            _ = l.appendEmpty(UInt8(ascii: "R"))
            heartbeatsSent += 1
        }
        if l.flush(now: now) != 0 {
            l.close()
            onEvent(.disconnected(fail("send: \(errnoText(errno))")))
        }
    }
}

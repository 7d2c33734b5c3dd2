import OmniWire
import OmniVenue
import OmniNet
import CWire
import Glibc
import OmniGateway
import Testing

/// Echoes each unsequenced message back as a sequenced one; counts what it saw.
final class EchoApp: SoupServerApplication {
    var received = 0
    func received(_ payload: UnsafeRawBufferPointer, from user: SoupUser, server: SoupServer) {
        received += 1
        server.sequence(to: user, bytes: payload)
    }
    func tick(server: SoupServer) {}
}

/// Everything one client sees until `until` says stop or `ms` pass.
func events(_ c: SoupClient, ms: Int, until: ([String]) -> Bool = { _ in false }) -> [String] {
    var seen: [String] = []
    let end = monotonicMs() + ms
    while monotonicMs() < end && !until(seen) {
        c.poll(timeoutMs: 5) { ev in
            switch ev {
            case .sequenced(let s, let p): seen.append("S\(s):" + String(decoding: p, as: UTF8.self))
            case .unsequenced: seen.append("U")
            case .debug: seen.append("+")
            case .endOfSession: seen.append("Z")
            case .disconnected(let e): seen.append("X:" + e.description)
            }
        }
    }
    return seen
}

func send(_ c: SoupClient, _ s: String) throws { try Array(s.utf8).withUnsafeBytes { try c.send($0) } }

@Suite("SoupBinTCP sessions, loopback")
struct SoupSessionTests {
    func start(_ tweak: (inout SoupServerConfig) -> Void = { _ in }) throws -> (SoupServer, EchoApp) {
        var cfg = SoupServerConfig()
        cfg.credentials = ["alice": "pw", "bob": "pw2"]
        tweak(&cfg)
        let s = try SoupServer(cfg)
        let app = EchoApp()
        s.start(app)
        return (s, app)
    }

    @Test func loginAcceptedAndRejected() throws {
        let (server, _) = try start()
        defer { server.stop() }
        let ok = SoupClient(clientConfig(server.port))
        try ok.connect()
        #expect(ok.isConnected && ok.session == "OMNI000001" && ok.nextSequence == 1)

        let badPassword = SoupClient(clientConfig(server.port, "alice", "nope"))
        #expect {
            try badPassword.connect()
        } throws: { e in
            let d = "\(e)"
            return d.contains("127.0.0.1:\(server.port)") && d.contains("not authorized (A)")
        }
        var wrongSession = clientConfig(server.port, "bob", "pw2")
        wrongSession.session = "OTHER"
        #expect {
            try SoupClient(wrongSession).connect()
        } throws: { e in "\(e)".contains("session not available (S)") }
        #expect(!badPassword.isConnected)
    }

    @Test func acceptAnyModeAndConnectErrorsNameTheEndpoint() throws {
        let (server, _) = try start { $0.credentials = nil }
        let c = SoupClient(clientConfig(server.port, "whoever", "x"))
        try c.connect()
        try send(c, "hello")
        #expect(events(c, ms: 2000, until: { !$0.isEmpty }) == ["S1:hello"])
        let port = server.port
        server.stop()
        _ = consume server  // closes the listening socket
        #expect {
            try SoupClient(clientConfig(port)).connect()
        } throws: { e in
            let d = "\(e)"
            return d.contains("127.0.0.1:\(port)") && d.contains("connect") && (d.contains("refused") || d.contains("closed"))
        }
        #expect {
            try SoupClient(SoupClientConfig(host: "not-an-ip", port: 1, username: "a", password: "b")).connect()
        } throws: { e in "\(e)".contains("not-an-ip:1") && "\(e)".contains("not an IPv4 address") }
    }

    /// Orders through io_uring (one send in flight; what is appended meanwhile goes out as the
    /// next send), with SO_BUSY_POLL on both ends: every byte arrives, in order, exactly once.
    @Test(arguments: [true, false]) func ordersThroughIoUringArriveWholeAndInOrder(sqpoll: Bool) throws {
        let (server, _) = try start { $0.busyPollMicroseconds = 50 }
        defer { server.stop() }
        var cfg = clientConfig(server.port)
        cfg.transmit = .ioUring(sqpoll: sqpoll, sqpollCore: nil)
        cfg.busyPollMicroseconds = 50
        let c = SoupClient(cfg)
        try c.connect()
        let n = 3_000
        var bytes = 0
        for i in 0..<n {
            try send(c, "order \(i)")
            bytes += 3 + "order \(i)".utf8.count
        }
        let seen = events(c, ms: 10_000, until: { $0.count >= n })
        #expect(seen == (1...n).map { "S\($0):order \($0 - 1)" }, "\(seen.count) of \(n): \(seen.prefix(3)) ... \(seen.suffix(3))")
        let t = try #require(c.transmitStats)
        // The login (49 bytes) and any heartbeat (3) went the same way; sends coalesce what queued behind one in flight.
        #expect(t.bytes >= UInt64(bytes + 49) && (t.bytes - UInt64(bytes + 49)) % 3 == 0 && t.sends >= 1 && t.sends <= t.bytes, "\(t), \(bytes) bytes of orders")
        #expect(sqpoll ? t.enters == 0 : t.enters == t.sends, "without SQPOLL every send enters the kernel; with it none does itself: \(t)")
    }

    @Test func heartbeatsKeepAnIdleSessionAlive() throws {
        let (server, _) = try start {
            $0.heartbeatIntervalNs = 30_000_000
            $0.clientTimeoutNs = 400_000_000
        }
        var cfg = clientConfig(server.port)
        cfg.heartbeatIntervalNs = 30_000_000
        cfg.serverTimeoutNs = 400_000_000
        let c = SoupClient(cfg)
        try c.connect()
        let seen = events(c, ms: 1000)
        #expect(seen.isEmpty)               // no disconnect in more than twice the timeout
        #expect(c.isConnected && c.heartbeatsReceived >= 8 && c.heartbeatsSent >= 8)
        try send(c, "still here")
        #expect(events(c, ms: 1000, until: { !$0.isEmpty }) == ["S1:still here"])
        server.stop()
        #expect(server.heartbeatsSent >= 8 && server.timeouts == 0)
    }

    @Test func clientDetectsASilentServer() throws {
        let (server, _) = try start { $0.heartbeatIntervalNs = 60_000_000_000 } // server never heartbeats
        defer { server.stop() }
        var cfg = clientConfig(server.port)
        cfg.serverTimeoutNs = 150_000_000
        let c = SoupClient(cfg)
        try c.connect()
        let t0 = monotonicMs()
        let seen = events(c, ms: 2000, until: { !$0.isEmpty })
        #expect(seen.count == 1 && seen[0].contains("server silent") && seen[0].contains("127.0.0.1:\(server.port)"))
        #expect(monotonicMs() - t0 >= 140 && !c.isConnected)
    }

    @Test func serverDropsASilentClient() throws {
        let (server, _) = try start { $0.clientTimeoutNs = 150_000_000; $0.heartbeatIntervalNs = 20_000_000 }
        var cfg = clientConfig(server.port)
        cfg.heartbeatIntervalNs = 60_000_000_000   // this client never heartbeats
        let c = SoupClient(cfg)
        try c.connect()
        let seen = events(c, ms: 2000, until: { !$0.isEmpty })
        #expect(seen.count == 1 && seen[0].contains("server closed the connection"))
        server.stop()
        #expect(server.timeouts == 1)
    }

    @Test func replayAfterReloginIsExactAndBoundedByTheLog() throws {
        let (server, app) = try start { $0.logCapacity = 4 }
        let c = SoupClient(clientConfig(server.port))
        try c.connect()
        for i in 1...3 { try send(c, "m\(i)") }
        #expect(events(c, ms: 2000, until: { $0.count == 3 }) == ["S1:m1", "S2:m2", "S3:m3"])
        c.disconnect()
        try c.connect()                 // resumes at 4: nothing to replay
        #expect(events(c, ms: 100).isEmpty)
        for i in 4...6 { try send(c, "m\(i)") }
        #expect(events(c, ms: 2000, until: { $0.count == 3 }) == ["S4:m4", "S5:m5", "S6:m6"])
        try c.connect(sequence: 3)      // 3..6 are the four the log still holds
        #expect(events(c, ms: 200) == ["S3:m3", "S4:m4", "S5:m5", "S6:m6"])
        #expect {
            try c.connect(sequence: 2)  // gone from the bounded log
        } throws: { e in "\(e)".contains("session not available (S)") }
        try c.connect(sequence: 99)     // past the end: the server starts at its next message
        #expect(c.nextSequence == 7)
        server.stop()
        #expect(app.received == 6 && server.loginsAccepted == 4 && server.loginsRejected == 1)
    }

    @Test func logoutAndEndOfSession() throws {
        let (server, _) = try start()
        let a = SoupClient(clientConfig(server.port))
        try a.connect()
        a.logout()
        #expect(!a.isConnected)
        try a.connect()                 // a logout does not end the session: log in again
        try send(a, "before end")
        #expect(events(a, ms: 2000, until: { !$0.isEmpty }) == ["S1:before end"])
        let b = SoupClient(clientConfig(server.port, "bob", "pw2"))
        try b.connect()
        server.endSession()
        #expect(events(a, ms: 2000, until: { !$0.isEmpty }) == ["Z"])
        #expect(events(b, ms: 2000, until: { !$0.isEmpty }) == ["Z"])
        #expect(!a.isConnected && !b.isConnected)
        #expect {
            try a.connect()
        } throws: { e in "\(e)".contains("session not available (S)") }
        server.stop()
        #expect(server.connectedClients == 0)
    }

    /// A raw TCP peer that breaks the framing is disconnected and counted.
    @Test func brokenFramingFromAClientIsAProtocolError() throws {
        let (server, _) = try start()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = server.port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        let junk: [UInt8] = [0xFF, 0xFF, UInt8(ascii: "L")] + Array(repeating: 0x20, count: 16) // length 65535 > 1024
        #expect(junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == junk.count)
        var b = [UInt8](repeating: 0, count: 16)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(fd, &b, 16, 0) == 0)   // the server closed without a word
        close(fd)
        server.stop()
        #expect(server.protocolErrors == 1 && server.loginsAccepted == 0)
    }

    /// A second login by the same user replaces the first connection (one stream, one reader).
    @Test func secondLoginReplacesTheFirstConnection() throws {
        let (server, _) = try start()
        let first = SoupClient(clientConfig(server.port))
        try first.connect()
        let second = SoupClient(clientConfig(server.port))
        try second.connect()
        #expect(events(first, ms: 2000, until: { !$0.isEmpty }).first?.contains("server closed the connection") == true)
        try send(second, "mine")
        #expect(events(second, ms: 2000, until: { !$0.isEmpty }) == ["S1:mine"])
        server.stop()
        #expect(server.loginsAccepted == 2)
    }

    /// The application hears every login and, once per logged-in connection, its end: Logout,
    /// a re-login replacing it (before the new login), a client that just closes, a timeout.
    @Test func loginAndDisconnectHooks() throws {
        var cfg = SoupServerConfig()
        cfg.credentials = nil
        cfg.clientTimeoutNs = 300_000_000
        let server = try SoupServer(cfg)
        let app = HookApp()
        server.start(app)
        func settle() { usleep(150_000) }
        let alice = SoupClient(clientConfig(server.port, "alice", "x"))
        try alice.connect()
        alice.logout()
        settle()
        let bob1 = SoupClient(clientConfig(server.port, "bob", "x"))
        try bob1.connect()
        let bob2 = SoupClient(clientConfig(server.port, "bob", "x"))
        try bob2.connect()
        bob2.disconnect()
        settle()
        // A client that never sends again: the server times it out (no client heartbeats here).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = server.port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var login = [UInt8](repeating: 0, count: 64)
        let n = login.withUnsafeMutableBufferPointer { p in
            "carol".withCString { u in "x".withCString { pw in "".withCString { s in
                cw_soup_put_login_request(p.baseAddress, 64, u, 5, pw, 1, s, 0, 0) } } }
        }
        _ = login.withUnsafeBytes { send(fd, $0.baseAddress, n, 0) }
        usleep(700_000)
        close(fd)
        server.stop()
        #expect(app.log == ["in alice", "out alice", "in bob", "out bob", "in bob", "out bob", "in carol", "out carol"], "\(app.log)")
        #expect(server.timeouts == 1)
    }
}

/// Records the login / disconnect hooks (read after the server thread stopped).
final class HookApp: SoupServerApplication {
    var log: [String] = []
    func received(_ payload: UnsafeRawBufferPointer, from user: SoupUser, server: SoupServer) {}
    func tick(server: SoupServer) {}
    func loggedIn(_ user: SoupUser, server: SoupServer) { log.append("in \(server.name(of: user))") }
    func disconnected(_ user: SoupUser, server: SoupServer) { log.append("out \(server.name(of: user))") }
}

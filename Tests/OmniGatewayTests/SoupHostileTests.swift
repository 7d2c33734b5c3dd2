import OmniWire
import OmniVenue
import OmniNet
import CSys
import CWire
import Glibc
import OmniGateway
import Testing

/// Sequences `total` numbered messages to the first user that logs in, `perTick` per loop pass:
/// message n is "n" in decimal, padded to 100 bytes, so a reader can tell a wrong one.
final class FloodApp: SoupServerApplication {
    let total: Int, perTick: Int
    var user: SoupUser?
    var sent = 0
    init(total: Int, perTick: Int) { self.total = total; self.perTick = perTick }
    func received(_ payload: UnsafeRawBufferPointer, from user: SoupUser, server: SoupServer) {}
    func loggedIn(_ user: SoupUser, server: SoupServer) { self.user = user }
    func tick(server: SoupServer) {
        guard let user else { return }
        for _ in 0..<perTick where sent < total {
            sent += 1
            let text = Array(String(sent).utf8)
            server.sequence(to: user) { dst in
                dst.initialize(repeating: UInt8(ascii: " "), count: 100)
                dst.update(from: text, count: text.count)
                return 100
            }
        }
    }
}

/// A raw TCP connection to 127.0.0.1:port (no SoupBinTCP), blocking.
func rawConnect(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    return rc == 0 ? fd : -1
}

/// Whether the server closed `fd` within `ms` (a read returns 0 or an error), draining what it sent.
func closedByPeer(_ fd: Int32, ms: Int32) -> Bool {
    var buf = [UInt8](repeating: 0, count: 4096)
    let end = monotonicMs() + Int(ms)
    while monotonicMs() < end {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 10) > 0 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return true }
        }
    }
    return false
}

@Suite("SoupBinTCP server against hostile clients")
struct SoupHostileTests {
    /// D4: a client more than `logCapacity` messages behind was served the newer messages that
    /// had overwritten its slots. It must get every message once and in order, or be cut off.
    @Test func aClientFallingBehindTheLogIsCutOffNeverServedWrongData() throws {
        var cfg = SoupServerConfig()
        cfg.logCapacity = 512
        cfg.sendBuffer = 4096
        let server = try SoupServer(cfg)
        let app = FloodApp(total: 200_000, perTick: 100)  // 20 MB: more than the kernel buffers hold
        server.start(app)
        defer { server.stop() }
        let c = SoupClient(clientConfig(server.port, "slow", "x"))
        try c.connect()
        usleep(1_500_000)  // the flood outruns the socket while the client does not read
        var expected: UInt64 = 1, wrong = 0, disconnected = false
        let end = monotonicMs() + 10_000
        while !disconnected && monotonicMs() < end {
            c.poll(timeoutMs: 5) { ev in
                switch ev {
                case .sequenced(let s, let p):
                    let n = UInt64(String(decoding: p, as: UTF8.self).trimmedOf(" ")) ?? 0
                    if s != expected || n != s { wrong += 1 }
                    expected = s + 1
                case .disconnected: disconnected = true
                default: break
                }
            }
        }
        server.stop()
        #expect(wrong == 0)
        #expect(disconnected, "the lagging client was not cut off")
        #expect(expected - 1 < 200_000, "it got all \(expected - 1) messages: the flood did not outrun it")
        #expect(server.laggedClients == 1)
    }

    /// D11: in accept-any mode every new name took a log for the day. Names are bounded; a
    /// further new name is rejected, a known one still logs in.
    @Test func newLoginNamesBeyondMaxUsersAreRejected() throws {
        var cfg = SoupServerConfig()
        cfg.maxUsers = 3
        let server = try SoupServer(cfg)
        server.start(EchoApp())
        defer { server.stop() }
        for name in ["a", "b", "c"] {
            let c = SoupClient(clientConfig(server.port, name, "x"))
            try c.connect()
            c.disconnect()
        }
        #expect { try SoupClient(clientConfig(server.port, "d", "x")).connect() } throws: { "\($0)".contains("not authorized (A)") }
        try SoupClient(clientConfig(server.port, "b", "x")).connect()
        server.stop()
        #expect(server.usersRefused == 1)
    }

    /// Connections per port are bounded: one past `maxConnections` is accepted and closed at once.
    @Test func connectionsBeyondTheLimitAreClosed() throws {
        var cfg = SoupServerConfig()
        cfg.maxConnections = 4
        let server = try SoupServer(cfg)
        server.start(EchoApp())
        defer { server.stop() }
        let held = (0..<4).map { _ in rawConnect(server.port) }
        defer { held.forEach { close($0) } }
        usleep(100_000)
        let extra = rawConnect(server.port)
        defer { close(extra) }
        #expect(closedByPeer(extra, ms: 2_000))
        #expect(!closedByPeer(held[0], ms: 200))
        server.stop()
        #expect(server.connectionsRefused == 1)
    }

    /// The login deadline runs from the accept: a byte a second no longer holds an
    /// unauthenticated connection open for ever.
    @Test func aTricklingConnectionIsClosedAtTheLoginDeadline() throws {
        var cfg = SoupServerConfig()
        cfg.loginTimeoutNs = 300_000_000
        let server = try SoupServer(cfg)
        server.start(EchoApp())
        defer { server.stop() }
        let fd = rawConnect(server.port)
        defer { close(fd) }
        var closed = false
        let start = monotonicMs()
        while !closed && monotonicMs() - start < 3_000 {
            var b: UInt8 = 0  // the first byte of a length field that never completes a packet
            _ = send(fd, &b, 1, Int32(MSG_NOSIGNAL))
            closed = closedByPeer(fd, ms: 50)
        }
        #expect(closed)
        #expect(monotonicMs() - start < 1_500)
    }
}

extension String {
    func trimmedOf(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}

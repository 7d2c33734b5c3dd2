import CSys
import Glibc

// The one TCP helper: IPv4 listen, accept and connect for every order-entry protocol. It knows
// no protocol; sessions (OmniWire) own what travels on the sockets it makes.

/// A TCP failure, naming the endpoint (`host:port`) and what went wrong.
public struct TCPError: Error, CustomStringConvertible, Equatable, Sendable {
    public let endpoint: String
    public let problem: String
    public init(endpoint: String, problem: String) { self.endpoint = endpoint; self.problem = problem }
    public var description: String { "\(endpoint): \(problem)" }
}

/// strerror with the number, for messages that name a failed call.
public func errnoText(_ e: Int32) -> String { "\(String(cString: strerror(e))) (errno \(e))" }

public enum TCP {
    public static func address(_ host: String, _ port: UInt16) throws(TCPError) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        let ok = host.withCString { inet_pton(AF_INET, $0, &a.sin_addr) }
        if ok != 1 { throw TCPError(endpoint: "\(host):\(port)", problem: "not an IPv4 address") }
        return a
    }

    /// Non-blocking, TCP_NODELAY (orders must not wait for Nagle), close-on-exec.
    public static func configure(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Connects within `timeoutMs`; the returned socket is configured (non-blocking).
    public static func connect(host: String, port: UInt16, timeoutMs: Int32) throws(TCPError) -> Int32 {
        var a = try address(host, port)
        let endpoint = "\(host):\(port)"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw TCPError(endpoint: endpoint, problem: "socket: \(errnoText(errno))") }
        configure(fd)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let e = errno
            close(fd)
            throw TCPError(endpoint: endpoint, problem: "connect: \(errnoText(e))")
        }
        if rc != 0 {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, timeoutMs)
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if n <= 0 || err != 0 {
                close(fd)
                throw TCPError(endpoint: endpoint, problem: n == 0 ? "connect: timed out after \(timeoutMs) ms"
                                                                  : "connect: \(errnoText(err != 0 ? err : errno))")
            }
        }
        return fd
    }
}

/// A listening socket that bounds its connections and never spins when descriptors run out:
/// it holds a spare descriptor, and at EMFILE / ENFILE gives it back to accept the waiting
/// connection and close it at once (a pending connection keeps the socket readable, so a
/// poll loop would otherwise spin). Without a spare to take back it pauses accepting.
public final class TCPListener {
    public let fd: Int32
    public let host: String
    /// The bound port (the ephemeral one when 0 was asked for).
    public let port: UInt16
    public var endpoint: String { "\(host):\(port)" }
    /// Connections closed as soon as accepted: over the caller's limit, or no descriptor left.
    public private(set) var refused = 0
    var spare: Int32
    /// While the spare cannot be had back, accepting pauses until then (0: not paused).
    public private(set) var pausedUntilNs: UInt64 = 0
    /// SO_BUSY_POLL (µs) on every accepted connection (0: off); a refusal by the kernel is counted.
    public var busyPollMicroseconds = 0
    public private(set) var busyPollRefused = 0
    static let pauseNs: UInt64 = 100_000_000

    /// Listens on host:port (port 0: an ephemeral port).
    public init(host: String, port: UInt16, backlog: Int32 = 64) throws(TCPError) {
        var a = try TCP.address(host, port)
        let endpoint = "\(host):\(port)"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw TCPError(endpoint: endpoint, problem: "socket: \(errnoText(errno))") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw TCPError(endpoint: endpoint, problem: "bind: \(errnoText(e))")
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            close(fd)
            throw TCPError(endpoint: endpoint, problem: "listen: \(errnoText(e))")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        TCP.configure(fd)
        self.fd = fd
        self.host = host
        self.port = UInt16(bigEndian: bound.sin_port)
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    deinit {
        close(fd)
        if spare >= 0 { close(spare) }
    }

    /// Whether a poll loop should watch the socket now (false while accepting is paused).
    public func accepting(now: UInt64) -> Bool {
        if pausedUntilNs != 0 && now >= pausedUntilNs { pausedUntilNs = 0 }
        return pausedUntilNs == 0
    }

    /// The next waiting connection, configured, with its peer as "a.b.c.d:port"; nil when none
    /// waits (or descriptors ran out: then one waiting connection was shed and counted).
    public func accept() -> (fd: Int32, peer: String)? {
        while true {
            var a = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let c = withUnsafeMutablePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) }
            }
            if c >= 0 {
                TCP.configure(c)
                if busyPollMicroseconds > 0, setBusyPoll(c, microseconds: busyPollMicroseconds) != nil { busyPollRefused += 1 }
                var host = [CChar](repeating: 0, count: 16)
                inet_ntop(AF_INET, &a.sin_addr, &host, 16)
                let peer = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return (c, "\(peer):\(UInt16(bigEndian: a.sin_port))")
            }
            if errno == EINTR { continue }
            if errno == EMFILE || errno == ENFILE { shed() }
            return nil
        }
    }

    /// Closes a connection the caller will not serve (its own limit), counted in `refused`.
    public func refuse(_ c: Int32) {
        close(c)
        refused += 1
    }

    /// Out of descriptors: gives up the spare to accept one waiting connection and close it,
    /// then takes the spare back; without one, accepting pauses for `pauseNs`.
    func shed() {
        if spare >= 0 { close(spare) }
        let c = Glibc.accept(fd, nil, nil)
        if c >= 0 { refuse(c) }
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if spare < 0 { pausedUntilNs = csys_monotonic_ns() + Self.pauseNs }
    }
}

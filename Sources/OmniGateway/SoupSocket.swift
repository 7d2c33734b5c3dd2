import CSys
import CWire
import Glibc

/// A SoupBinTCP failure, naming the endpoint (`host:port`) and what went wrong.
public struct SoupError: Error, CustomStringConvertible, Equatable, Sendable {
    public let endpoint: String
    public let problem: String
    public init(endpoint: String, problem: String) { self.endpoint = endpoint; self.problem = problem }
    public var description: String { "SoupBinTCP \(endpoint): \(problem)" }
}

func errnoText(_ e: Int32) -> String { "\(String(cString: strerror(e))) (errno \(e))" }

/// Plain TCP over IPv4 for SoupBinTCP: non-blocking sockets with TCP_NODELAY.
enum SoupSocket {
    static func address(_ host: String, _ port: UInt16) throws(SoupError) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        let ok = host.withCString { inet_pton(AF_INET, $0, &a.sin_addr) }
        if ok != 1 { throw SoupError(endpoint: "\(host):\(port)", problem: "not an IPv4 address") }
        return a
    }

    static func configure(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Listens on host:port (port 0: an ephemeral port). Returns the socket and the bound port.
    static func listen(host: String, port: UInt16, backlog: Int32 = 64) throws(SoupError) -> (fd: Int32, port: UInt16) {
        var a = try address(host, port)
        let endpoint = "\(host):\(port)"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw SoupError(endpoint: endpoint, problem: "socket: \(errnoText(errno))") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw SoupError(endpoint: endpoint, problem: "bind: \(errnoText(e))")
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            close(fd)
            throw SoupError(endpoint: endpoint, problem: "listen: \(errnoText(e))")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        configure(fd)
        return (fd, UInt16(bigEndian: bound.sin_port))
    }

    /// Connects within `timeoutMs`; the returned socket is non-blocking.
    static func connect(host: String, port: UInt16, timeoutMs: Int32) throws(SoupError) -> Int32 {
        var a = try address(host, port)
        let endpoint = "\(host):\(port)"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw SoupError(endpoint: endpoint, problem: "socket: \(errnoText(errno))") }
        configure(fd)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let e = errno
            close(fd)
            throw SoupError(endpoint: endpoint, problem: "connect: \(errnoText(e))")
        }
        if rc != 0 {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, timeoutMs)
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if n <= 0 || err != 0 {
                close(fd)
                throw SoupError(endpoint: endpoint, problem: n == 0 ? "connect: timed out after \(timeoutMs) ms"
                                                                   : "connect: \(errnoText(err != 0 ? err : errno))")
            }
        }
        return fd
    }
}

/// One TCP connection speaking SoupBinTCP: a receive buffer walked by cw_soup_rx and a
/// send buffer flushed without blocking. Buffers are allocated once, at creation.
final class SoupLink {
    let fd: Int32
    let endpoint: String
    let rx: UnsafeMutablePointer<cw_soup_rx>
    private let rxStorage: UnsafeMutablePointer<UInt8>
    private let tx: UnsafeMutablePointer<UInt8>
    let txCapacity: Int
    private var txHead = 0, txTail = 0
    var lastReceiveNs: UInt64
    var lastSendNs: UInt64
    var closed = false

    init(fd: Int32, endpoint: String, maxPacket: UInt16, txCapacity: Int, now: UInt64) {
        self.fd = fd
        self.endpoint = endpoint
        let storage = cw_soup_rx_storage(maxPacket)
        rxStorage = .allocate(capacity: storage)
        rx = .allocate(capacity: 1)
        _ = cw_soup_rx_init(rx, rxStorage, storage, maxPacket)
        self.txCapacity = txCapacity
        tx = .allocate(capacity: txCapacity)
        lastReceiveNs = now
        lastSendNs = now
    }

    deinit {
        close()
        rxStorage.deallocate()
        rx.deallocate()
        tx.deallocate()
    }

    func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    enum ReadResult: Equatable { case ok, peerClosed, failed(Int32) }

    /// Reads what the socket holds (up to the free room); packets are then taken with `next`.
    func read(now: UInt64) -> ReadResult {
        while true {
            var dst: UnsafeMutablePointer<UInt8>?
            let room = cw_soup_rx_space(rx, &dst)
            if room == 0 { return .ok }
            let n = recv(fd, dst, room, 0)
            if n > 0 {
                _ = cw_soup_rx_commit(rx, n)
                lastReceiveNs = now
                if n < room { return .ok }
                continue
            }
            if n == 0 { return .peerClosed }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .ok }
            if errno == EINTR { continue }
            return .failed(errno)
        }
    }

    @inline(__always) func next(_ pkt: inout cw_soup_packet) -> cw_soup_status { cw_soup_rx_next(rx, &pkt) }

    var txFree: Int { txCapacity - txTail + txHead }
    var txPending: Int { txTail - txHead }

    /// Lets `body` write at most `max` bytes at the send buffer's end; returns false when they do not fit.
    @inline(__always)
    func append(max: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) -> Bool {
        if txCapacity - txTail < max {
            if txFree < max { return false }
            let n = txTail - txHead
            if n > 0 { memmove(tx, tx + txHead, n) }
            txHead = 0
            txTail = n
        }
        txTail += body(tx + txTail)
        return true
    }

    /// Sends a packet with no payload (heartbeats, logout, end of session).
    func appendEmpty(_ type: UInt8) -> Bool {
        append(max: 3) { cw_soup_put_empty($0, 3, type) }
    }

    /// Sends a packet of `type` carrying `payload`.
    func appendPacket(_ type: UInt8, _ payload: UnsafeRawBufferPointer) -> Bool {
        append(max: payload.count + 3) {
            cw_soup_put_packet($0, payload.count + 3, type, payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count)
        }
    }

    /// Writes what the socket takes. Returns an errno on a failed connection, else 0.
    func flush(now: UInt64) -> Int32 {
        while txHead < txTail {
            let n = send(fd, tx + txHead, txTail - txHead, Int32(MSG_NOSIGNAL))
            if n > 0 {
                txHead += n
                lastSendNs = now
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return 0 }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? errno : EPIPE
        }
        txHead = 0
        txTail = 0
        return 0
    }
}

@inline(__always) func monotonicNs() -> UInt64 { csys_monotonic_ns() }

/// Bytes of a fixed C char array field (token, stock, session...) as a Swift string, trailing spaces trimmed.
func fieldText<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { raw in
        var end = raw.count
        while end > 0 && (raw[end - 1] == 0x20 || raw[end - 1] == 0) { end -= 1 }
        var start = 0
        while start < end && raw[start] == 0x20 { start += 1 }
        return String(decoding: raw[start..<end], as: UTF8.self)
    }
}

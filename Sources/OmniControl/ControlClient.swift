import Glibc
import OmniNet

/// Why a control-plane request got no answer.
public struct ControlClientError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public var description: String { problem }
}

/// A small blocking HTTP/1.1 client of the control plane (`omni ctl`), over OmniNet's TCP helper,
/// or over TLS (swift-nio-ssl) for a control plane served with a certificate: one request per
/// connection (`Connection: close`), the answer read to the end.
public struct ControlClient: Sendable {
    public let host: String
    public let port: UInt16
    public let token: String?
    public let timeoutMs: Int32
    /// HTTPS (nil: plain HTTP).
    public let tls: ControlClientTLS?

    public init(host: String, port: UInt16, token: String?, timeoutMs: Int32 = 5_000, tls: ControlClientTLS? = nil) {
        self.host = host; self.port = port; self.token = token; self.timeoutMs = timeoutMs; self.tls = tls
    }

    /// Sends `method path` (with a JSON body when given) and returns the status, the headers (names
    /// in lower case) and the body.
    public func request(_ method: String, _ path: String, body: String? = nil) throws(ControlClientError) -> (status: Int, headers: [String: String], body: String) {
        let out = requestBytes(method, path, body: body)
        if let tls { return try Self.parse(try exchangeTLS(out, tls)) }
        let fd: Int32
        do { fd = try TCP.connect(host: host, port: port, timeoutMs: timeoutMs) } catch {
            throw ControlClientError(problem: "cannot reach the control plane at \(host):\(port): \(error.problem) (is omni run running with --control?)")
        }
        defer { close(fd) }
        var sent = 0
        while sent < out.count {
            guard wait(fd, Int16(POLLOUT)) else { throw ControlClientError(problem: "\(host):\(port): timed out sending the request") }
            let n = out[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno != EAGAIN && errno != EINTR { throw ControlClientError(problem: "\(host):\(port): send: \(errnoText(errno))") }
            if n > 0 { sent += n }
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            guard wait(fd, Int16(POLLIN)) else { throw ControlClientError(problem: "\(host):\(port): no answer within \(timeoutMs) ms") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw ControlClientError(problem: "\(host):\(port): recv: \(errnoText(errno))")
            }
            answer += chunk[0..<n]
        }
        return try Self.parse(answer)
    }

    /// The request as sent: head and body.
    func requestBytes(_ method: String, _ path: String, body: String?) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let payload = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(payload.count)\r\n\r\n"
        return Array(head.utf8) + payload
    }

    func wait(_ fd: Int32, _ events: Int16) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    /// The status line, the headers and the body of an HTTP/1.1 answer (Content-Length, or to the end).
    static func parse(_ bytes: [UInt8]) throws(ControlClientError) -> (status: Int, headers: [String: String], body: String) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(bytes.count - 3, 0)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else {
            throw ControlClientError(problem: "the answer is not HTTP (no end of headers)")
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw ControlClientError(problem: "the answer is not HTTP: \(lines.first ?? "")")
        }
        var body = bytes[(end + 4)...]
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            headers[kv[0].lowercased()] = String(kv[1].trimmingWhitespace())
        }
        if let n = headers["content-length"].flatMap({ Int($0) }), n <= body.count { body = body.prefix(n) }
        return (status, headers, String(decoding: body, as: UTF8.self))
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

// What every stream harness shares: the input's header (how the bytes are cut into writes,
// whether the peer reads its replies), loopback sockets made inside the process, and the
// invariant trap. No socket here reaches outside the process: every connection is to a
// listener this process made on 127.0.0.1.
import FuzzDriver
import Glibc

/// Stops the run with a message libFuzzer's log keeps (run-fuzz.sh greps for it).
public func invariant(_ ok: @autoclosure () -> Bool, _ harness: String, _ what: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !ok() {
        let text = "==\(harness)== invariant broken: \(what()) (\(file):\(line))\n"
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        abort()
    }
}

/// The fuzz input of a stream harness:
///
///   byte 0     flags: bits 0-2 n, the number of cut lengths that follow; bit 3 slow peer (it
///              never reads what the session sends, and its receive buffer is small, so the
///              session's own output queue fills); bit 4 two connections (segments alternate
///              between them); bits 5-7 harness-specific.
///   bytes 1-n  cut lengths (0 reads as 1), used in turn, over and over, to cut the payload.
///   the rest   the payload: the bytes the peer writes, one write(2) per segment, the session
///              driven (poll / handle) after each write until it has read what is there.
///
/// With n = 0 the payload goes in one write. A seed is `\0` + the bytes of a well-formed exchange.
public struct StreamInput {
    public let flags: UInt8
    public let cuts: [Int]
    public let payload: UnsafeRawBufferPointer

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        guard size > 0 else { flags = 0; cuts = []; payload = UnsafeRawBufferPointer(start: nil, count: 0); return }
        flags = data[0]
        let n = min(Int(flags & 7), size - 1)
        cuts = (0..<n).map { max(Int(data[1 + $0]), 1) }
        payload = UnsafeRawBufferPointer(start: data + 1 + n, count: size - 1 - n)
    }

    public var slowPeer: Bool { flags & 0x08 != 0 }
    public var twoConnections: Bool { flags & 0x10 != 0 }
    /// Bits 5-7, for the harness.
    public var mode: UInt8 { flags >> 5 }

    /// The segments in order: (connection 0 or 1, bytes).
    public var segments: [(conn: Int, bytes: UnsafeRawBufferPointer)] {
        var out: [(Int, UnsafeRawBufferPointer)] = []
        var off = 0, i = 0
        while off < payload.count {
            let len = cuts.isEmpty ? payload.count - off : min(cuts[i % cuts.count], payload.count - off)
            out.append((twoConnections ? i & 1 : 0, UnsafeRawBufferPointer(rebasing: payload[off..<(off + len)])))
            off += len
            i += 1
        }
        return out
    }
}

public enum Loopback {
    /// A connected TCP socket to 127.0.0.1:port (the handshake completes in the kernel against
    /// the listener's backlog: no accept needed first). A slow peer gets a small receive buffer.
    public static func connect(port: UInt16, slow: Bool) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: errno \(errno)")
        if slow {
            var small: Int32 = 1024
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        precondition(rc == 0, "connect 127.0.0.1:\(port): errno \(errno)")
        setNonBlocking(fd)
        return fd
    }

    /// A listening TCP socket on 127.0.0.1 and an ephemeral port.
    public static func listen() -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: errno \(errno)")
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && Glibc.listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        precondition(ok, "listen on 127.0.0.1: errno \(errno)")
        return (fd, UInt16(bigEndian: a.sin_port))
    }

    /// accept(2), blocking; the connection non-blocking.
    public static func accept(_ listenFD: Int32, slow: Bool = false) -> Int32 {
        let c = Glibc.accept(listenFD, nil, nil)
        precondition(c >= 0, "accept: errno \(errno)")
        if slow {
            var small: Int32 = 1024
            _ = setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        }
        setNonBlocking(c)
        return c
    }

    public static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Writes what the socket takes now (non-blocking); the rest is dropped, as a peer whose
    /// session stopped reading would see. Returns the bytes written.
    @discardableResult
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var off = 0
        while off < bytes.count {
            let w = send(fd, bytes.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            if w <= 0 { if w < 0 && errno == EINTR { continue }; break }
            off += w
        }
        return off
    }

    /// Reads and drops everything the socket holds now; false once the peer has closed.
    @discardableResult
    public static func drain(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            if n == 0 { return false }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK
        }
    }
}

/// A directory of its own under $TMPDIR (default /dev/shm when it exists, else /tmp) for FIX
/// stores, emptied between inputs (the stores fsync at every Logon: memory, not a disk).
public final class ScratchDirectory {
    public let path: String
    public init(_ name: String) {
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
        var template = Array("\(tmp)/omni-fuzz-\(name)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp in \(tmp): errno \(errno)")
        path = String(cString: p!)
    }

    /// Unlinks every file in the directory (the stores are flat files).
    public func empty() {
        guard let d = opendir(path) else { return }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            unlink(path + "/" + name)
        }
        closedir(d)
    }

    deinit { empty(); rmdir(path) }
}

/// Runs libFuzzer (its flags in argv) over `testOneInput`.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var c = argc
    var v: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&c, &v, testOneInput)
}

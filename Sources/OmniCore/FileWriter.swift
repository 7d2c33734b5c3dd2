#if canImport(Glibc)
import Glibc
#endif

/// Buffered, append-only output to a file: CSV rows and generated day files.
/// Integers are formatted by hand so a replay writing millions of rows stays fast.
public final class FileWriter {
    private let fd: Int32
    private var buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 20
    private var used = 0
    public let path: String
    public private(set) var bytesWritten = 0

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        try? flush()
        close(fd)
        buffer.deallocate()
    }

    @inline(__always) private func reserve(_ n: Int) throws {
        if capacity - used < n { try flush() }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count > capacity {
            try flush()
            try writeAll(bytes)
            return
        }
        try reserve(bytes.count)
        UnsafeMutableRawPointer(buffer + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        used += bytes.count
    }

    public func write(_ text: String) throws {
        var t = text
        try t.withUTF8 { u throws in try write(UnsafeRawBufferPointer(u)) }
    }

    /// Appends one ITCH message with its day-file length prefix.
    public func writeDayFileRecord(_ message: UnsafeRawBufferPointer) throws {
        try reserve(message.count + 2)
        buffer[used] = UInt8(truncatingIfNeeded: message.count >> 8)
        buffer[used + 1] = UInt8(truncatingIfNeeded: message.count)
        used += 2
        try write(message)
    }

    /// Appends the decimal digits of `v`.
    @inline(__always) public func writeDecimal(_ v: UInt64) throws {
        try reserve(20)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of scratch, filled from the end
        var n = v, i = 24
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                i -= 1
                d[i] = UInt8(48 + n % 10)
                n /= 10
            } while n > 0
            (buffer + used).update(from: d.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: 24 - i)
        }
        used += 24 - i
    }

    @inline(__always) public func writeByte(_ b: UInt8) throws {
        try reserve(1)
        buffer[used] = b
        used += 1
    }

    public func flush() throws {
        try writeAll(UnsafeRawBufferPointer(start: buffer, count: used))
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: "write: " + String(cString: strerror(errno)))
            }
            off += n
        }
        bytesWritten += bytes.count
    }
}

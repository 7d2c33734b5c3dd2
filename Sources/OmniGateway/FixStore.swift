// Per-session persistent state: next sender / target sequence numbers and a log of sent
// messages for resends. Files in `directory`:
//   <sender>-<target>.seqnums   "NNNNNNNNNNNNNNNNNNNN NNNNNNNNNNNNNNNNNNNN\n" (next sender, next target),
//                               rewritten in place (pwrite at 0) after every message;
//   <sender>-<target>.log       appended records "seq len\n<len bytes>\n", one per sent message.
// fsync policy: with fsyncEveryMessage both files are fdatasync'd after each message (a crash
// loses nothing); by default they are fsync'd at logon, logout and close only, so a crash of
// the process host may lose the last sequence numbers, which the FIX resend/gap-fill exchange
// then recovers (a lower MsgSeqNum from us makes the peer log out: reset by agreement).
// Recording a message allocates nothing (one writev of a preformatted head, the bytes and a
// newline; one pwrite of the seqnums line); the log is read back only to serve a resend.
#if canImport(Glibc)
import Glibc
#endif

public final class FixFileStore {
    public private(set) var nextSender: UInt64 = 1
    public private(set) var nextTarget: UInt64 = 1
    /// "seq len\n" of the record being written; then the 42-byte seqnums line.
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    let seqFD: Int32
    let logFD: Int32
    let fsyncEach: Bool

    public init?(directory: String, sender: String, target: String, fsyncEveryMessage: Bool = false) {
        let base = directory + "/" + sender + "-" + target
        seqFD = open(base + ".seqnums", O_RDWR | O_CREAT, 0o644)
        logFD = open(base + ".log", O_RDWR | O_CREAT | O_APPEND, 0o644)
        fsyncEach = fsyncEveryMessage
        guard seqFD >= 0, logFD >= 0 else {
            if seqFD >= 0 { close(seqFD) }
            if logFD >= 0 { close(logFD) }
            return nil
        }
        let seqText = Self.readAll(seqFD)
        let parts = String(decoding: seqText, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        if parts.count == 2, let s = UInt64(parts[0]), let t = UInt64(parts[1]) { nextSender = s; nextTarget = t }
    }

    /// The sent messages numbered `from...through` (the latest record of each number), read
    /// back from the log (resend service; allocates).
    public func messages(from: UInt64, through: UInt64) -> [UInt64: [UInt8]] {
        var out: [UInt64: [UInt8]] = [:]
        let log = Self.readAll(logFD)
        var i = 0
        while i < log.count {  // records: "seq len\n" bytes "\n"; a torn tail record is ignored
            guard let nl = log[i...].firstIndex(of: 10) else { break }
            let head = String(decoding: log[i..<nl], as: UTF8.self).split(separator: " ")
            guard head.count == 2, let seq = UInt64(head[0]), let len = Int(head[1]), nl + 1 + len < log.count else { break }
            if seq >= from && seq <= through { out[seq] = Array(log[(nl + 1)..<(nl + 1 + len)]) }
            i = nl + 1 + len + 1
        }
        return out
    }

    deinit {
        fsync(seqFD); fsync(logFD)
        close(seqFD); close(logFD)
        scratch.deallocate()
    }

    /// Writes `v` in decimal at `p` (right-aligned in `width` with leading zeros when width > 0); returns the digits written.
    static func decimal(_ v: UInt64, _ p: UnsafeMutablePointer<UInt8>, width: Int = 0) -> Int {
        var n = 0
        var u = v
        repeat { n += 1; u /= 10 } while u != 0
        let w = max(n, width)
        u = v
        for k in stride(from: w - 1, through: 0, by: -1) { p[k] = UInt8(truncatingIfNeeded: 48 + u % 10); u /= 10 }
        return w
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var off: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off) }
            if n <= 0 { break }
            out += chunk[0..<n]
            off += off_t(n)
        }
        return out
    }

    func writeSeqnums() {
        let p = scratch
        _ = Self.decimal(nextSender, p, width: 20)
        p[20] = 32
        _ = Self.decimal(nextTarget, p + 21, width: 20)
        p[41] = 10
        _ = pwrite(seqFD, p, 42, 0)
        if fsyncEach { fdatasync(seqFD) }
    }

    /// Records a sent message with its sequence number and advances nextSender.
    public func recordSent(seq: UInt64, bytes: UnsafeBufferPointer<UInt8>) {
        var n = Self.decimal(seq, scratch)
        scratch[n] = 32
        n += 1
        n += Self.decimal(UInt64(bytes.count), scratch + n)
        scratch[n] = 10
        scratch[n + 1] = 10  // the record's closing newline
        var iov = (iovec(iov_base: UnsafeMutableRawPointer(scratch), iov_len: n + 1),
                   iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count),
                   iovec(iov_base: UnsafeMutableRawPointer(scratch + n + 1), iov_len: 1))
        _ = withUnsafeMutableBytes(of: &iov) { writev(logFD, $0.baseAddress!.assumingMemoryBound(to: iovec.self), 3) }
        if fsyncEach { fdatasync(logFD) }
        nextSender = seq + 1
        writeSeqnums()
    }

    public func setNextTarget(_ v: UInt64) { nextTarget = v; writeSeqnums() }
    public func setNextSender(_ v: UInt64) { nextSender = v; writeSeqnums() }

    /// One sent message read back from the log (tests, tools; allocates).
    public func message(_ seq: UInt64) -> [UInt8]? { messages(from: seq, through: seq)[seq] }

    /// Both numbers back to 1 and the log emptied (ResetSeqNumFlag 141=Y).
    public func reset() {
        _ = ftruncate(logFD, 0)
        nextSender = 1
        nextTarget = 1
        writeSeqnums()
        sync()
    }

    public func sync() { fsync(seqFD); fsync(logFD) }
}

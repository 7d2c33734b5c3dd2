// Per-session persistent state: next sender / target sequence numbers and a log of sent
// messages for resends. Files in `directory`:
//   <sender>-<target>.seqnums   "NNNNNNNNNNNNNNNNNNNN NNNNNNNNNNNNNNNNNNNN\n" (next sender, next target),
//                               rewritten in place (pwrite at 0) after every message;
//   <sender>-<target>.log       appended records "seq len\n<len bytes>\n", one per sent message.
// fsync policy: with fsyncEveryMessage both files are fdatasync'd after each message (a crash
// loses nothing); by default they are fsync'd at logon, logout and close only, so a crash of
// the process host may lose the last sequence numbers, which the FIX resend/gap-fill exchange
// then recovers (a lower MsgSeqNum from us makes the peer log out: reset by agreement).
#if canImport(Glibc)
import Glibc
#endif

public final class FixFileStore {
    public private(set) var nextSender: UInt64 = 1
    public private(set) var nextTarget: UInt64 = 1
    var sent: [UInt64: [UInt8]] = [:]
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
        let log = Self.readAll(logFD)
        var i = 0
        while i < log.count {  // records: "seq len\n" bytes "\n"; a torn tail record is ignored
            guard let nl = log[i...].firstIndex(of: 10) else { break }
            let head = String(decoding: log[i..<nl], as: UTF8.self).split(separator: " ")
            guard head.count == 2, let seq = UInt64(head[0]), let len = Int(head[1]), nl + 1 + len < log.count else { break }
            sent[seq] = Array(log[(nl + 1)..<(nl + 1 + len)])
            i = nl + 1 + len + 1
        }
    }

    deinit {
        fsync(seqFD); fsync(logFD)
        close(seqFD); close(logFD)
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
        func pad(_ v: UInt64) -> String { let s = String(v); return String(repeating: "0", count: 20 - s.count) + s }
        var line = pad(nextSender) + " " + pad(nextTarget) + "\n"
        line.withUTF8 { _ = pwrite(seqFD, $0.baseAddress, $0.count, 0) }
        if fsyncEach { fdatasync(seqFD) }
    }

    /// Records a sent message with its sequence number and advances nextSender.
    public func recordSent(seq: UInt64, bytes: UnsafeBufferPointer<UInt8>) {
        var head = String(seq) + " " + String(bytes.count) + "\n"
        var rec = [UInt8]()
        rec.reserveCapacity(bytes.count + 32)
        head.withUTF8 { rec.append(contentsOf: $0) }
        rec.append(contentsOf: bytes)
        rec.append(10)
        _ = rec.withUnsafeBytes { write(logFD, $0.baseAddress, $0.count) }
        if fsyncEach { fdatasync(logFD) }
        sent[seq] = Array(bytes)
        nextSender = seq + 1
        writeSeqnums()
    }

    public func setNextTarget(_ v: UInt64) { nextTarget = v; writeSeqnums() }
    public func setNextSender(_ v: UInt64) { nextSender = v; writeSeqnums() }

    public func message(_ seq: UInt64) -> [UInt8]? { sent[seq] }

    /// Both numbers back to 1 and the log emptied (ResetSeqNumFlag 141=Y).
    public func reset() {
        sent.removeAll()
        _ = ftruncate(logFD, 0)
        nextSender = 1
        nextTarget = 1
        writeSeqnums()
        sync()
    }

    public func sync() { fsync(seqFD); fsync(logFD) }
}

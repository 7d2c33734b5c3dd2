// Per-session persistent state: next sender / target sequence numbers and a log of sent
// messages for resends. Files in `directory`:
//   <sender>-<target>.seqnums   "NNNNNNNNNNNNNNNNNNNN NNNNNNNNNNNNNNNNNNNN\n" (next sender, next target),
//                               rewritten in place (pwrite at 0) at each commit;
//   <sender>-<target>.log       appended records "seq len\n<len bytes>\n", one per sent message.
// Write-behind: recording a message copies it into a preallocated buffer, and `commit` (the
// session's end of pass, and before anything reads the log) writes the pass's records with one
// write and the numbers with one pwrite, so the files cost nothing per order. With
// fsyncEveryMessage every record is committed and synced at once instead.
// Both names come from CompIDs a peer sends, so only names that pass `isValidCompID` are used
// (no '/', no NUL, no "." / ".."): a CompID can never reach another counterparty's files.
// fsync policy: with fsyncEveryMessage both files are fdatasync'd after each message (a crash
// loses nothing); by default they are fsync'd at logon, logout and close only, so a crash of
// the process (the pass not committed) or of its host may lose the last sequence numbers, which
// the FIX resend/gap-fill exchange then recovers (a lower MsgSeqNum from us makes the peer log
// out: reset by agreement). Recording a message allocates nothing. Resends read only the records asked for, found
// through an in-memory index (sequence number -> place in the log) built by one pass over the
// log the first time a resend needs it; from then on each record adds an entry (reserved for
// 32 768 records, then grown by doubling: an allocation per doubling, only after a resend).
#if canImport(Glibc)
import Glibc
#endif

public final class FixFileStore {
    public private(set) var nextSender: UInt64 = 1
    public private(set) var nextTarget: UInt64 = 1
    /// "seq len\n" of the record being written; then the 42-byte seqnums line.
    package let scratch: UnsafeMutablePointer<UInt8>
    package var seqFD: Int32
    package var logFD: Int32
    package let fsyncEach: Bool
    /// Two words per log record, in log order with strictly increasing sequence numbers: the
    /// number, then the record's bytes as offset << 20 | length (`place`). Empty until `indexed`.
    package var index: [UInt64] = []
    package var indexed = false
    /// Bytes the log holds (where the next record starts), not counting `pending`.
    package var logEnd: off_t = 0
    /// Records not yet written (`commit` writes them), and whether the numbers changed since.
    package let pending: UnsafeMutablePointer<UInt8>
    package static let pendingCapacity = 1 << 18
    /// The longest record head, "seq len\n" (18 + 1 + 7 + 1 bytes, rounded up).
    package static let maxHead = 32
    package var pendingCount = 0
    package var numbersDirty = false

    /// Largest sequence number a store keeps: what a FIX peer can send (cw_fix_u64 reads at most
    /// 18 digits), so `seq + 1` never overflows. A seqnums file beyond it is refused as corrupt.
    public static let maxSeqNum: UInt64 = 999_999_999_999_999_999
    /// A record's length must fit the index's 20 length bits (messages are at most 64 KiB + header).
    package static let maxRecordLength = (1 << 20) - 1

    /// A CompID that may name store files (and that this layer accepts at all): 1 to 32 bytes of
    /// printable ASCII (0x21...0x7E: no space, no control byte, no NUL), no '/', not "." or "..".
    /// 32 is FixString.capacity, the identifier size used throughout this layer.
    public static func isValidCompID(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...FixString.capacity).contains(u.count), s != ".", s != ".." else { return false }
        return u.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: "/") }
    }

    /// nil when a name is not a valid CompID, the files cannot be opened (or, with `create`
    /// false, do not exist), or the seqnums file holds numbers outside 1...maxSeqNum.
    public init?(directory: String, sender: String, target: String, fsyncEveryMessage: Bool = false, create: Bool = true) {
        // Every way to fail comes before the stored properties are set: nothing to undo but descriptors.
        guard Self.isValidCompID(sender), Self.isValidCompID(target) else { return nil }
        let base = directory + "/" + sender + "-" + target
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let seq = open(base + ".seqnums", flags, 0o644)
        guard seq >= 0 else { return nil }
        let log = open(base + ".log", flags | O_APPEND, 0o644)
        guard log >= 0 else { Glibc.close(seq); return nil }
        var numbers = (sender: UInt64(1), target: UInt64(1))
        let parts = String(decoding: Self.readAll(seq), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        if parts.count == 2, let s = UInt64(parts[0]), let t = UInt64(parts[1]) {
            guard (1...Self.maxSeqNum).contains(s), (1...Self.maxSeqNum).contains(t) else { Glibc.close(seq); Glibc.close(log); return nil }
            numbers = (s, t)
        }
        seqFD = seq
        logFD = log
        fsyncEach = fsyncEveryMessage
        scratch = .allocate(capacity: 64)
        pending = .allocate(capacity: Self.pendingCapacity)
        nextSender = numbers.sender
        nextTarget = numbers.target
        logEnd = lseek(logFD, 0, SEEK_END)
        // A crash mid-append leaves a torn last record (every whole one ends with "\n"): index now,
        // which cuts it, so that records appended from here on stay readable.
        var last: UInt8 = 10
        if logEnd > 0 && pread(logFD, &last, 1, logEnd - 1) == 1 && last != 10 { buildIndex() }
    }

    deinit {
        close()
        scratch.deallocate()
        pending.deallocate()
    }

    /// Syncs and closes both files; the numbers stay readable, nothing more is recorded. A
    /// counterparty's store is open only while one of its connections is (see FixAcceptor).
    public func close() {
        guard seqFD >= 0 else { return }
        sync()
        pendingCount = 0
        Glibc.close(seqFD); Glibc.close(logFD)
        seqFD = -1; logFD = -1
        index = []; indexed = false
    }

    public var isOpen: Bool { seqFD >= 0 }

    /// Calls `body` with each sent message numbered `from...through` in order (the latest record
    /// of each number), read from the log with one pread each: time proportional to the range
    /// asked for, not to the log. `body` returns false to stop. Resend service; allocates.
    public func forEachMessage(from: UInt64, through: UInt64, _ body: (UInt64, UnsafeBufferPointer<UInt8>) -> Bool) {
        guard isOpen, from <= through else { return }
        commit()
        if !indexed { buildIndex() }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var i = firstRecord(atLeast: from)
        while i < index.count / 2 {
            let seq = index[2 * i], place = index[2 * i + 1]
            if seq > through { return }
            let count = Int(place & UInt64(Self.maxRecordLength))
            if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
            let n = buffer.withUnsafeMutableBytes { pread(logFD, $0.baseAddress, count, off_t(place >> 20)) }
            guard n == count else { return }
            let go = buffer.withUnsafeBufferPointer { body(seq, UnsafeBufferPointer(rebasing: $0[0..<count])) }
            if !go { return }
            i += 1
        }
    }

    /// One sent message read back from the log (tests, tools; allocates).
    public func message(_ seq: UInt64) -> [UInt8]? {
        var out: [UInt8]?
        forEachMessage(from: seq, through: seq) { _, bytes in out = Array(bytes); return false }
        return out
    }

    /// Index of the first record numbered `seq` or more (binary search).
    package func firstRecord(atLeast seq: UInt64) -> Int {
        var lo = 0, hi = index.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if index[2 * mid] < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Adds a record to the index. A number not above the last one (the sender number was set
    /// back) supersedes the records numbered that or more, as the latest record of a number wins.
    package func remember(seq: UInt64, offset: off_t, count: Int) {
        if index.count >= 2, seq <= index[index.count - 2] {
            index.removeLast(index.count - 2 * firstRecord(atLeast: seq))
        }
        index.append(seq)
        index.append(UInt64(offset) << 20 | UInt64(count))
    }

    /// One pass over the log in 1 MiB reads: every whole record into the index. A torn or
    /// malformed record ends the log: it is cut there, so later appends stay readable.
    package func buildIndex() {
        index = []
        index.reserveCapacity(1 << 16)
        indexed = true
        let cap = 1 << 20
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
        defer { buf.deallocate() }
        var base: off_t = 0   // log offset of buf[0]
        var have = 0, at = 0
        while true {
            if have - at < 64 {  // a whole head "seq len\n" (at most 42 bytes) in view
                if at > 0 { buf.update(from: buf + at, count: have - at); base += off_t(at); have -= at; at = 0 }
                let n = pread(logFD, buf + have, cap - have, base + off_t(have))
                if n > 0 { have += n }
            }
            guard let head = Self.recordHead(UnsafeBufferPointer(start: buf + at, count: have - at)) else { break }
            let body = base + off_t(at + head.size)
            let newline = body + off_t(head.count)
            var nl: UInt8 = 0
            if newline < base + off_t(have) { nl = buf[Int(newline - base)] } else if pread(logFD, &nl, 1, newline) != 1 { break }
            guard nl == 10 else { break }
            remember(seq: head.seq, offset: body, count: head.count)
            let next = newline + 1
            if next < base + off_t(have) { at = Int(next - base) } else { base = next; have = 0; at = 0 }
        }
        let end = base + off_t(at)
        if end < logEnd { _ = ftruncate(logFD, end); logEnd = end }
    }

    /// "seq len\n" at the start of `b`: the numbers and the head's size; nil when malformed or
    /// out of range (a number past maxSeqNum, a length of 0 or past maxRecordLength).
    package static func recordHead(_ b: UnsafeBufferPointer<UInt8>) -> (seq: UInt64, count: Int, size: Int)? {
        var i = 0
        func number(_ end: UInt8) -> UInt64? {
            var v: UInt64 = 0, digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                digits += 1
                guard digits <= 18 else { return nil }
                v = v * 10 + UInt64(b[i] - 48)
                i += 1
            }
            guard digits > 0, i < b.count, b[i] == end else { return nil }
            i += 1
            return v
        }
        guard let seq = number(32), let len = number(10), seq >= 1, len >= 1, len <= UInt64(maxRecordLength) else { return nil }
        return (seq, Int(len), i)
    }

    /// Writes `v` in decimal at `p` (right-aligned in `width` with leading zeros when width > 0); returns the digits written.
    package static func decimal(_ v: UInt64, _ p: UnsafeMutablePointer<UInt8>, width: Int = 0) -> Int {
        var n = 0
        var u = v
        repeat { n += 1; u /= 10 } while u != 0
        let w = max(n, width)
        u = v
        for k in stride(from: w - 1, through: 0, by: -1) { p[k] = UInt8(truncatingIfNeeded: 48 + u % 10); u /= 10 }
        return w
    }

    package static func readAll(_ fd: Int32) -> [UInt8] {
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

    package func writeSeqnums() {
        guard isOpen else { return }
        let p = scratch
        _ = Self.decimal(nextSender, p, width: 20)
        p[20] = 32
        _ = Self.decimal(nextTarget, p + 21, width: 20)
        p[41] = 10
        _ = pwrite(seqFD, p, 42, 0)
        numbersDirty = false
        if fsyncEach { fdatasync(seqFD) }
    }

    /// Records a sent message with its sequence number and advances nextSender. A closed
    /// store, or a number past maxSeqNum, records nothing.
    public func recordSent(seq: UInt64, bytes: UnsafeBufferPointer<UInt8>) {
        guard isOpen, seq <= Self.maxSeqNum, bytes.count <= Self.maxRecordLength else { return }
        // Room first: a commit's seqnums line is formatted in `scratch`, where the head goes next.
        if pendingCount + Self.maxHead + bytes.count + 1 > Self.pendingCapacity { commit() }
        var n = Self.decimal(seq, scratch)
        scratch[n] = 32
        n += 1
        n += Self.decimal(UInt64(bytes.count), scratch + n)
        scratch[n] = 10
        n += 1
        let total = n + bytes.count + 1
        if pendingCount + total > Self.pendingCapacity { // larger than the whole buffer: written through
            scratch[n] = 10
            var iov = (iovec(iov_base: UnsafeMutableRawPointer(scratch), iov_len: n),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count),
                       iovec(iov_base: UnsafeMutableRawPointer(scratch + n), iov_len: 1))
            let w = withUnsafeMutableBytes(of: &iov) { writev(logFD, $0.baseAddress!.assumingMemoryBound(to: iovec.self), 3) }
            if w == total {
                if indexed { remember(seq: seq, offset: logEnd + off_t(n), count: bytes.count) }
                logEnd += off_t(w)
            } else if w > 0 {
                logEnd += off_t(w)  // a short append: the next index build cuts it
                indexed = false
            }
        } else {
            let at = pending + pendingCount
            at.update(from: scratch, count: n)
            if let b = bytes.baseAddress { (at + n).update(from: b, count: bytes.count) }
            at[n + bytes.count] = 10  // the record's closing newline
            if indexed { remember(seq: seq, offset: logEnd + off_t(pendingCount + n), count: bytes.count) }
            pendingCount += total
        }
        nextSender = seq + 1
        numbersDirty = true
        if fsyncEach { commit() }
    }

    /// Writes the records recorded since the last commit (one write) and the numbers (one pwrite).
    /// The session calls it at the end of each pass; reading the log commits first.
    public func commit() {
        guard isOpen else { return }
        if pendingCount > 0 {
            let w = write(logFD, pending, pendingCount)
            if w > 0 { logEnd += off_t(w) }
            if w != pendingCount { indexed = false } // a short append: the next index build cuts the torn record
            pendingCount = 0
            if fsyncEach { fdatasync(logFD) }
        }
        if numbersDirty { writeSeqnums() }
    }

    /// Set the next inbound / outbound number (values outside 1...maxSeqNum are ignored).
    public func setNextTarget(_ v: UInt64) { guard (1...Self.maxSeqNum).contains(v) else { return }; nextTarget = v; numbersChanged() }
    public func setNextSender(_ v: UInt64) { guard (1...Self.maxSeqNum).contains(v) else { return }; nextSender = v; numbersChanged() }

    func numbersChanged() {
        numbersDirty = true
        if fsyncEach { writeSeqnums() }
    }

    /// Both numbers back to 1 and the log emptied (ResetSeqNumFlag 141=Y).
    public func reset() {
        guard isOpen else { return }
        pendingCount = 0
        _ = ftruncate(logFD, 0)
        logEnd = 0
        index = []
        indexed = false
        nextSender = 1
        nextTarget = 1
        writeSeqnums()
        sync()
    }

    public func sync() { guard isOpen else { return }; commit(); fsync(seqFD); fsync(logFD) }
}

extension FixFileStore {
    /// Makes the store directory `path` (and its parents) if missing. Nil when it is a writable
    /// directory, else the problem: a regular file there would leave every Logon unanswered.
    public static func prepareDirectory(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            mkdir(prefix, 0o755)
            prefix += "/"
        }
        var st = stat()
        guard stat(path, &st) == 0 else { return String(cString: strerror(errno)) }
        guard st.st_mode & S_IFMT == S_IFDIR else { return "not a directory" }
        guard access(path, W_OK | X_OK) == 0 else { return "not writable (\(String(cString: strerror(errno))))" }
        return nil
    }
}

// FIX 4.4 session layer over non-blocking TCP + poll: acceptor and initiator.
//
// Logon (A) with HeartBtInt 108, Heartbeat (0), TestRequest (1) after HeartBtInt + 20 % of
// silence (disconnect after a second such interval), ResendRequest (2) on a sequence gap,
// resends with PossDupFlag 43=Y and OrigSendingTime 122, SequenceReset-GapFill (4, 123=Y) in
// place of admin messages, Reject (3) with RefSeqNum 45 / RefTagID 371 / SessionRejectReason
// 373, Logout (5). MsgSeqNum lower than expected without PossDupFlag: Logout and disconnect.
// CompIDs: we send SenderCompID config.senderCompID; an acceptor with targetCompID nil takes
// the client's 49 from its Logon. Sequence numbers and sent messages persist in FixFileStore.
// Framing faults (bad BodyLength / CheckSum / BeginString) are dropped silently (FIX 4.4 vol 2).
// Hostile input never traps: a Logon with a CompID that could not name a store
// (FixFileStore.isValidCompID) or a HeartBtInt outside 0...maxHeartBtInt is refused with a
// Logout; numbers are checked before any arithmetic; bytes queued for a peer that does not read
// are bounded by maxPendingBytes (the connection closes past it).
//
// Allocation: the steady-state application path (D / F / G in, 8 / 9 out, and the reverse on
// an initiator) allocates nothing once the session is logged on and `logEvents` is off:
// identifiers are inline FixStrings, FixOut encodes into inline bytes, SendingTime is
// formatted into stack bytes, the store appends with writev from preallocated buffers.
// Admin paths still allocate: Logon, Logout, Reject (text), ResendRequest service (reads the
// log back), TestRequest, the event log (`logEvents`), disconnects. One connection per
// FixSession; the caller drives it with pollOnce (one thread), or an acceptor drives all of
// its sessions from one poll set (register / handle, shared with other servers if wanted).
import CSys
import CWire
#if canImport(Glibc)
import Glibc
#endif

public struct FixSessionConfig: Sendable {
    public var senderCompID: String
    public var targetCompID: String?     // nil (acceptor only): accept any client CompID
    public var heartBtInt: Int           // seconds; the initiator proposes, the acceptor echoes the client's
    public var storeDirectory: String
    public var fsyncEveryMessage: Bool
    public var resetOnLogon: Bool        // initiator: send 141=Y and start both sides at 1
    /// Keep a text log of the session's events (`FixSession.events`): for tests and debugging. It
    /// grows with every message, so a long-running session leaves it off (the default).
    public var logEvents: Bool
    /// Bytes a connection may have queued for a peer that does not read (reports, resends); past
    /// it the connection closes (counted in FixAcceptor.slowClientDisconnects). 4 MiB is tens of
    /// thousands of ExecutionReports: a peer that far behind is not coming back.
    public var maxPendingBytes: Int
    /// Largest HeartBtInt (seconds) a Logon may carry. FIX sets no limit, but an hour is far past
    /// any real interval (engines use 30 s), and it keeps every timer well inside UInt64 ns.
    public static let maxHeartBtInt = 3600
    public init(senderCompID: String = "OMNI", targetCompID: String? = nil, heartBtInt: Int = 30,
                storeDirectory: String, fsyncEveryMessage: Bool = false, resetOnLogon: Bool = false, logEvents: Bool = false,
                maxPendingBytes: Int = 4 << 20) {
        self.senderCompID = senderCompID; self.targetCompID = targetCompID; self.heartBtInt = heartBtInt
        self.storeDirectory = storeDirectory; self.fsyncEveryMessage = fsyncEveryMessage; self.resetOnLogon = resetOnLogon
        self.logEvents = logEvents; self.maxPendingBytes = maxPendingBytes
    }
}

public enum FixSessionState: Sendable, Equatable { case awaitingLogon, loggedOn, logoutSent, closed }

public final class FixSession<App: FixApplication>: @unchecked Sendable {
    public let config: FixSessionConfig
    public let app: App
    public let isInitiator: Bool
    public private(set) var state: FixSessionState = .awaitingLogon
    public private(set) var peerCompID: String?
    public private(set) var store: FixFileStore?
    public private(set) var heartBtInt: Int
    /// Session events in order ("in A 1", "out 2 7=3 16=0", "gap 3..5", "reject ..."), kept while
    /// `logEvents` is on (from `FixSessionConfig.logEvents`).
    public private(set) var events: [String] = []
    public var logEvents: Bool

    var fd: Int32
    let rx: UnsafeMutablePointer<UInt8>
    let rxCap = 1 << 20
    var rxLen = 0
    let fields: UnsafeMutablePointer<cw_fix_field>
    let fieldCap = 256
    let tx: UnsafeMutablePointer<UInt8>
    let txCap = 1 << 16
    var pending: [UInt8] = []   // bytes the socket did not take yet: pending[pendingStart...]
    var pendingStart = 0
    var outbox: FixOutbox = []
    var lastRecvNs: UInt64 = 0
    /// When the connection was made: the Logon must complete within logonTimeoutNs of it, however
    /// the bytes trickle in (a peer sending one byte at a time must not hold a connection slot).
    var connectedNs: UInt64 = 0
    var lastSentNs: UInt64 = 0
    var testRequestSentNs: UInt64 = 0
    var testRequestCount = 0
    var resendUpTo: UInt64 = 0  // a ResendRequest is outstanding until nextTarget passes this
    /// The acceptor that accepted this connection (nil: an initiator or a standalone session).
    weak var acceptor: FixAcceptor<App>?
    var pollIndex = -1

    init(fd: Int32, config: FixSessionConfig, app: App, initiator: Bool) {
        self.fd = fd
        self.config = config
        self.app = app
        self.isInitiator = initiator
        self.heartBtInt = config.heartBtInt
        self.logEvents = config.logEvents
        rx = .allocate(capacity: rxCap)
        fields = .allocate(capacity: fieldCap)
        tx = .allocate(capacity: txCap)
        pending.reserveCapacity(1 << 16)
        outbox.reserveCapacity(8)
        lastRecvNs = csys_monotonic_ns()
        lastSentNs = lastRecvNs
        connectedNs = lastRecvNs
        if let t = config.targetCompID { peerCompID = t }
    }

    deinit {
        if fd >= 0 { close(fd) }
        rx.deallocate(); fields.deallocate(); tx.deallocate()
    }

    func note(_ s: @autoclosure () -> String) { if logEvents { events.append(s()) } }

    public var nextSenderSeq: UInt64 { store?.nextSender ?? 1 }
    public var nextTargetSeq: UInt64 { store?.nextTarget ?? 1 }
    public var isOpen: Bool { fd >= 0 }
    public var fileDescriptor: Int32 { fd }
    /// Bytes queued for the peer that the socket has not taken yet.
    public var pendingBytes: Int { pending.count - pendingStart }

    /// HeartBtInt in ns. Logons outside 0...maxHeartBtInt are refused; the clamp keeps a bad
    /// configured value from overflowing too.
    var heartBtNs: UInt64 { UInt64(clamping: min(heartBtInt, FixSessionConfig.maxHeartBtInt)) * 1_000_000_000 }

    /// Opens the counterparty's store (or takes the one the acceptor opened for a message sent
    /// while it was offline); it stays open while this connection is (closed by `disconnect`).
    func openStore() -> Bool {
        guard let peer = peerCompID else { return false }
        if store == nil {
            store = acceptor?.takeOfflineStore(peer)
                ?? FixFileStore(directory: config.storeDirectory, sender: config.senderCompID, target: peer,
                                fsyncEveryMessage: config.fsyncEveryMessage)
        }
        return store != nil
    }

    // MARK: sending

    /// Encodes and sends one message with the next MsgSeqNum (admin or application).
    public func send(_ m: FixOut) {
        guard let store, fd >= 0 else { return }
        let seq = store.nextSender
        guard let bytes = Self.encode(m, sender: config.senderCompID, target: peerCompID ?? "", seq: seq, into: tx, capacity: txCap) else {
            note("drop oversize \(m.msgType)"); return
        }
        store.recordSent(seq: seq, bytes: bytes)
        note("out \(m.msgType) \(seq)")
        write(bytes)
    }

    /// One whole message (header, `m`'s fields, trailer) built in `buffer`; nil when it does not fit.
    static func encode(_ m: FixOut, sender: String, target: String, seq: UInt64,
                       into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> UnsafeBufferPointer<UInt8>? {
        if m.overflowed { return nil }
        var b = cw_fix_builder()
        cw_fix_begin(&b, buffer, capacity)
        b.add(35, m.msgType)
        b.add(49, sender)
        b.add(56, target)
        cw_fix_add_u64(&b, 34, seq)
        b.addTimestamp(52)
        m.withBody { cw_fix_add_encoded(&b, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
        var start = 0
        let n = cw_fix_finish(&b, &start)
        return n > 0 ? UnsafeBufferPointer(start: buffer + start, count: n) : nil
    }

    /// Sends `bytes` now, or queues what the socket does not take. A queue past maxPendingBytes
    /// closes the connection: a peer that does not read must not grow our memory.
    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard fd >= 0 else { return }
        lastSentNs = csys_monotonic_ns()
        var from = 0
        if pendingBytes == 0 {
            let w = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if w == bytes.count { return }
            if w < 0 && errno != EAGAIN && errno != EWOULDBLOCK { let e = errno; disconnect("send failed errno \(e)"); return }
            from = max(w, 0)
        }
        guard pendingBytes + (bytes.count - from) <= config.maxPendingBytes else {
            acceptor?.didDropSlowClient()
            disconnect("peer too far behind: more than \(config.maxPendingBytes) bytes queued"); return
        }
        pending.append(contentsOf: bytes[from...])
    }

    /// Sends what is queued, as far as the socket takes it. Returns the errno of a broken
    /// connection (0 otherwise) and never disconnects itself, so `disconnect` can call it.
    func drain() -> Int32 {
        guard pendingBytes > 0, fd >= 0 else { return 0 }
        let w = pending.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + pendingStart, $0.count - pendingStart, Int32(MSG_NOSIGNAL)) }
        if w < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : errno }
        pendingStart += w
        if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true); pendingStart = 0
        } else if pendingStart >= pending.count / 2 {
            pending.removeFirst(pendingStart); pendingStart = 0  // moves at most what was sent: linear overall
        }
        return 0
    }

    func flush() {
        let e = drain()
        if e != 0 { disconnect("send failed errno \(e)") }
    }

    public func disconnect(_ why: String) {
        guard fd >= 0 else { return }
        _ = drain()  // a last try for what is queued (a Logout); a broken connection just ends here
        note("disconnect: \(why)")
        store?.close()
        close(fd)
        fd = -1
        state = .closed
        pending = []; pendingStart = 0
    }

    /// Sends Logout (5); the session closes when the peer answers (or on its own Logout).
    public func logout(_ text: String? = nil) {
        guard state == .loggedOn else { return }
        var m = FixOut(msgType: "5")
        if let text { m.add(58, text) }
        send(m)
        state = .logoutSent
        store?.sync()
    }

    func sendReject(refSeq: UInt64, reason: Int, tag: UInt32, msgType: String?, text: String) {
        var r = FixOut(msgType: "3")
        r.addUInt(45, refSeq)
        if tag != 0 { r.addInt(371, Int64(tag)) }
        if let msgType { r.add(372, msgType) }
        r.addInt(373, Int64(reason))
        r.add(58, text)
        note("reject \(refSeq) reason \(reason) tag \(tag)")
        send(r)
    }

    func sendLogon() {
        var m = FixOut(msgType: "A")
        m.addInt(98, 0)
        m.addInt(108, Int64(heartBtInt))
        if isInitiator && config.resetOnLogon { m.addChar(141, UInt8(ascii: "Y")) }
        send(m)
    }

    // MARK: receiving

    /// Reads what the socket has, handles every whole message, runs the heartbeat timers.
    /// Returns false once the session is closed.
    @discardableResult
    public func pollOnce(timeoutMs: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var p = pollfd(fd: fd, events: pollEvents, revents: 0)
        let r = poll(&p, 1, timeoutMs)
        if r > 0 { ready(p.revents) }
        timers()
        return fd >= 0
    }

    var pollEvents: Int16 { Int16(POLLIN) | (pendingBytes == 0 ? 0 : Int16(POLLOUT)) }

    /// Adds this connection to `set` (POLLIN; POLLOUT while bytes wait to be sent).
    public func register(in set: PollSet) {
        pollIndex = fd >= 0 ? set.add(fd, events: pollEvents) : -1
    }

    /// After `set.wait`: sends and reads what the socket is ready for, handles every whole
    /// message, runs the heartbeat timers. Returns false once the session is closed.
    @discardableResult
    public func handle(in set: PollSet) -> Bool {
        if pollIndex >= 0 {
            let r = set.revents(at: pollIndex)
            pollIndex = -1
            if r != 0 { ready(r) }
        }
        timers()
        return fd >= 0
    }

    func ready(_ revents: Int16) {
        if revents & Int16(POLLOUT) != 0 { flush() }
        if revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 { readAvailable() }
    }

    /// Monotonic ns when a heartbeat, TestRequest or the no-answer disconnect falls due
    /// (UInt64.max: no timer, e.g. before Logon). A loop waits at most until then.
    public func nextTimerNs() -> UInt64 {
        guard fd >= 0, state == .loggedOn || state == .logoutSent, heartBtInt > 0 else { return .max }
        let hb = heartBtNs
        let grace = hb / 5
        var due = (testRequestSentNs == 0 ? lastRecvNs : testRequestSentNs) &+ hb &+ grace
        if state == .loggedOn { due = min(due, lastSentNs &+ hb) }
        return due
    }

    func readAvailable() {
        while fd >= 0 {
            if rxLen == rxCap { disconnect("receive buffer full"); return }
            let n = recv(fd, rx + rxLen, rxCap - rxLen, 0)
            if n == 0 { disconnect("peer closed"); return }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                if errno == EINTR { continue }
                disconnect("recv errno \(errno)"); return
            }
            rxLen += n
            lastRecvNs = csys_monotonic_ns()
            parseBuffered()
        }
    }

    func parseBuffered() {
        var off = 0
        var m = cw_fix_msg()
        m.fields = fields
        m.cap = UInt32(fieldCap)
        while off < rxLen && fd >= 0 {
            var consumed = 0
            let rc = Int(cw_fix_parse(rx + off, rxLen - off, &m, &consumed))
            if rc == CW_FIX_NEED_MORE { break }
            off += consumed
            if rc == CW_FIX_OK {
                handle(FixView(fields: fields, count: Int(m.count)), seqField: m.msg_seq_num)
            } else if rc <= CW_FIX_ERR_FIELD_MSGTYPE {
                garbled(rc: rc, msg: m)
            } else {
                note("drop framing fault: \(String(cString: cw_fix_strerror(Int32(rc))))")
            }
        }
        if off > 0 {
            if off < rxLen { (rx).update(from: rx + off, count: rxLen - off) }
            rxLen -= off
        }
    }

    /// Framed message with a field-level fault: Reject (3) and count its sequence number.
    func garbled(rc: Int, msg: cw_fix_msg) {
        let reason: Int
        switch rc {
        case CW_FIX_ERR_FIELD_TAG_SYNTAX: reason = 0       // Invalid tag number
        case CW_FIX_ERR_FIELD_EMPTY_VALUE: reason = 4      // Tag specified without a value
        case CW_FIX_ERR_FIELD_DUPLICATE: reason = 13       // Tag appears more than once
        case CW_FIX_ERR_FIELD_HEADER_ORDER: reason = 14    // Tag specified out of required order
        case CW_FIX_ERR_FIELD_MSGTYPE: reason = 11         // Invalid MsgType
        default: reason = 99
        }
        guard state == .loggedOn, let store else { disconnect("garbled message before logon"); return }
        let seq = msg.msg_seq_num
        sendReject(refSeq: seq, reason: reason, tag: msg.err_tag, msgType: nil, text: String(cString: cw_fix_strerror(Int32(rc))))
        if seq == store.nextTarget { store.setNextTarget(seq + 1) }
    }

    func handle(_ m: FixView, seqField: UInt64) {
        let type = m.msgType ?? ""
        let seq = seqField
        note("in \(type) \(seq)")
        if state == .awaitingLogon {
            guard type == "A" else { disconnect("first message not Logon"); return }
            onLogon(m, seq: seq)
            return
        }
        guard let store else { return }
        guard seq > 0 else {
            logoutAndClose("MsgSeqNum missing"); return
        }
        // CompIDs on every message
        if !m.equals(49, peerCompID) || !m.equals(56, config.senderCompID) {
            sendReject(refSeq: seq, reason: 9, tag: m.equals(49, peerCompID) ? 56 : 49, msgType: type, text: "CompID problem")
            logoutAndClose("CompID problem"); return
        }
        if !m.has(52) {
            sendReject(refSeq: seq, reason: 1, tag: 52, msgType: type, text: "SendingTime missing")
            if seq == store.nextTarget { store.setNextTarget(seq + 1) }
            return
        }
        let possDup = m.char(43) == UInt8(ascii: "Y")
        if type == "4" && m.char(123) != UInt8(ascii: "Y") {  // SequenceReset-Reset: ignores MsgSeqNum
            if let n = m.int(36), UInt64(n) >= store.nextTarget { store.setNextTarget(UInt64(n)); note("reset to \(n)") }
            return
        }
        if seq < store.nextTarget {
            if possDup { note("duplicate \(seq) ignored"); return }
            logoutAndClose("MsgSeqNum too low, expecting \(store.nextTarget) but received \(seq)"); return
        }
        if seq > store.nextTarget {
            if type == "5" { onLogout(); return }
            if type == "2" { onResendRequest(m, seq: seq) }  // serve theirs, then ask for ours
            if resendUpTo < store.nextTarget { requestResend(before: seq) }
            return
        }
        // seq == expected
        store.setNextTarget(seq + 1)
        switch type {
        case "0":
            if m.has(112) { testRequestSentNs = 0; testRequestCount = 0 }
        case "1":
            var h = FixOut(msgType: "0")
            if let id = m.string(112) { h.add(112, id) }
            send(h)
        case "2": onResendRequest(m, seq: seq)
        case "3": note("peer rejected \(m.string(45) ?? "?"): \(m.string(58) ?? "")")
        case "4":
            if let n = m.int(36), UInt64(n) > store.nextTarget { store.setNextTarget(UInt64(n)); note("gap fill to \(n)") }
        case "5": onLogout()
        case "A": sendReject(refSeq: seq, reason: 99, tag: 0, msgType: type, text: "already logged on")
        default:
            outbox.removeAll(keepingCapacity: true)
            switch app.fromApp(m, peer: peerCompID ?? "", out: &outbox) {
            case .accepted: break
            case .reject(let reason, let tag, let text): sendReject(refSeq: seq, reason: reason, tag: tag, msgType: type, text: text)
            }
            for o in outbox { send(o) }
        }
        if resendUpTo != 0 && store.nextTarget > resendUpTo { resendUpTo = 0 }
    }

    /// Checks the Logon before anything is opened: the CompID names store files, HeartBtInt feeds the timers.
    func onLogon(_ m: FixView, seq: UInt64) {
        guard m.string(56) == config.senderCompID else { disconnect("Logon TargetCompID \(m.string(56) ?? "-") is not \(config.senderCompID)"); return }
        guard let peer = m.string(49) else { disconnect("Logon without SenderCompID"); return }
        guard FixFileStore.isValidCompID(peer) else {
            refuseLogon(peer, "SenderCompID must be 1 to \(FixString.capacity) printable ASCII characters, no '/'"); return
        }
        guard seq > 0 else { refuseLogon(peer, "MsgSeqNum (34) missing or not a number"); return }
        if let want = config.targetCompID, want != peer { disconnect("Logon from \(peer), expected \(want)"); return }
        guard let hb = m.int(108), hb <= FixSessionConfig.maxHeartBtInt else {
            refuseLogon(peer, "HeartBtInt (108) must be 0 to \(FixSessionConfig.maxHeartBtInt) seconds"); return
        }
        if let acceptor, acceptor.isLoggedOn(peer, other: self) {
            refuseLogon(peer, "session \(peer) is already logged on")
            return
        }
        peerCompID = peer
        guard openStore(), let store else { disconnect("cannot open store in \(config.storeDirectory)"); return }
        if m.char(141) == UInt8(ascii: "Y") && !isInitiator { store.reset() }
        if !isInitiator { heartBtInt = Int(hb) }
        state = .loggedOn
        note("logon \(peer) hb \(hb)")
        if !isInitiator { sendLogon() }
        store.sync()
        if seq < store.nextTarget {
            logoutAndClose("MsgSeqNum too low, expecting \(store.nextTarget) but received \(seq)")
        } else if seq > store.nextTarget {
            requestResend(before: seq)
        } else {
            store.setNextTarget(seq + 1)
        }
        if state == .loggedOn && fd >= 0 { acceptor?.didLogOn(self) }
    }

    /// A Logon this acceptor will not take (its CompID is logged on on another connection, is no
    /// valid CompID, or its HeartBtInt is out of range): a Logout with the reason, numbered 1 and
    /// kept out of every store (a live session's sequence numbers stay untouched), then the
    /// connection closes. Counted in FixAcceptor.refusedLogons.
    func refuseLogon(_ peer: String, _ text: String) {
        acceptor?.didRefuseLogon()
        var b = cw_fix_builder()
        cw_fix_begin(&b, tx, txCap)
        b.add(35, "5")
        b.add(49, config.senderCompID)
        b.add(56, peer)
        cw_fix_add_u64(&b, 34, 1)
        b.add(52, FixClock.sendingTime())
        b.add(58, text)
        var start = 0
        let n = cw_fix_finish(&b, &start)
        note("refused logon: \(text)")
        if n > 0 { write(UnsafeBufferPointer(start: tx + start, count: n)) }
        disconnect(text)
    }

    func onLogout() {
        if state == .loggedOn {
            send(FixOut(msgType: "5"))
        }
        disconnect("logout")
    }

    func logoutAndClose(_ text: String) {
        var m = FixOut(msgType: "5")
        m.add(58, text)
        send(m)
        disconnect(text)
    }

    /// Asks for everything from the next expected sequence number on (16=0: to the end) after `seq` arrived past it.
    func requestResend(before seq: UInt64) {
        guard let store else { return }
        note("gap \(store.nextTarget)..\(seq - 1)")
        var r = FixOut(msgType: "2")
        r.addUInt(7, store.nextTarget)
        r.addInt(16, 0)
        send(r)
        resendUpTo = seq
    }

    static func isAdmin(_ t: String) -> Bool { t.count == 1 && "0123456A".contains(t) }

    /// Resends [7, 16] from the store: application messages with 43=Y and 122, runs of admin
    /// messages (or missing ones) as one SequenceReset-GapFill. BeginSeqNo must be 1 or more and
    /// EndSeqNo 0 (to the end) or not below it; anything else is answered with Reject (3,
    /// SessionRejectReason 5 value incorrect, or 1 missing), never guessed at. Reads only the
    /// range asked for; stops when the peer falls maxPendingBytes behind (`write` closes).
    func onResendRequest(_ m: FixView, seq: UInt64) {
        guard let store else { return }
        for tag: UInt32 in [7, 16] where m.int(tag) == nil {
            if m.has(tag) { sendReject(refSeq: seq, reason: 5, tag: tag, msgType: "2", text: "value incorrect: not a sequence number") }
            else { sendReject(refSeq: seq, reason: 1, tag: tag, msgType: "2", text: "Required tag missing") }
            return
        }
        let begin = UInt64(m.int(7)!), endSeqNo = UInt64(m.int(16)!)
        guard begin >= 1 else { sendReject(refSeq: seq, reason: 5, tag: 7, msgType: "2", text: "value incorrect: BeginSeqNo 0"); return }
        guard endSeqNo == 0 || endSeqNo >= begin else {
            sendReject(refSeq: seq, reason: 5, tag: 16, msgType: "2", text: "value incorrect: EndSeqNo before BeginSeqNo"); return
        }
        let last = store.nextSender - 1
        let end = endSeqNo == 0 ? last : min(endSeqNo, last)
        note("resend \(begin)..\(end)")
        guard begin <= end else { return }
        func gapFill(from: UInt64, to next: UInt64) {
            var b = cw_fix_builder()
            cw_fix_begin(&b, tx, txCap)
            b.add(35, "4")
            b.add(49, config.senderCompID)
            b.add(56, peerCompID ?? "")
            cw_fix_add_u64(&b, 34, from)
            b.addChar(43, UInt8(ascii: "Y"))
            let now = FixClock.sendingTime()
            b.add(52, now)
            b.add(122, now)
            b.addChar(123, UInt8(ascii: "Y"))
            cw_fix_add_u64(&b, 36, next)
            var s = 0
            let n = cw_fix_finish(&b, &s)
            note("out 4 \(from) gapfill->\(next)")
            write(UnsafeBufferPointer(start: tx + s, count: n))
        }
        let f = UnsafeMutablePointer<cw_fix_field>.allocate(capacity: fieldCap)
        defer { f.deallocate() }
        var next = begin  // the first number neither resent nor gap-filled yet
        store.forEachMessage(from: begin, through: end) { seq, p in
            var msg = cw_fix_msg()
            msg.fields = f
            msg.cap = UInt32(fieldCap)
            var c = 0
            guard cw_fix_parse(p.baseAddress, p.count, &msg, &c) == CW_FIX_OK else { return true }
            let v = FixView(fields: f, count: Int(msg.count))
            guard let t = v.msgType, !Self.isAdmin(t) else { return true }  // admin: part of a gap fill
            if next < seq { gapFill(from: next, to: seq) }
            var b = cw_fix_builder()
            cw_fix_begin(&b, tx, txCap)
            b.add(35, t)
            b.add(49, config.senderCompID)
            b.add(56, peerCompID ?? "")
            cw_fix_add_u64(&b, 34, seq)
            b.addChar(43, UInt8(ascii: "Y"))
            b.add(52, FixClock.sendingTime())
            b.add(122, v.string(52) ?? FixClock.sendingTime())
            for i in 0..<Int(msg.count) {
                switch f[i].tag {
                case 8, 9, 10, 35, 49, 56, 34, 43, 52, 122: continue
                default: cw_fix_add(&b, f[i].tag, f[i].val, Int(f[i].len))
                }
            }
            var s = 0
            let n = cw_fix_finish(&b, &s)
            note("out \(t) \(seq) possdup")
            write(UnsafeBufferPointer(start: tx + s, count: n))
            next = seq + 1
            return fd >= 0
        }
        if fd >= 0 && next <= end { gapFill(from: next, to: end + 1) }
    }

    func timers() {
        guard fd >= 0, state == .loggedOn || state == .logoutSent, heartBtInt > 0 else { return }
        let now = csys_monotonic_ns()
        let hb = heartBtNs
        if csys_elapsed_ns(now, lastSentNs) >= hb && state == .loggedOn { send(FixOut(msgType: "0")) }
        let grace = hb / 5
        if csys_elapsed_ns(now, lastRecvNs) >= hb + grace {
            if testRequestSentNs == 0 {
                testRequestCount += 1
                var t = FixOut(msgType: "1")
                t.add(112, "TEST-\(testRequestCount)")
                send(t)
                testRequestSentNs = now
            } else if csys_elapsed_ns(now, testRequestSentNs) >= hb + grace {
                disconnect("no answer to TestRequest")
            }
        }
    }
}

// MARK: sockets

enum FixSocket {
    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }
}

/// Listens on host:port (default 127.0.0.1; port 0: any free port) and serves many client
/// connections at once, one FixSession each. Each counterparty CompID has one store (sequence
/// numbers, sent messages), opened at its Logon and closed when that connection ends, so the
/// descriptors held follow the live connections, not every CompID ever seen. A Logon with a
/// CompID that is logged on on another connection is refused (Logout with the reason, then
/// close), as FIX engines do. A connection that completes no Logon within `logonTimeoutNs` is
/// closed. At most `maxConnections` are open; one more is accepted and closed at once. When the
/// process is out of descriptors (EMFILE), a spare one held for that moment accepts and closes
/// the waiting connection, so the listening socket does not stay readable and spin the loop.
///
/// Driven by `pollOnce` (a poll set of its own), or from an outside poll set: `register(in:)`,
/// one `PollSet.wait`, `handle(in:)`, with `nextTimerNs()` bounding the wait.
public final class FixAcceptor<App: FixApplication>: @unchecked Sendable {
    public let config: FixSessionConfig
    public let app: App
    public let host: String
    public private(set) var port: UInt16 = 0
    /// The connection accepted last.
    public private(set) var session: FixSession<App>?
    /// Every session this acceptor has served, latest last, while `keepHistory` (a long-running
    /// acceptor turns it off: each session holds its buffers and event log).
    public private(set) var sessions: [FixSession<App>] = []
    public var keepHistory = true
    /// Open connections, logged on or not yet.
    public private(set) var connections: [FixSession<App>] = []
    /// Logged-on sessions by counterparty CompID.
    public private(set) var loggedOn: [String: FixSession<App>] = [:]
    /// Logons refused: the CompID logged on elsewhere or no valid CompID, or HeartBtInt out of range.
    public private(set) var refusedLogons = 0
    /// Connections closed as soon as accepted: over `maxConnections`, or no descriptor left.
    public private(set) var refusedConnections = 0
    /// Connections closed because their peer fell more than `maxPendingBytes` behind.
    public private(set) var slowClientDisconnects = 0
    /// Open connections (logged on or not) beyond which new ones are accepted and closed at once.
    public var maxConnections = 256
    /// Logons completed.
    public private(set) var logons = 0
    public var logonTimeoutNs: UInt64 = 10_000_000_000
    /// Stores opened by `send(_:to:)` for CompIDs without a connection holding theirs: kept for
    /// the rest of the pass (a burst such as cancel on disconnect opens the files once), closed
    /// by `sweep`, or taken over by the CompID's Logon.
    var offlineStores: [String: FixFileStore] = [:]
    let listenFD: Int32
    var listenIndex = -1
    /// /dev/null, held so that accept can still take (and close) a connection at EMFILE.
    var spareFD: Int32 = -1
    /// While the spare cannot be had back, accepting pauses until then (0: not paused).
    var acceptPausedUntilNs: UInt64 = 0
    static var acceptPauseNs: UInt64 { 100_000_000 }
    let ownPollSet = PollSet(capacity: 16)

    public init?(host: String = "127.0.0.1", port: UInt16 = 0, config: FixSessionConfig, app: App) {
        self.config = config
        self.app = app
        self.host = host
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        guard host.withCString({ inet_pton(AF_INET, $0, &a.sin_addr) }) == 1 else { errno = EINVAL; return nil }
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listenFD >= 0 else { return nil }
        var one: Int32 = 1
        _ = setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0, listen(listenFD, 64) == 0 else { let e = errno; close(listenFD); errno = e; return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &len) } }
        self.port = UInt16(bigEndian: a.sin_port)
        FixSocket.setNonBlocking(listenFD)
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    deinit {
        for s in connections { s.disconnect("acceptor closed") }
        close(listenFD)
        if spareFD >= 0 { close(spareFD) }
        offlineBuffer.deallocate()
    }

    /// One poll round on a poll set of its own: waits up to `timeoutMs`, then `handle`.
    public func pollOnce(timeoutMs: Int32) {
        ownPollSet.reset()
        register(in: ownPollSet)
        ownPollSet.wait(timeoutMs: timeoutMs)
        handle(in: ownPollSet)
    }

    /// Adds the listening socket and every open connection to `set`.
    public func register(in set: PollSet) {
        if acceptPausedUntilNs != 0 && csys_monotonic_ns() >= acceptPausedUntilNs { acceptPausedUntilNs = 0 }
        listenIndex = acceptPausedUntilNs == 0 ? set.add(listenFD, events: Int16(POLLIN)) : -1
        for s in connections { s.register(in: set) }
    }

    /// After `set.wait`: serves every ready connection, runs every session's timers, accepts
    /// new connections, forgets closed ones (telling the application of ended sessions).
    public func handle(in set: PollSet) {
        let now = csys_monotonic_ns()
        for s in connections {
            s.handle(in: set)
            if s.state == .awaitingLogon && s.isOpen && csys_elapsed_ns(now, s.connectedNs) >= logonTimeoutNs {
                s.disconnect("no Logon within \(logonTimeoutNs / 1_000_000) ms")
            }
        }
        if listenIndex >= 0 {
            if set.revents(at: listenIndex) & Int16(POLLIN) != 0 { acceptAll() }
            listenIndex = -1
        }
        sweep()
    }

    /// Monotonic ns of the next timer of any connection (heartbeat, TestRequest, logon timeout).
    public func nextTimerNs() -> UInt64 {
        var due = acceptPausedUntilNs == 0 ? UInt64.max : acceptPausedUntilNs
        for s in connections {
            if s.state == .awaitingLogon {
                let (t, over) = s.connectedNs.addingReportingOverflow(logonTimeoutNs)
                due = min(due, over ? .max : t)
            }
            due = min(due, s.nextTimerNs())
        }
        return due
    }

    /// The logged-on session of a counterparty CompID.
    public func session(for compID: String) -> FixSession<App>? { loggedOn[compID] }

    /// Sends Logout to every logged-on session (each closes when its peer answers).
    public func logoutAll(_ text: String? = nil) {
        for s in connections where s.state == .loggedOn { s.logout(text) }
    }

    /// Sends `m` to `compID`: at once when it is logged on; else numbered and kept in its store
    /// (FIX practice: the counterparty gets it by ResendRequest after its next Logon, unless that
    /// Logon resets the numbers). The store of an offline CompID is opened on demand and closed
    /// at the end of the pass (`offlineStores`). False when the CompID has no store here (never
    /// logged on) or the message does not fit.
    @discardableResult
    public func send(_ m: FixOut, to compID: String) -> Bool {
        let live = loggedOn[compID]
        if let s = live, s.state == .loggedOn { s.send(m); return true }
        let store: FixFileStore
        if let held = live?.store, held.isOpen {
            store = held  // a session still ending (Logout sent) holds the store open
        } else if let st = offlineStores[compID] ?? FixFileStore(directory: config.storeDirectory, sender: config.senderCompID, target: compID,
                                                                   fsyncEveryMessage: config.fsyncEveryMessage, create: false) {
            store = st
            offlineStores[compID] = st
        } else {
            return false
        }
        guard let bytes = FixSession<App>.encode(m, sender: config.senderCompID, target: compID, seq: store.nextSender,
                                                 into: offlineBuffer, capacity: offlineCapacity) else { return false }
        store.recordSent(seq: store.nextSender, bytes: bytes)
        storedForResend += 1
        return true
    }

    /// Messages kept for a counterparty that was not logged on (see `send(_:to:)`).
    public private(set) var storedForResend = 0
    let offlineCapacity = 1 << 16
    let offlineBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)

    /// Closes every connection now.
    public func disconnectAll(_ why: String) {
        for s in connections { s.disconnect(why) }
        sweep()
    }

    func acceptAll() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                guard errno == EMFILE || errno == ENFILE else { return }  // EAGAIN: none waiting
                if !shedWithSpare() { return }
                continue
            }
            if connections.count >= maxConnections { close(c); refusedConnections += 1; continue }
            FixSocket.setNonBlocking(c)
            let s = FixSession(fd: c, config: config, app: app, initiator: false)
            s.acceptor = self
            session = s
            connections.append(s)
            if keepHistory { sessions.append(s) }
        }
    }

    /// Out of descriptors: gives up the spare to accept one waiting connection and close it at
    /// once, then takes the spare back. False when nothing more is to be done now; without a
    /// spare to take back, accepting pauses for acceptPauseNs instead of spinning.
    func shedWithSpare() -> Bool {
        if spareFD >= 0 { close(spareFD) }
        let c = accept(listenFD, nil, nil)
        if c >= 0 { close(c); refusedConnections += 1 }
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if spareFD < 0 { acceptPausedUntilNs = csys_monotonic_ns() + Self.acceptPauseNs; return false }
        return c >= 0
    }

    func sweep() {
        var closed = false
        for s in connections where !s.isOpen {
            closed = true
            if let peer = s.peerCompID, loggedOn[peer] === s {
                loggedOn[peer] = nil
                app.sessionEnded(peer: peer)
            }
        }
        if closed { connections.removeAll { !$0.isOpen } }
        if !offlineStores.isEmpty {
            for st in offlineStores.values { st.close() }
            offlineStores.removeAll()
        }
    }

    func takeOfflineStore(_ peer: String) -> FixFileStore? { offlineStores.removeValue(forKey: peer) }

    // Called by the sessions.

    func isLoggedOn(_ peer: String, other s: FixSession<App>) -> Bool {
        guard let live = loggedOn[peer], live !== s, live.isOpen else { return false }
        return true
    }

    func didRefuseLogon() { refusedLogons += 1 }
    func didDropSlowClient() { slowClientDisconnects += 1 }

    func didLogOn(_ s: FixSession<App>) {
        guard let peer = s.peerCompID else { return }
        if let old = loggedOn[peer], old !== s, !old.isOpen { sweep() }  // its end is told first
        loggedOn[peer] = s
        logons += 1
        app.loggedOn(peer: peer)
    }
}

/// Connects to 127.0.0.1:port and sends Logon.
public enum FixInitiator {
    public static func connect<App: FixApplication>(port: UInt16, config: FixSessionConfig, app: App) -> FixSession<App>? {
        guard config.targetCompID != nil, (0...FixSessionConfig.maxHeartBtInt).contains(config.heartBtInt) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var a = FixSocket.loopback(port)
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { close(fd); return nil }
        FixSocket.setNonBlocking(fd)
        let s = FixSession(fd: fd, config: config, app: app, initiator: true)
        guard s.openStore() else { return nil }
        if config.resetOnLogon { s.store?.reset() }
        s.sendLogon()
        return s
    }
}

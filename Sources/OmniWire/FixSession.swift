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
import OmniNet
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
    /// Answer a ResendRequest with our application messages (43=Y). Off (a trader's initiator):
    /// the whole range is gap-filled, so an order lost in a disconnect is never sent late; what
    /// became of it is learnt after the reconnect instead.
    public var resendApplicationMessages: Bool
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
                maxPendingBytes: Int = 4 << 20, resendApplicationMessages: Bool = true) {
        self.senderCompID = senderCompID; self.targetCompID = targetCompID; self.heartBtInt = heartBtInt
        self.storeDirectory = storeDirectory; self.fsyncEveryMessage = fsyncEveryMessage; self.resetOnLogon = resetOnLogon
        self.logEvents = logEvents; self.maxPendingBytes = maxPendingBytes; self.resendApplicationMessages = resendApplicationMessages
    }
}

public enum FixSessionState: Sendable, Equatable { case awaitingLogon, loggedOn, logoutSent, closed }

/// What a session asks of the acceptor that accepted it (OmniVenue's FixAcceptor): one logged-on
/// connection per CompID, stores opened for messages sent while the CompID was away, counters.
package protocol FixSessionOwner: AnyObject {
    /// Whether `peer` is logged on on a connection other than `other`.
    func isLoggedOn(_ peer: String, other: ObjectIdentifier) -> Bool
    func didLogOn(peer: String?, session: ObjectIdentifier)
    func didRefuseLogon()
    func didDropSlowClient()
    /// The store the acceptor opened for `peer` while it was away, handed over (nil: none).
    func takeOfflineStore(_ peer: String) -> FixFileStore?
}

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

    package var fd: Int32
    package let rx: UnsafeMutablePointer<UInt8>
    package let rxCap = 1 << 20
    package var rxLen = 0
    package let fields: UnsafeMutablePointer<cw_fix_field>
    package let fieldCap = 256
    package let tx: UnsafeMutablePointer<UInt8>
    package let txCap = 1 << 16
    package var pending: [UInt8] = []   // bytes the socket did not take yet: pending[pendingStart...]
    package var pendingStart = 0
    package var outbox: FixOutbox = []
    package var lastRecvNs: UInt64 = 0
    /// When the connection was made: the Logon must complete within logonTimeoutNs of it, however
    /// the bytes trickle in (a peer sending one byte at a time must not hold a connection slot).
    package var connectedNs: UInt64 = 0
    package var lastSentNs: UInt64 = 0
    package var testRequestSentNs: UInt64 = 0
    package var testRequestCount = 0
    package var resendUpTo: UInt64 = 0  // a ResendRequest is outstanding until nextTarget passes this
    /// The TestReqID (112) of the last Heartbeat that answered a TestRequest.
    public private(set) var answeredTestRequest: String?
    /// The acceptor that accepted this connection (nil: an initiator or a standalone session).
    package weak var acceptor: (any FixSessionOwner)?
    package var pollIndex = -1

    package init(fd: Int32, config: FixSessionConfig, app: App, initiator: Bool) {
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

    package func note(_ s: @autoclosure () -> String) { if logEvents { events.append(s()) } }

    public var nextSenderSeq: UInt64 { store?.nextSender ?? 1 }
    public var nextTargetSeq: UInt64 { store?.nextTarget ?? 1 }
    public var isOpen: Bool { fd >= 0 }
    public var fileDescriptor: Int32 { fd }
    /// Bytes queued for the peer that the socket has not taken yet.
    public var pendingBytes: Int { pending.count - pendingStart }

    /// HeartBtInt in ns. Logons outside 0...maxHeartBtInt are refused; the clamp keeps a bad
    /// configured value from overflowing too.
    package var heartBtNs: UInt64 { UInt64(clamping: min(heartBtInt, FixSessionConfig.maxHeartBtInt)) * 1_000_000_000 }

    /// Opens the counterparty's store (or takes the one the acceptor opened for a message sent
    /// while it was offline); it stays open while this connection is (closed by `disconnect`).
    package func openStore() -> Bool {
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
    package static func encode(_ m: FixOut, sender: String, target: String, seq: UInt64,
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
    package func write(_ bytes: UnsafeBufferPointer<UInt8>) {
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
    package func drain() -> Int32 {
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

    package func flush() {
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

    package func sendReject(refSeq: UInt64, reason: Int, tag: UInt32, msgType: String?, text: String) {
        var r = FixOut(msgType: "3")
        r.addUInt(45, refSeq)
        if tag != 0 { r.addInt(371, Int64(tag)) }
        if let msgType { r.add(372, msgType) }
        r.addInt(373, Int64(reason))
        r.add(58, text)
        note("reject \(refSeq) reason \(reason) tag \(tag)")
        send(r)
    }

    package func sendLogon() {
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
    /// With `timeoutMs` 0 no poll(2) is made: the non-blocking socket is read (and what is
    /// queued sent) at once, a busy loop's every pass. Ends by committing the store.
    public func pollOnce(timeoutMs: Int32) -> Bool {
        guard fd >= 0 else { return false }
        if timeoutMs == 0 {
            ready(pollEvents)
        } else {
            var p = pollfd(fd: fd, events: pollEvents, revents: 0)
            let r = poll(&p, 1, timeoutMs)
            if r > 0 { ready(p.revents) }
        }
        timers()
        store?.commit()
        return fd >= 0
    }

    package var pollEvents: Int16 { Int16(POLLIN) | (pendingBytes == 0 ? 0 : Int16(POLLOUT)) }

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
        store?.commit()
        return fd >= 0
    }

    package func ready(_ revents: Int16) {
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

    package func readAvailable() {
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

    package func parseBuffered() {
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
    package func garbled(rc: Int, msg: cw_fix_msg) {
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

    package func handle(_ m: FixView, seqField: UInt64) {
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
            if m.has(112) { testRequestSentNs = 0; testRequestCount = 0; answeredTestRequest = m.string(112) }
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
    package func onLogon(_ m: FixView, seq: UInt64) {
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
        if let acceptor, acceptor.isLoggedOn(peer, other: ObjectIdentifier(self)) {
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
        if state == .loggedOn && fd >= 0 { acceptor?.didLogOn(peer: peerCompID, session: ObjectIdentifier(self)) }
    }

    /// A Logon this acceptor will not take (its CompID is logged on on another connection, is no
    /// valid CompID, or its HeartBtInt is out of range): a Logout with the reason, numbered 1 and
    /// kept out of every store (a live session's sequence numbers stay untouched), then the
    /// connection closes. Counted in FixAcceptor.refusedLogons.
    package func refuseLogon(_ peer: String, _ text: String) {
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

    package func onLogout() {
        if state == .loggedOn {
            send(FixOut(msgType: "5"))
        }
        disconnect("logout")
    }

    package func logoutAndClose(_ text: String) {
        var m = FixOut(msgType: "5")
        m.add(58, text)
        send(m)
        disconnect(text)
    }

    /// Asks for everything from the next expected sequence number on (16=0: to the end) after `seq` arrived past it.
    package func requestResend(before seq: UInt64) {
        guard let store else { return }
        note("gap \(store.nextTarget)..\(seq - 1)")
        var r = FixOut(msgType: "2")
        r.addUInt(7, store.nextTarget)
        r.addInt(16, 0)
        send(r)
        resendUpTo = seq
    }

    package static func isAdmin(_ t: String) -> Bool { t.count == 1 && "0123456A".contains(t) }

    /// Resends [7, 16] from the store: application messages with 43=Y and 122, runs of admin
    /// messages (or missing ones) as one SequenceReset-GapFill. BeginSeqNo must be 1 or more and
    /// EndSeqNo 0 (to the end) or not below it; anything else is answered with Reject (3,
    /// SessionRejectReason 5 value incorrect, or 1 missing), never guessed at. Reads only the
    /// range asked for; stops when the peer falls maxPendingBytes behind (`write` closes).
    package func onResendRequest(_ m: FixView, seq: UInt64) {
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
        guard config.resendApplicationMessages else { gapFill(from: begin, to: end + 1); return }
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

    /// Sends a TestRequest (1) with `id`; the peer's Heartbeat carrying it (`answeredTestRequest`)
    /// comes after its answers to everything we sent before.
    public func sendTestRequest(_ id: String) {
        var t = FixOut(msgType: "1")
        t.add(112, id)
        send(t)
    }

    /// Whether a ResendRequest of ours is still being answered.
    public var isResending: Bool { resendUpTo != 0 }

    package func timers() {
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

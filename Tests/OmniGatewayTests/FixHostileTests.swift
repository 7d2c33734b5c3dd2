import CSys
import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import CWire
import Foundation
import SharedTestData
import Testing
@testable import OmniGateway

/// Hostile and broken FIX clients (issue 16): the acceptor neither traps, recurses, leaks
/// descriptors, grows without bound, loses a Logon to framing noise, nor lets one CompID reach
/// another counterparty's store.
@Suite(.serialized) struct FixHostileTests {
    typealias Acceptor = FixAcceptor<FixVenueApplication<FakeFixVenue>>

    func acceptor(_ dir: String, maxPendingBytes: Int = 4 << 20) throws -> Acceptor {
        try (FixAcceptor(config: FixSessionConfig(storeDirectory: dir, logEvents: true, maxPendingBytes: maxPendingBytes),
                                 app: FixVenueApplication(venue: FakeFixVenue())))
    }

    /// Polls `acc` until `done` or `seconds` passed.
    func pump<A>(_ acc: FixAcceptor<A>, seconds: Double = 3, until done: () -> Bool) {
        let t0 = Date()
        while !done() && Date().timeIntervalSince(t0) < seconds { acc.pollOnce(timeoutMs: 1) }
    }

    /// Descriptors of this process open on files under `dir` (other tests' descriptors do not count).
    func openFiles(under dir: String) -> Int {
        let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)"))?.hasPrefix(real + "/") == true }.count
    }

    func setBuffer(_ fd: Int32, _ option: Int32, _ bytes: Int32) {
        var v = bytes
        _ = setsockopt(fd, SOL_SOCKET, option, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    func logon(_ fields: [(UInt32, String)] = [], sender: String = "CLI", seq: String = "1", hb: String = "30") -> [UInt8] {
        RawClient.message([(35, "A"), (49, sender), (56, "OMNI"), (34, seq), (52, FixClock.sendingTime()), (98, "0"), (108, hb)] + fields)
    }

    static let order: [(UInt32, String)] = [(55, "X"), (54, "1"), (38, "1"), (40, "1")]

    // MARK: D1: reset by a client that stopped reading

    /// The client stops reading, reports queue, then it resets the connection (SO_LINGER 0):
    /// the failed send ends the session once instead of recursing through disconnect and flush.
    @Test func resetWhileReportsAreQueuedClosesTheSession() throws {
        let acc = try acceptor(tempDir("rst"))
        var c = RawClient(port: acc.port)
        try #require(c != nil)
        #expect(c?.logon(acc)?[35] == "A")
        let s = try #require(acc.session)
        setBuffer(s.fileDescriptor, SO_SNDBUF, 4096)
        setBuffer(c!.fd, SO_RCVBUF, 4096)
        for i in 0..<400 {
            c?.send("D", [(11, "o\(i)")] + Self.order)
            if i % 20 == 0 { acc.pollOnce(timeoutMs: 1) }
        }
        pump(acc) { s.nextTargetSeq == 402 }
        #expect(s.nextTargetSeq == 402 && s.pendingBytes > 0, "reports wait for a client that does not read: \(s.pendingBytes) bytes")
        var lg = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(c!.fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
        c = nil  // close: RST, with our reports unread
        pump(acc) { acc.connections.isEmpty }
        #expect(!s.isOpen && acc.connections.isEmpty && s.pendingBytes == 0)
        #expect(s.events.filter { $0.hasPrefix("disconnect") }.count == 1, "\(s.events.suffix(3))")
        // The acceptor serves the next client.
        let again = try #require(RawClient(port: acc.port))
        again.seq = 402
        #expect(again.logon(acc)?[35] == "A")
    }

    // MARK: D2: 64-bit values

    /// HeartBtInt whose ns overflow UInt64, or past an hour, or not a number: Logout naming it,
    /// no trap in the timers. 3600 is taken.
    @Test func heartBtIntOutOfRangeIsRefusedWithLogout() throws {
        let acc = try acceptor(tempDir("hb"))
        for (i, hb) in ["18446744074", "3601", "99999999999999999999", "-1"].enumerated() {
            let c = try #require(RawClient(port: acc.port, sender: "HB\(i)"))
            c.raw(logon(sender: "HB\(i)", hb: hb))
            let r = c.read(acc, count: 1)
            #expect(r.first?[35] == "5" && r.first?[58]?.contains("HeartBtInt") == true, "\(hb): \(r)")
            _ = c.read(acc, count: 1, seconds: 0.5)
            #expect(c.closed, "\(hb)")
        }
        #expect(acc.refusedLogons == 4 && acc.loggedOn.isEmpty)
        let ok = try #require(RawClient(port: acc.port, sender: "HBOK"))
        #expect(ok.logon(acc, heartBtInt: 3600)?[108] == "3600")
        pump(acc, seconds: 0.1) { false }  // timers run with the longest HeartBtInt
        #expect(acc.session?.isOpen == true)
        #expect(acc.session?.nextTimerNs() ?? 0 > csys_monotonic_ns() + 3_000_000_000_000)
    }

    /// MsgSeqNum at the parser's limit (18 digits) and past it (read as missing): no trap.
    @Test func extremeMsgSeqNumsDoNotTrap() throws {
        let acc = try acceptor(tempDir("seq"))
        let c = try #require(RawClient(port: acc.port))
        c.raw(logon(seq: "999999999999999999"))
        let r = c.read(acc, count: 2)
        #expect(r.map { $0[35] } == ["A", "2"] && r.last?[7] == "1" && r.last?[16] == "0", "\(r)")
        let d = try #require(RawClient(port: acc.port, sender: "BIG"))
        d.raw(logon(sender: "BIG", seq: "18446744073709551616"))
        let rd = d.read(acc, count: 1)
        #expect(rd.first?[35] == "5" && rd.first?[58]?.contains("MsgSeqNum") == true, "\(rd)")
    }

    /// ResendRequest with a negative or reversed range: Reject 373=5 naming the tag, nothing resent.
    @Test func resendRequestWithBadRangeIsRejected() throws {
        let acc = try acceptor(tempDir("rr"))
        let c = try #require(RawClient(port: acc.port))
        _ = try #require(c.logon(acc))
        c.send("2", [(7, "-5"), (16, "-1")])
        let r1 = c.read(acc, count: 1)
        #expect(r1.first?[35] == "3" && r1.first?[45] == "2" && r1.first?[373] == "5" && r1.first?[371] == "7", "\(r1)")
        c.send("2", [(7, "5"), (16, "3")])
        let r2 = c.read(acc, count: 1)
        #expect(r2.first?[35] == "3" && r2.first?[45] == "3" && r2.first?[373] == "5" && r2.first?[371] == "16", "\(r2)")
        c.send("2", [(7, "1")])
        let r3 = c.read(acc, count: 1)
        #expect(r3.first?[35] == "3" && r3.first?[373] == "1" && r3.first?[371] == "16", "\(r3)")
        #expect(c.read(acc, count: 1, seconds: 0.2).isEmpty, "nothing resent")
        #expect(acc.session?.nextTargetSeq == 5 && acc.session?.isOpen == true)
    }

    // MARK: D5: CompIDs name files

    /// A CompID with NUL, '/', "." or "..", a space, non-ASCII or over 32 bytes is refused with a
    /// Logout before any store opens; VICTIM's files stay byte for byte, no other file appears.
    @Test func compIDsThatCouldNameOtherFilesAreRefused() throws {
        let dir = tempDir("compid")
        let acc = try acceptor(dir)
        let v = try #require(RawClient(port: acc.port, sender: "VICTIM"))
        _ = try #require(v.logon(acc))
        v.send("D", [(11, "v1"), (55, "X"), (54, "1"), (38, "5"), (40, "2"), (44, "50")])
        #expect(v.read(acc, count: 1).first?[150] == "0")
        v.send("5")
        _ = v.read(acc, count: 1)
        let log = try Data(contentsOf: URL(fileURLWithPath: dir + "/OMNI-VICTIM.log"))
        let seqnums = try Data(contentsOf: URL(fileURLWithPath: dir + "/OMNI-VICTIM.seqnums"))
        let bad = ["VICTIM.log\u{0}", "VICTIM\u{0}", "../VICTIM", "a/b", ".", "..", "SP ACE", "\u{7F}", "é",
                   String(repeating: "x", count: 33)]
        for id in bad {
            let c = try #require(RawClient(port: acc.port, sender: id))
            c.raw(logon(sender: id))
            let r = c.read(acc, count: 1)
            #expect(r.first?[35] == "5" && r.first?[58]?.contains("SenderCompID") == true, "\(id.debugDescription): \(r)")
            _ = c.read(acc, count: 1, seconds: 0.5)
            #expect(c.closed, "\(id.debugDescription)")
        }
        #expect(acc.refusedLogons == bad.count && acc.logons == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/OMNI-VICTIM.log")) == log)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/OMNI-VICTIM.seqnums")) == seqnums)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["OMNI-VICTIM.log", "OMNI-VICTIM.seqnums"])
        // The store refuses such names too.
        #expect(FixFileStore(directory: dir, sender: "OMNI", target: "VICTIM.log\u{0}") == nil)
        #expect(FixFileStore(directory: dir, sender: "OMNI", target: "../x") == nil)
        #expect(FixFileStore(directory: dir, sender: "a/b", target: "VICTIM") == nil)
        #expect(FixFileStore(directory: dir, sender: "OMNI", target: "VICTIM")?.nextSender == 4)
    }

    // MARK: D6 / D17: framing

    /// A Logon in two TCP segments with a pause between: answered (the partial read is not a
    /// timeout), as is one preceded by CR/LF.
    @Test func logonSplitOrAfterCRLFIsAnswered() throws {
        let acc = try acceptor(tempDir("split"))
        let c = try #require(RawClient(port: acc.port, sender: "SPLIT"))
        let l = logon(sender: "SPLIT")
        c.raw(Array(l[0..<25]))
        pump(acc, seconds: 0.05) { false }
        #expect(acc.connections.count == 1, "half a Logon keeps the connection")
        c.raw(Array(l[25...]))
        c.seq = 2
        #expect(c.read(acc, count: 1).first?[35] == "A")
        let d = try #require(RawClient(port: acc.port, sender: "CRLF"))
        d.raw(Array("\r\n".utf8) + logon(sender: "CRLF"))
        #expect(d.read(acc, count: 1).first?[35] == "A")
    }

    /// A Logon trickled in one byte at a time is held to logonTimeoutNs from the connect, not
    /// from the last byte: a slow peer cannot keep a connection slot forever.
    @Test func logonTrickledByteByByteTimesOut() throws {
        let acc = try acceptor(tempDir("trickle"))
        acc.logonTimeoutNs = 200_000_000
        let c = try #require(RawClient(port: acc.port))
        let l = logon()
        let t0 = Date()
        for b in l.prefix(40) where !c.closed {
            c.raw([b])
            _ = c.read(acc, count: 1, seconds: 0.03)
        }
        #expect(c.closed && acc.connections.isEmpty)
        #expect(Date().timeIntervalSince(t0) < 0.6, "closed at the logon timeout, not after the last byte")
    }

    /// Garbage (no SOH before the next BeginString) ahead of a Logon, and between two orders:
    /// the message after it is parsed, not swallowed.
    @Test func garbageDoesNotSwallowTheNextMessage() throws {
        let acc = try acceptor(tempDir("garbage"))
        let c = try #require(RawClient(port: acc.port))
        c.raw(Array("GET / HTTP/1.0 junk".utf8) + logon())
        c.seq = 2
        #expect(c.read(acc, count: 1).first?[35] == "A")
        let time = FixClock.sendingTime()
        let o1 = RawClient.message([(35, "D"), (49, "CLI"), (56, "OMNI"), (34, "2"), (52, time), (11, "g1")] + Self.order)
        let o2 = RawClient.message([(35, "D"), (49, "CLI"), (56, "OMNI"), (34, "3"), (52, time), (11, "g2")] + Self.order)
        c.raw(o1 + Array("xx8=FIX.4".utf8) + o2)
        let r = c.read(acc, count: 4)
        #expect(r.map { $0[11] ?? "" } == ["g1", "g1", "g2", "g2"], "\(r)")
        #expect(acc.session?.nextTargetSeq == 4)
        // The codec itself: resync lands on the BeginString whatever precedes it.
        let f = UnsafeMutablePointer<cw_fix_field>.allocate(capacity: 64)
        defer { f.deallocate() }
        for junk in ["junk", "\r\n", "a\u{1}b"] {
            var m = cw_fix_msg()
            m.fields = f
            m.cap = 64
            var consumed = 0
            let bytes = Array(junk.utf8) + o1
            let rc = bytes.withUnsafeBufferPointer { cw_fix_parse($0.baseAddress, $0.count, &m, &consumed) }
            #expect(Int(rc) == CW_FIX_ERR_BEGINSTRING && consumed == junk.utf8.count, "\(junk.debugDescription)")
        }
    }

    // MARK: D8: descriptors

    /// Forty CompIDs log on and off: their stores close with their connections. A message for an
    /// offline CompID opens its store until the end of the acceptor's pass, and is resent after
    /// its next Logon.
    @Test func storesCloseWithTheirLastConnection() throws {
        let dir = tempDir("fds")
        let acc = try acceptor(dir)
        #expect(openFiles(under: dir) == 0)
        for i in 0..<40 {
            let c = try #require(RawClient(port: acc.port, sender: "C\(i)"))
            _ = try #require(c.logon(acc))
            #expect(openFiles(under: dir) == 2, "one store open while C\(i) is logged on")
            c.send("D", [(11, "o\(i)"), (55, "X"), (54, "1"), (38, "5"), (40, "2"), (44, "50")])
            _ = c.read(acc, count: 1)
            c.send("5")
            _ = c.read(acc, count: 1)
            pump(acc) { acc.connections.isEmpty }
        }
        #expect(openFiles(under: dir) == 0)
        var m = FixOut(msgType: "8")
        m.add(11, "stored")
        m.add(37, "NONE")
        #expect(acc.send(m, to: "C3") && acc.storedForResend == 1)
        #expect(!acc.send(m, to: "NEVER") && !FileManager.default.fileExists(atPath: dir + "/OMNI-NEVER.seqnums"))
        acc.pollOnce(timeoutMs: 0)
        #expect(openFiles(under: dir) == 0)
        let c = try #require(RawClient(port: acc.port, sender: "C3"))
        c.seq = 4
        #expect(c.logon(acc)?[34] == "5")
        c.send("2", [(7, "4"), (16, "4")])
        let r = c.read(acc, count: 1)
        #expect(r.first?[35] == "8" && r.first?[11] == "stored" && r.first?[34] == "4" && r.first?[43] == "Y", "\(r)")
    }

    /// Past maxConnections a new connection is accepted and closed at once, and counted.
    @Test func connectionsBeyondTheLimitAreClosed() throws {
        let acc = try acceptor(tempDir("max"))
        acc.maxConnections = 2
        let a = try #require(RawClient(port: acc.port, sender: "A"))
        let b = try #require(RawClient(port: acc.port, sender: "B"))
        pump(acc) { acc.connections.count == 2 }
        let c = try #require(RawClient(port: acc.port, sender: "C"))
        _ = c.read(acc, count: 1, seconds: 1)
        #expect(c.closed && acc.refusedConnections == 1 && acc.connections.count == 2)
        #expect(a.logon(acc)?[35] == "A" && b.logon(acc)?[35] == "A")
    }

    // MARK: D10: bounded output, indexed resends

    /// A client that sends orders but never reads: its queue stops at maxPendingBytes and the
    /// connection closes, counted.
    @Test func clientTooFarBehindIsDisconnected() throws {
        let acc = try acceptor(tempDir("slow"), maxPendingBytes: 16 << 10)
        let c = try #require(RawClient(port: acc.port))
        _ = try #require(c.logon(acc))
        let s = try #require(acc.session)
        setBuffer(s.fileDescriptor, SO_SNDBUF, 4096)
        setBuffer(c.fd, SO_RCVBUF, 4096)
        for i in 0..<400 where s.isOpen {
            c.send("D", [(11, "o\(i)")] + Self.order)
            if i % 20 == 0 { acc.pollOnce(timeoutMs: 1) }
        }
        pump(acc) { !s.isOpen }
        #expect(!s.isOpen && acc.slowClientDisconnects == 1)
        #expect(s.events.contains { $0.contains("too far behind") }, "\(s.events.suffix(2))")
    }

    /// A ResendRequest for more than the bound to a client that does not read: the resend stops
    /// and the connection closes.
    @Test func resendStopsAtTheQueueBound() throws {
        let dir = tempDir("slowresend")
        let acc = try acceptor(dir, maxPendingBytes: 64 << 10)
        let c = try #require(RawClient(port: acc.port))
        _ = try #require(c.logon(acc))
        c.send("5")
        _ = c.read(acc, count: 1)
        var m = FixOut(msgType: "8")
        m.add(58, String(repeating: "r", count: 200))
        for _ in 0..<2000 { acc.send(m, to: "CLI") }
        let d = try #require(RawClient(port: acc.port))
        d.seq = 3
        _ = try #require(d.logon(acc))
        let s = try #require(acc.session)
        setBuffer(s.fileDescriptor, SO_SNDBUF, 4096)
        setBuffer(d.fd, SO_RCVBUF, 4096)
        d.send("2", [(7, "1"), (16, "0")])
        pump(acc) { !s.isOpen }
        #expect(!s.isOpen && acc.slowClientDisconnects == 1)
        let resent = s.events.filter { $0.hasSuffix("possdup") }.count
        #expect(resent > 0 && resent < 1000, "the resend stopped at the bound: \(resent) of 2000")
    }

    /// The store's index: ranges read back exactly, also from a log reopened after a restart,
    /// a torn tail is cut, and a number set back supersedes the records from it on.
    @Test func storeIndexServesRanges() throws {
        let dir = tempDir("index")
        func record(_ st: FixFileStore, _ seq: UInt64, _ text: String) {
            Array(text.utf8).withUnsafeBufferPointer { st.recordSent(seq: seq, bytes: $0) }
        }
        func range(_ st: FixFileStore, _ a: UInt64, _ b: UInt64) -> [String] {
            var out: [String] = []
            st.forEachMessage(from: a, through: b) { seq, bytes in out.append("\(seq):" + String(decoding: bytes, as: UTF8.self)); return true }
            return out
        }
        do {
            let st = try #require(FixFileStore(directory: dir, sender: "OMNI", target: "IDX"))
            for i in 1...1000 { record(st, UInt64(i), "m\(i)") }
            #expect(range(st, 998, 2000) == ["998:m998", "999:m999", "1000:m1000"])
            for i in 1001...1010 { record(st, UInt64(i), "m\(i)") }  // appended to a built index
            #expect(range(st, 1009, 0) == [] && range(st, 1009, 1010) == ["1009:m1009", "1010:m1010"])
        }
        // A torn record at the end (a crash mid-append) is cut at reopen.
        let h = try #require(FileHandle(forWritingAtPath: dir + "/OMNI-IDX.log"))
        h.seekToEndOfFile(); h.write(Data("1011 40\nhalf".utf8)); h.closeFile()
        let st = try #require(FixFileStore(directory: dir, sender: "OMNI", target: "IDX"))
        #expect(st.nextSender == 1011 && st.message(1) == Array("m1".utf8) && st.message(1010) == Array("m1010".utf8))
        record(st, 1011, "m1011")
        #expect(range(st, 1010, 1011) == ["1010:m1010", "1011:m1011"])
        st.setNextSender(5)
        record(st, 5, "again5")
        #expect(range(st, 4, 7) == ["4:m4", "5:again5"])
        // Numbers past what the wire can carry are a corrupt file, not a store.
        try "18446744073709551615 00000000000000000001\n".write(toFile: dir + "/OMNI-BAD.seqnums", atomically: false, encoding: .utf8)
        #expect(FixFileStore(directory: dir, sender: "OMNI", target: "BAD") == nil)
    }
}

import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import CWire
import Foundation
import Testing
@testable import OmniGateway

/// A hand-driven FIX client: writes exactly the bytes a test wants (good or garbled) and
/// reads what the acceptor answers, polling the acceptor on the same thread.
final class RawClient {
    let fd: Int32
    var rx: [UInt8] = []
    var seq: UInt64 = 1
    let sender: String

    init?(port: UInt16, sender: String = "CLI", host: String = "127.0.0.1") {
        self.sender = sender
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, host, &a.sin_addr)
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if ok != 0 { close(fd); return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    deinit { close(fd) }

    static func message(_ fields: [(UInt32, String)]) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 4096)
        return buf.withUnsafeMutableBufferPointer { p in
            var b = cw_fix_builder()
            cw_fix_begin(&b, p.baseAddress, p.count)
            for (t, v) in fields { let u = Array(v.utf8); cw_fix_add(&b, t, u, u.count) }
            var s = 0
            let n = cw_fix_finish(&b, &s)
            return Array(p[s..<s + n])
        }
    }

    /// Standard header with the next MsgSeqNum (or `seq`), then `body`.
    func send(_ type: String, _ body: [(UInt32, String)] = [], seq: UInt64? = nil, sender: String? = nil) {
        let n = seq ?? self.seq
        if seq == nil { self.seq += 1 }
        raw(Self.message([(35, type), (49, sender ?? self.sender), (56, "OMNI"), (34, String(n)), (52, FixClock.sendingTime())] + body))
    }
    func raw(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    var closed = false
    /// Polls `acc` and reads until `n` messages arrived or `seconds` passed (or the socket closed).
    func read<A>(_ acc: FixAcceptor<A>, count n: Int, seconds: Double = 3) -> [[UInt32: String]] {
        var out: [[UInt32: String]] = []
        let t0 = Date()
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < n && Date().timeIntervalSince(t0) < seconds {
            acc.pollOnce(timeoutMs: 2)
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r == 0 { closed = true; break }
            if r > 0 { rx += buf[0..<r] }
            let f = UnsafeMutablePointer<cw_fix_field>.allocate(capacity: 64)
            defer { f.deallocate() }
            while true {
                var m = cw_fix_msg()
                m.fields = f
                m.cap = 64
                var c = 0
                let rc = rx.withUnsafeBufferPointer { cw_fix_parse($0.baseAddress, $0.count, &m, &c) }
                if Int(rc) != CW_FIX_OK { break }
                out.append(Dictionary(FixView(fields: f, count: Int(m.count)).all, uniquingKeysWith: { a, _ in a }))
                rx.removeFirst(c)
            }
        }
        return out
    }

    func logon<A>(_ acc: FixAcceptor<A>, heartBtInt: Int = 30, seq: UInt64? = nil) -> [UInt32: String]? {
        send("A", [(98, "0"), (108, String(heartBtInt))], seq: seq)
        return read(acc, count: 1).first
    }
}

@Suite(.serialized) struct FixSessionTests {
    func acceptor(_ dir: String, venue: FakeFixVenue = FakeFixVenue(), targetCompID: String? = nil) throws -> FixAcceptor<FixVenueApplication<FakeFixVenue>> {
        try (FixAcceptor(config: FixSessionConfig(targetCompID: targetCompID, storeDirectory: dir, logEvents: true), app: FixVenueApplication(venue: venue)))
    }

    @Test func logonAnyClientCompIDAndOrderFlow() throws {
        let acc = try acceptor(tempDir("s1"))
        let c = try #require(RawClient(port: acc.port, sender: "ANYONE"))
        let l = try #require(c.logon(acc))
        #expect(l[35] == "A" && l[49] == "OMNI" && l[56] == "ANYONE" && l[108] == "30" && l[34] == "1")
        #expect(l[52]?.count == 21, "SendingTime with milliseconds: \(l[52] ?? "")")
        c.send("D", [(11, "a"), (55, "X"), (54, "1"), (38, "10"), (40, "1"), (59, "3")])
        let ers = c.read(acc, count: 2)
        #expect(ers.map { $0[150] } == ["0", "F"])
        #expect(ers.last?[39] == "2" && ers.last?[31] == "100" && ers.last?[14] == "10")
    }

    @Test func configuredClientCompIDIsEnforced() throws {
        let acc = try acceptor(tempDir("s1b"), targetCompID: "GOOD")
        let c = try #require(RawClient(port: acc.port, sender: "BAD"))
        _ = c.logon(acc)
        #expect(c.closed, "logon from an unexpected CompID is refused")
        #expect(acc.sessions.first?.events.contains { $0.contains("expected GOOD") } == true)
    }

    @Test func garbledButParseableGetsRejectAndKeepsTheSequence() throws {
        let acc = try acceptor(tempDir("s2"))
        let c = try #require(RawClient(port: acc.port))
        _ = c.logon(acc)
        // empty value in a framed message: Reject 3 with RefSeqNum, RefTagID, reason 4
        c.raw(RawClient.message([(35, "D"), (49, "CLI"), (56, "OMNI"), (34, "2"), (52, FixClock.sendingTime())]).dropLast(0) )
        let rejected = c.read(acc, count: 1)  // missing ClOrdID: reason 1 (required tag missing)
        #expect(rejected.first?[35] == "3" && rejected.first?[45] == "2" && rejected.first?[373] == "1" && rejected.first?[371] == "11")
        c.seq = 3
        let body = "35=D\u{1}49=CLI\u{1}56=OMNI\u{1}34=3\u{1}52=\(FixClock.sendingTime())\u{1}11=\u{1}55=X\u{1}"
        let b = Array(body.utf8)
        var m = Array("8=FIX.4.4\u{1}9=\(b.count)\u{1}".utf8) + b
        let sum = m.reduce(0) { ($0 + Int($1)) & 0xFF }
        m += Array("10=\(String(format: "%03d", sum))\u{1}".utf8)
        c.raw(m)
        let r2 = c.read(acc, count: 1)
        #expect(r2.first?[35] == "3" && r2.first?[45] == "3" && r2.first?[373] == "4" && r2.first?[371] == "11")
        // bad checksum: dropped silently, its number not taken
        var bad = RawClient.message([(35, "0"), (49, "CLI"), (56, "OMNI"), (34, "4"), (52, FixClock.sendingTime())])
        bad[bad.count - 2] = bad[bad.count - 2] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        c.raw(bad)
        #expect(c.read(acc, count: 1, seconds: 0.3).isEmpty)
        // then seq 4 again, a price with 5 decimals: ExecutionReport rejected, no ResendRequest
        c.seq = 4
        c.send("D", [(11, "p5"), (55, "X"), (54, "1"), (38, "10"), (40, "2"), (44, "1.00001")])
        let r3 = c.read(acc, count: 1)
        #expect(r3.first?[35] == "8" && r3.first?[150] == "8" && r3.first?[39] == "8" && r3.first?[58]?.contains("4 decimals") == true)
        #expect(acc.session?.nextTargetSeq == 5)
    }

    @Test func seqNumTooLowLogsOutButPossDupIsIgnored() throws {
        let acc = try acceptor(tempDir("s3"))
        let c = try #require(RawClient(port: acc.port))
        _ = c.logon(acc)
        c.send("0")  // 2
        c.send("0", [(43, "Y"), (122, FixClock.sendingTime())], seq: 1)
        #expect(c.read(acc, count: 1, seconds: 0.3).isEmpty, "PossDup duplicate ignored")
        c.send("0", seq: 2)
        let out = c.read(acc, count: 1)
        #expect(out.first?[35] == "5" && out.first?[58]?.contains("too low") == true)
        _ = c.read(acc, count: 1, seconds: 0.5)
        #expect(c.closed)
    }

    @Test func wrongCompIDIsRejectedAndLoggedOut() throws {
        let acc = try acceptor(tempDir("s4"))
        let c = try #require(RawClient(port: acc.port))
        _ = c.logon(acc)
        c.send("0", sender: "INTRUDER")
        let out = c.read(acc, count: 2)
        #expect(out.first?[35] == "3" && out.first?[373] == "9")
        #expect(out.last?[35] == "5")
    }

    @Test func silenceBringsHeartbeatThenTestRequest() throws {
        let acc = try acceptor(tempDir("s5"))
        let c = try #require(RawClient(port: acc.port))
        _ = c.logon(acc, heartBtInt: 1)
        let out = c.read(acc, count: 2, seconds: 3)
        #expect(out.map { $0[35] } == ["0", "1"], "\(out)")
        #expect(out.last?[112]?.hasPrefix("TEST-") == true)
        c.send("0", [(112, out.last?[112] ?? "")])
        _ = c.read(acc, count: 1, seconds: 0.2)
        #expect(acc.session?.testRequestSentNs == 0, "answered TestRequest clears the timer")
    }

    @Test func restartKeepsSequenceNumbersAndResendsFromTheLog() throws {
        let dir = tempDir("s6")
        do {
            let acc = try acceptor(dir)
            let c = try #require(RawClient(port: acc.port))
            _ = c.logon(acc)                                               // in 1, out 1
            c.send("D", [(11, "r1"), (55, "X"), (54, "1"), (38, "5"), (40, "2"), (44, "50")])  // in 2, out 2 (rests)
            #expect(c.read(acc, count: 1).first?[150] == "0")
            c.send("5")                                                     // in 3, out 3
            _ = c.read(acc, count: 1)
            let nums = try String(contentsOfFile: dir + "/OMNI-CLI.seqnums", encoding: .utf8)
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
            #expect(nums == [4, 4])
        }
        // a new acceptor process on the same store
        let acc = try acceptor(dir)
        let c = try #require(RawClient(port: acc.port))
        c.seq = 4
        let l = try #require(c.logon(acc))                                   // in 4
        #expect(l[34] == "4", "sender numbers continue after restart")
        // the client asks for everything from 1: admin messages gap-filled, the ER resent
        c.send("2", [(7, "1"), (16, "0")])
        let resent = c.read(acc, count: 3)
        #expect(resent.first?[35] == "4" && resent.first?[123] == "Y" && resent.first?[34] == "1" && resent.first?[36] == "2")
        #expect(resent.dropFirst().first?[35] == "8" && resent.dropFirst().first?[43] == "Y" && resent.dropFirst().first?[11] == "r1" && resent.dropFirst().first?[122] != nil)
        #expect(resent.last?[35] == "4" && resent.last?[34] == "3" && resent.last?[36] == "5")
        // a gap from the client: ResendRequest for the missing range
        c.send("0", seq: 8)
        let rr = c.read(acc, count: 1)
        #expect(rr.first?[35] == "2" && rr.first?[7] == "6" && rr.first?[16] == "0")
    }
}

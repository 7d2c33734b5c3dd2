import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import Foundation
import Testing
@testable import OmniGateway

/// Interoperability with QuickFIX (C++ 1.15), a FIX engine written elsewhere, over loopback TCP.
@Suite(.serialized) struct FixInteropTests {
    init() {
        if let why = QuickFIXPeer.unavailable { print("FixInteropTests SKIPPED: \(why)") }
    }

    @Test(.enabled(if: QuickFIXPeer.unavailable == nil, "g++ / libquickfix-dev missing: QuickFIX interop not run"))
    func quickfixInitiatorAgainstOurAcceptor() throws {
        let bin = try #require(QuickFIXPeer.binary, "building Tests/Peers/quickfix failed")
        let dir = tempDir("acc")
        let venue = FakeFixVenue()
        let acc = try (FixAcceptor(config: FixSessionConfig(storeDirectory: dir, logEvents: true), app: FixVenueApplication(venue: venue)))
        let cfg = QuickFIXPeer.config(dir: dir, initiator: true, port: acc.port, sender: "CLIENT1", target: "OMNI", heartBtInt: 5)
        let peer = try QuickFIXPeer.start(bin, mode: "initiator", config: cfg)
        let t0 = Date()
        while peer.process.isRunning && Date().timeIntervalSince(t0) < 40 { acc.pollOnce(timeoutMs: 5) }
        for _ in 0..<20 { acc.pollOnce(timeoutMs: 5) }
        if peer.process.isRunning { peer.process.terminate() }
        peer.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.05)
        let lines = peer.lines
        let events = acc.sessions.flatMap(\.events)
        let transcript = lines.joined(separator: "\n") + "\n--- acceptor ---\n" + events.joined(separator: "\n")
        if ProcessInfo.processInfo.environment["FIX_TRANSCRIPT"] != nil { print(transcript) }
        #expect(peer.process.terminationStatus == 0, "\(transcript)")
        for step in ["LOGON", "STEP filled", "STEP rested", "STEP replaced", "STEP canceled", "STEP cancel-rejected",
                     "STEP gap-recovered", "STEP resend-served", "LOGOUT", "DONE"] {
            #expect(lines.contains(step), "missing \(step)\n\(transcript)")
        }
        // o1's fill: price converted both ways (100.50 limit, filled at the 100.00 ask)
        let fill = lines.first { $0.hasPrefix("IN 8 ") && $0.contains("|11=o1|") && $0.contains("|39=2|") }.map(fieldsOf)
        #expect(fill?["31"] == "100" && fill?["32"] == "100" && fill?["14"] == "100" && fill?["151"] == "0" && fill?["6"] == "100" && fill?["44"] == "100.5")
        #expect(venue.calls.contains("D o1 100@1005000"))
        #expect(venue.calls.contains("G o3 o2 300@982500"))
        let rej = lines.first { $0.hasPrefix("IN 9 ") }.map(fieldsOf)
        #expect(rej?["434"] == "1" && rej?["102"] == "1" && rej?["41"] == "nope")
        // their skipped MsgSeqNum: we asked for a resend, they gap-filled and resent o6 with PossDupFlag
        let rr = lines.first { $0.hasPrefix("IN 2 ") }.map(fieldsOf)
        #expect(rr?["16"] == "0" && rr?["7"] != nil)
        #expect(events.contains { $0.hasPrefix("gap ") })
        #expect(venue.calls.filter { $0.hasPrefix("D o6") }.count == 1, "o6 executed once: \(venue.calls)")
        // their lowered inbound number: we resent ERs with 43=Y and 122, admin messages as a gap fill
        #expect(events.contains { $0.hasPrefix("resend ") })
        #expect(lines.contains { $0.hasPrefix("IN 8 ") && $0.contains("|43=Y|") && $0.contains("|122=") })
        #expect(lines.contains { $0.hasPrefix("IN 4 ") && $0.contains("|123=Y|") })
        // store persisted: both numbers on disk match the session
        let s = try #require(acc.sessions.last)
        let seqText = try String(contentsOfFile: dir + "/OMNI-CLIENT1.seqnums", encoding: .utf8)
        let nums = seqText.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        #expect(nums == [s.nextSenderSeq, s.nextTargetSeq])
    }

    @Test(.enabled(if: QuickFIXPeer.unavailable == nil, "g++ / libquickfix-dev missing: QuickFIX interop not run"))
    func ourInitiatorAgainstQuickfixAcceptor() throws {
        let bin = try #require(QuickFIXPeer.binary, "building Tests/Peers/quickfix failed")
        let dir = tempDir("ini")
        let port = freePort()
        let cfg = QuickFIXPeer.config(dir: dir, initiator: false, port: port, sender: "QFX", target: "OMNICLI", heartBtInt: 5)
        let peer = try QuickFIXPeer.start(bin, mode: "acceptor", config: cfg)
        defer { if peer.process.isRunning { peer.process.terminate() } }
        let app = Collector()
        let conf = FixSessionConfig(senderCompID: "OMNICLI", targetCompID: "QFX", heartBtInt: 5, storeDirectory: dir, resetOnLogon: true, logEvents: true)
        var session: FixSession<Collector>?
        let t0 = Date()
        while session == nil && Date().timeIntervalSince(t0) < 10 {
            session = try? FixInitiator.connect(port: port, config: conf, app: app)
            if session == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let s = try #require(session, "could not connect to the QuickFIX acceptor on \(port)")
        while s.state == .awaitingLogon && s.isOpen && Date().timeIntervalSince(t0) < 15 { s.pollOnce(timeoutMs: 5) }
        #expect(s.state == .loggedOn)
        s.send(FixNewOrder(clOrdID: "c1", symbol: "OMNI", side: .buy, quantity: 25, ordType: .limit, price: 1_012_500).message)
        while app.received.count < 2 && s.isOpen && Date().timeIntervalSince(t0) < 20 { s.pollOnce(timeoutMs: 5) }
        s.logout()
        while s.isOpen && Date().timeIntervalSince(t0) < 25 { s.pollOnce(timeoutMs: 5) }
        peer.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.05)
        let lines = peer.lines
        let transcript = lines.joined(separator: "\n") + "\n--- initiator ---\n" + s.events.joined(separator: "\n")
        #expect(lines.contains("LOGON"), "\(transcript)")
        let got = lines.first { $0.hasPrefix("IN D ") }.map(fieldsOf)
        #expect(got?["11"] == "c1" && got?["44"] == "101.25" && got?["38"] == "25" && got?["49"] == "OMNICLI", "\(transcript)")
        #expect(app.received.count == 2)
        let ers = app.received.map { Dictionary($0.map { (String($0.0), $0.1) }, uniquingKeysWith: { a, _ in a }) }
        #expect(ers.first?["39"] == "0" && ers.first?["35"] == "8")
        #expect(ers.last?["39"] == "2" && ers.last?["31"] == "101.25" && ers.last?["32"] == "25")
        #expect(lines.contains("LOGOUT") && lines.contains("DONE"), "\(transcript)")
        #expect(s.state == .closed)
    }
}

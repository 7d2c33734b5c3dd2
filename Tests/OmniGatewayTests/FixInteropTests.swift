import CEvent
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

    /// FixOrderEntry (our initiator, CEvent requests in, lifecycle events out) against the QuickFIX
    /// acceptor acting as a venue (fixpeer.cpp): every answer's bytes come from QuickFIX's
    /// FIX44 message classes. Rule "40:15+25": an order of 40 fills 15 then 25; others rest.
    @Test(.enabled(if: QuickFIXPeer.unavailable == nil, "g++ / libquickfix-dev missing: QuickFIX interop not run"))
    func fixOrderEntryAgainstQuickfixVenue() throws {
        let bin = try #require(QuickFIXPeer.binary, "building Tests/Peers/quickfix failed")
        let dir = tempDir("venue")
        let port = freePort()
        let cfg = QuickFIXPeer.config(dir: dir, initiator: false, port: port, sender: "QFV", target: "OMNIOE", heartBtInt: 5)
        let peer = try QuickFIXPeer.start(bin, mode: "acceptor", config: cfg, extra: ["40:15+25"])
        defer { if peer.process.isRunning { peer.process.terminate() } }
        let deadline = Date().addingTimeInterval(30)
        func transcript() -> String { peer.lines.joined(separator: "\n") }

        let conf = FixSessionConfig(senderCompID: "OMNIOE", targetCompID: "QFV", heartBtInt: 5, storeDirectory: dir, resetOnLogon: true, logEvents: true)
        var entry: FixOrderEntry?
        while entry == nil && Date() < deadline && peer.process.isRunning {
            entry = try? FixOrderEntry(port: port, timeoutMs: 500, config: conf, symbols: [1: "OMNI", 2: "QFX"], orderSlots: 64)
            if entry == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let oe = try #require(entry, "could not connect to the QuickFIX acceptor on \(port)\n\(transcript())")
        var got: [omni_event] = []
        /// Polls until `n` events in all have come back; false (and an issue) at the deadline or on a closed session.
        func waitFor(_ n: Int, _ what: String) -> Bool {
            while got.count < n {
                if Date() > deadline || !oe.session.isOpen {
                    Issue.record("timed out waiting for \(what): \(got.count) of \(n) events\n\(transcript())")
                    return false
                }
                oe.poll { got.append($0) }
                usleep(200)
            }
            return true
        }
        while !oe.isLoggedOn && oe.session.isOpen && Date() < deadline { oe.poll { got.append($0) }; usleep(200) }
        try #require(oe.isLoggedOn, "no logon\n\(transcript())")

        let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)
        func request(_ t: omni_event_type, _ id: UInt64, locate: UInt16 = 1, side: UInt8, price: UInt32 = 0, qty: UInt32 = 0) -> omni_event {
            omni_order_event(UInt8(t.rawValue), locate, id, side, price, qty, 7, 0)
        }
        // 1: buy 100 OMNI @ 101.25 rests.  2: sell 40 QFX @ 102.50 fills 15 then 25.
        // Replace 1 to 150 @ 101.30, cancel it, then cancel 3, which was never entered.
        #expect(oe.submit(request(OMNI_EV_ORDER_NEW, 1, side: buy, price: 1_012_500, qty: 100)))
        guard waitFor(1, "1 accepted") else { return }
        #expect(oe.submit(request(OMNI_EV_ORDER_NEW, 2, locate: 2, side: sell, price: 1_025_000, qty: 40)))
        guard waitFor(4, "2 accepted and filled twice") else { return }
        #expect(oe.submit(request(OMNI_EV_ORDER_REPLACE, 1, side: buy, price: 1_013_000, qty: 150)))
        guard waitFor(5, "1 replaced") else { return }
        #expect(oe.submit(request(OMNI_EV_ORDER_CANCEL, 1, side: buy)))
        guard waitFor(6, "1 canceled") else { return }
        #expect(oe.submit(request(OMNI_EV_ORDER_CANCEL, 3, side: buy)))
        guard waitFor(7, "3's cancel rejected") else { return }
        oe.session.logout()
        while oe.session.isOpen && Date() < deadline { oe.poll { got.append($0) }; usleep(200) }
        #expect(!oe.session.isOpen, "our session did not close after Logout\n\(transcript())")
        while peer.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!peer.process.isRunning, "the peer did not exit\n\(transcript())")
        Thread.sleep(forTimeInterval: 0.05)
        let lines = peer.lines
        let all = lines.joined(separator: "\n")

        // What came back, in order and nothing else.
        #expect(got.count == 7, "\(got.map(\.type))\n\(all)")
        #expect(got.map(\.type) == [OMNI_EV_ORDER_ACCEPTED, OMNI_EV_ORDER_ACCEPTED, OMNI_EV_FILL, OMNI_EV_FILL,
                                     OMNI_EV_ORDER_REPLACED, OMNI_EV_ORDER_CANCELED, OMNI_EV_CANCEL_REJECTED].map { UInt8($0.rawValue) })
        guard got.count == 7 else { return }
        func order(_ i: Int) -> (UInt64, UInt32, UInt32, UInt16, UInt16, UInt16) {
            let o = got[i].order
            return (o.client_order_id, o.price, o.qty, o.reason, o.strategy, got[i].locate)
        }
        #expect(order(0) == (1, 1_012_500, 100, 0, 7, 1))                              // accepted: 100 open @ 101.25
        #expect(order(1) == (2, 1_025_000, 40, 0, 7, 2))                               // accepted: 40 open @ 102.50
        #expect(order(4) == (1, 1_013_000, 150, 0, 7, 1))                              // replaced: 150 open @ 101.30
        #expect(order(5) == (1, 0, 0, 0, 7, 1))                                        // canceled: none left
        #expect(order(6).0 == 3 && order(6).3 == UInt16(OMNI_REASON_FIX) | 1)          // CxlRejReason 1: unknown order
        let f1 = got[2].fill, f2 = got[3].fill
        #expect(f1.client_order_id == 2 && f1.last_qty == 15 && f1.last_px == 1_025_000 && f1.leaves_qty == 25 && f1.side == sell && f1.strategy == 7)
        #expect(f2.client_order_id == 2 && f2.last_qty == 25 && f2.last_px == 1_025_000 && f2.leaves_qty == 0 && f2.side == sell && f2.strategy == 7)
        #expect(oe.refused == 0 && oe.reports.unmatched == 0)

        // What QuickFIX sent: the fills' ExecIDs are the fills' seq, all ExecIDs unique; no session Reject either way.
        let outs = lines.filter { $0.hasPrefix("OUT 8 ") }.map(fieldsOf)
        #expect(outs.count == 6, "\(all)")  // the unknown cancel is answered by a 9, not an 8
        let execIDs = outs.compactMap { $0["17"] }
        #expect(execIDs.count == outs.count && Set(execIDs).count == execIDs.count, "\(execIDs)")
        let c2 = FixReports.clOrdID(2, 0).description
        let fills = outs.filter { $0["11"] == c2 && $0["150"] == "F" }
        #expect(fills.map { $0["39"] } == ["1", "2"] && fills.map { $0["32"] } == ["15", "25"] && fills.map { $0["31"] } == ["102.5", "102.5"])
        #expect(fills.map { $0["14"] } == ["15", "40"] && fills.map { $0["151"] } == ["25", "0"])
        let fillKeys = fills.compactMap { f -> UInt64? in f["17"].flatMap { FixString($0) }.map { FixReports.executionKey($0) } }
        #expect(fillKeys == [got[2].seq, got[3].seq])
        #expect(!lines.contains { $0.hasPrefix("OUT 3 ") || $0.hasPrefix("IN 3 ") || $0.hasPrefix("OUT j ") }, "\(all)")

        // What QuickFIX received.
        func inbound(_ type: String, _ cl: FixString) -> [String: String]? {
            lines.first { $0.hasPrefix("IN \(type) ") && $0.contains("|11=\(cl)|") }.map(fieldsOf)
        }
        func cl(_ id: UInt64, _ n: UInt16) -> String { FixReports.clOrdID(id, n).description }
        let d1 = inbound("D", FixReports.clOrdID(1, 0)), d2 = inbound("D", FixReports.clOrdID(2, 0))
        #expect(d1?["38"] == "100" && d1?["44"] == "101.25" && d1?["54"] == "1" && d1?["55"] == "OMNI" && d1?["40"] == "2", "\(all)")
        #expect(d2?["38"] == "40" && d2?["44"] == "102.5" && d2?["54"] == "2" && d2?["55"] == "QFX", "\(all)")
        let g = inbound("G", FixReports.clOrdID(1, 1))
        #expect(g?["41"] == cl(1, 0) && g?["38"] == "150" && g?["44"] == "101.3" && g?["54"] == "1" && g?["55"] == "OMNI", "\(all)")
        let f = inbound("F", FixReports.clOrdID(1, 2))
        #expect(f?["41"] == cl(1, 1) && f?["54"] == "1" && f?["55"] == "OMNI", "\(all)")
        let fx = inbound("F", FixReports.clOrdID(3, 1))
        #expect(fx?["41"] == cl(3, 0), "\(all)")
        let rej = lines.first { $0.hasPrefix("OUT 9 ") }.map(fieldsOf)
        #expect(rej?["11"] == cl(3, 1) && rej?["41"] == cl(3, 0) && rej?["434"] == "1" && rej?["102"] == "1" && rej?["39"] == "8", "\(all)")
        let rep = outs.first { $0["150"] == "5" }
        #expect(rep?["11"] == cl(1, 1) && rep?["41"] == cl(1, 0) && rep?["38"] == "150" && rep?["44"] == "101.3" && rep?["151"] == "150" && rep?["39"] == "0")
        #expect(lines.contains("LOGOUT") && lines.contains("DONE"), "\(all)")
    }
}

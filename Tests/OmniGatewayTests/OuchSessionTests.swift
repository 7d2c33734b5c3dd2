import OmniWire
import OmniVenue
import OmniNet
import CSys
import CWire
import Glibc
import OmniGateway
import Testing

/// A tiny venue for the tests: every order is accepted unless it has 0 shares; an order for
/// stock "CROSS" trades at once against the oldest resting order of another user (both
/// sides get Executed); "FILL" executes in full against the house. Runs on the server thread.
final class FakeOuchVenue: OrderEntryHandler {
    struct Resting { var user: SoupUser; var token: cw_ouch_token; var side: CChar; var shares: UInt32; var price: UInt32; var ref: UInt64; var stock: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar) }
    var resting: [Resting] = []
    var nextRef: UInt64 = 1000
    var nextMatch: UInt64 = 1
    var entered = 0

    func accept(_ o: cw_ouch_enter, ref: UInt64, state: UInt8) -> cw_ouch_accepted {
        var a = cw_ouch_accepted()
        a.token = o.token; a.side = o.side; a.shares = o.shares; a.stock = o.stock; a.price = o.price; a.tif = o.tif
        a.firm = o.firm; a.display = o.display; a.order_ref = ref; a.capacity = o.capacity; a.ise = o.ise
        a.min_qty = o.min_qty; a.cross_type = o.cross_type; a.order_state = CChar(bitPattern: state); a.bbo_weight = 0x20
        return a
    }

    func enterOrder(_ o: cw_ouch_enter, _ out: OuchOutbox) {
        entered += 1
        if o.shares == 0 { out.rejected(o.token, reason: UInt8(ascii: "Z")); return }
        nextRef += 1
        let stock = ouchText(o.stock)
        out.accepted(accept(o, ref: nextRef, state: UInt8(ascii: "L")))
        if stock == "FILL" {
            out.executed(o.token, shares: o.shares, price: o.price, liquidity: UInt8(ascii: "R"), match: nextMatch)
            nextMatch += 1
        } else if stock == "CROSS", let i = resting.firstIndex(where: { $0.user != out.user }) {
            let r = resting.remove(at: i)
            let q = min(r.shares, o.shares)
            OuchOutbox(server: out.server, user: r.user).executed(r.token, shares: q, price: r.price, liquidity: UInt8(ascii: "A"), match: nextMatch)
            out.executed(o.token, shares: q, price: r.price, liquidity: UInt8(ascii: "R"), match: nextMatch)
            nextMatch += 1
        } else {
            resting.append(Resting(user: out.user, token: o.token, side: o.side, shares: o.shares, price: o.price, ref: nextRef, stock: o.stock))
        }
    }

    func replaceOrder(_ r: cw_ouch_replace, _ out: OuchOutbox) {
        guard let i = resting.firstIndex(where: { $0.user == out.user && $0.token == r.existing }) else {
            out.rejected(r.replacement, reason: UInt8(ascii: "X"))
            return
        }
        nextRef += 1
        var rep = cw_ouch_replaced()
        rep.token = r.replacement; rep.side = resting[i].side; rep.shares = r.shares; rep.stock = resting[i].stock
        rep.price = r.price; rep.tif = r.tif; rep.display = r.display; rep.order_ref = nextRef; rep.ise = r.ise
        rep.min_qty = r.min_qty; rep.order_state = CChar(bitPattern: UInt8(ascii: "L")); rep.previous = r.existing
        rep.capacity = 0x41; rep.cross_type = 0x4E; rep.bbo_weight = 0x20
        ouchAlpha(&rep.firm, "OMNI")
        resting[i].token = r.replacement; resting[i].shares = r.shares; resting[i].price = r.price
        out.replaced(rep)
    }

    func cancelOrder(_ c: cw_ouch_cancel, _ out: OuchOutbox) {
        guard let i = resting.firstIndex(where: { $0.user == out.user && $0.token == c.token }) else { return } // spec: ignored
        let dec = resting[i].shares > c.shares ? resting[i].shares - c.shares : 0
        resting[i].shares -= dec
        if resting[i].shares == 0 { resting.remove(at: i) }
        out.canceled(c.token, decrement: dec, reason: UInt8(ascii: "U"))
    }

    func modifyOrder(_ m: cw_ouch_modify, _ out: OuchOutbox) {
        guard let i = resting.firstIndex(where: { $0.user == out.user && $0.token == m.token }) else { return }
        resting[i].side = m.side
        resting[i].shares = min(resting[i].shares, m.shares)
        out.modified(m.token, side: UInt8(bitPattern: m.side), shares: resting[i].shares)
    }
}

func order(_ token: String, _ stock: String, side: Character = "B", shares: UInt32 = 100, price: UInt32 = 1_500_000) -> cw_ouch_enter {
    .limit(token: token, stock: stock, side: side, shares: shares, price: price)
}

/// Polls until `count` OUCH messages arrived or `ms` passed; returns (sequence, message) pairs.
func receive(_ c: OuchClient, count: Int, ms: Int = 3000) -> [(UInt64, cw_ouch_out)] {
    var got: [(UInt64, cw_ouch_out)] = []
    let end = monotonicMs() + ms
    while got.count < count && monotonicMs() < end {
        c.poll(timeoutMs: 10) { ev in if case .message(let s, let m) = ev { got.append((s, m)) } }
    }
    return got
}

func monotonicMs() -> Int { Int(csys_monotonic_ns() / 1_000_000) }

func clientConfig(_ port: UInt16, _ user: String = "alice", _ password: String = "pw") -> SoupClientConfig {
    SoupClientConfig(port: port, username: user, password: password)
}

@Suite("OUCH 4.2 over SoupBinTCP, loopback")
struct OuchSessionTests {
    @Test func orderAcceptedThenExecuted() throws {
        let (server, _) = try OuchServer.start(SoupServerConfig(), handler: FakeOuchVenue())
        defer { server.stop() }
        let c = OuchClient(clientConfig(server.port))
        try c.connect()
        try c.enter(order("T1", "FILL", shares: 300, price: 1_234_500))
        let got = receive(c, count: 2)
        #expect(got.count == 2)
        guard got.count == 2 else { return }
        #expect(got[0].0 == 1 && got[0].1.type == UInt8(ascii: "A") && got[1].0 == 2 && got[1].1.type == UInt8(ascii: "E"))
        let a = got[0].1.u.accepted
        #expect(a.token.text == "T1" && a.shares == 300 && a.price == 1_234_500 && ouchText(a.stock) == "FILL" && a.order_ref == 1001)
        #expect(a.order_state == CChar(bitPattern: UInt8(ascii: "L")) && a.side == CChar(bitPattern: UInt8(ascii: "B")))
        let e = got[1].1.u.executed
        #expect(e.token.text == "T1" && e.shares == 300 && e.price == 1_234_500 && e.match == 1)
        #expect(got[1].1.timestamp >= got[0].1.timestamp && got[0].1.timestamp < 86_400_000_000_000)
        // a zero-share order is rejected with its token
        try c.enter(order("T2", "AAPL", shares: 0))
        let rej = receive(c, count: 1)
        #expect(rej.count == 1 && rej.first?.1.type == UInt8(ascii: "J") && rej.first?.1.u.rejected.token.text == "T2")
        #expect(rej.first?.0 == 3)
    }

    @Test func replaceModifyAndCancel() throws {
        let (server, _) = try OuchServer.start(SoupServerConfig(), handler: FakeOuchVenue())
        defer { server.stop() }
        let c = OuchClient(clientConfig(server.port))
        try c.connect()
        try c.enter(order("R1", "AAPL", side: "S", shares: 500, price: 2_000_000))
        #expect(receive(c, count: 1).first?.1.type == UInt8(ascii: "A"))
        var r = cw_ouch_replace()
        r.existing = cw_ouch_token("R1"); r.replacement = cw_ouch_token("R2"); r.shares = 400; r.price = 1_990_000
        r.tif = 99_999; r.display = CChar(bitPattern: UInt8(ascii: "Y")); r.ise = CChar(bitPattern: UInt8(ascii: "N"))
        try c.replace(r)
        let rep = receive(c, count: 1)
        #expect(rep.first?.1.type == UInt8(ascii: "U"))
        if let u = rep.first?.1.u.replaced {
            #expect(u.token.text == "R2" && u.previous.text == "R1" && u.shares == 400 && u.price == 1_990_000 && ouchText(u.stock) == "AAPL")
        }
        try c.modify(cw_ouch_token("R2"), side: UInt8(ascii: "T"), shares: 300)
        let mod = receive(c, count: 1)
        #expect(mod.first?.1.type == UInt8(ascii: "M") && mod.first?.1.u.modified.shares == 300)
        #expect(mod.first?.1.u.modified.side == CChar(bitPattern: UInt8(ascii: "T")))
        try c.cancel(cw_ouch_token("R2"), shares: 100)   // reduce to 100
        try c.cancel(cw_ouch_token("R2"))                // then cancel the rest
        let can = receive(c, count: 2)
        #expect(can.count == 2 && can.allSatisfy { $0.1.type == UInt8(ascii: "C") })
        #expect(can.map { $0.1.u.canceled.decrement } == [200, 100])
        #expect(can.map(\.0) == [4, 5])
    }

    @Test func messageLargerThanTheLogSlotIsRefusedAndCounted() throws {
        var cfg = SoupServerConfig()
        cfg.maxMessage = Int(CW_OUCH_ACCEPTED_LEN) // Replaced (80 bytes) does not fit; Accepted (66) exactly does
        let server = try SoupServer(cfg)
        let user = try #require(server.user(named: "alice"))
        let out = OuchOutbox(server: server, user: user)
        var a = cw_ouch_accepted(); a.token = cw_ouch_make_token("T1", 2)
        var r = cw_ouch_replaced(); r.token = cw_ouch_make_token("T2", 2)
        #expect(out.accepted(a) == 1)
        #expect(out.replaced(r) == 0, "refused: no sequence number")
        #expect(server.refusedMessages == 1 && server.lastSequence(of: user) == 1)
        #expect(out.systemEvent(UInt8(ascii: "E")) == 2, "the stream goes on after a refusal")
    }

    @Test func malformedOrdersAreCountedNotAnswered() throws {
        let server = try SoupServer(SoupServerConfig())
        let app = OuchServer(handler: FakeOuchVenue())
        server.start(app)
        let c = OuchClient(clientConfig(server.port))
        try c.connect()
        var bad = [UInt8](repeating: 0x20, count: 49)
        bad[0] = UInt8(ascii: "O")
        bad[15] = UInt8(ascii: "Q")   // no such side
        try bad.withUnsafeBytes { try c.soup.send($0) }
        try [UInt8(ascii: "O"), 1, 2].withUnsafeBytes { try c.soup.send($0) } // wrong length
        try c.enter(order("OK1", "FILL"))
        let got = receive(c, count: 2)
        #expect(got.map { $0.1.type } == [UInt8(ascii: "A"), UInt8(ascii: "E")])
        server.stop()
        #expect(app.malformed == 2 && app.handler.entered == 1)
        #expect(app.decodeResults[Int(-CW_OUCH_BAD_SIDE.rawValue)] == 1 && app.decodeResults[Int(-CW_OUCH_BAD_LENGTH.rawValue)] == 1)
    }

    /// Alice rests an order and drops her connection; Bob trades against it while she is away.
    /// Her re-login resumes at the next sequence number she has not seen: the fill arrives once.
    /// A re-login asking for an earlier number replays from there, in order.
    @Test func reloginReplaysFromTheRequestedSequenceExactlyOnce() throws {
        let (server, _) = try OuchServer.start(SoupServerConfig(), handler: FakeOuchVenue())
        defer { server.stop() }
        let alice = OuchClient(clientConfig(server.port))
        try alice.connect()
        #expect(alice.nextSequence == 1)
        for i in 1...3 { try alice.enter(order("A\(i)", "MSFT", shares: UInt32(i * 100))) }
        let first = receive(alice, count: 3)
        #expect(first.map(\.0) == [1, 2, 3] && alice.nextSequence == 4)
        alice.disconnect()

        let bob = OuchClient(clientConfig(server.port, "bob"))
        try bob.connect()
        try bob.enter(order("B1", "CROSS", side: "S", shares: 50))
        #expect(receive(bob, count: 2).map { $0.1.type } == [UInt8(ascii: "A"), UInt8(ascii: "E")])

        try alice.connect()      // asks for 4
        let resumed = receive(alice, count: 10, ms: 300)
        #expect(resumed.map(\.0) == [4])
        #expect(resumed.first?.1.type == UInt8(ascii: "E") && resumed.first?.1.u.executed.token.text == "A1")
        #expect(resumed.first?.1.u.executed.shares == 50)

        try alice.connect(sequence: 2)
        let replay = receive(alice, count: 10, ms: 300)
        #expect(replay.map(\.0) == [2, 3, 4])
        #expect(replay.map { $0.1.type } == [UInt8(ascii: "A"), UInt8(ascii: "A"), UInt8(ascii: "E")])
        #expect(replay.first?.1.u.accepted.token.text == "A2")

        try alice.connect(sequence: 0)   // 0: only messages generated from now on
        #expect(alice.nextSequence == 5)
        try alice.enter(order("A4", "FILL"))
        #expect(receive(alice, count: 2).map(\.0) == [5, 6])
    }
}

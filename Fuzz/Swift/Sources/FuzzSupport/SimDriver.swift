// The sim behind the order-entry harnesses: a real `SimVenue` (OmniSim), with its OUCH
// (SoupBinTCP) and FIX listeners on ephemeral 127.0.0.1 ports, the order-flow generator off
// (the book holds only what the fuzz input entered), cancel on disconnect on (the default),
// and its ITCH feed on one MoldUDP64 line to a multicast group of its own on the loopback
// interface (239.255.171.1:41017, no line B: nothing else listens there; the sim cannot run
// without its publisher). Tight limits, so one input can reach them: 4 connections per port,
// 4 OUCH users, 16 KiB queued for a client that does not read (limits.output_queue).
//
// One sim serves many inputs (opening one costs more than an input); it is replaced every
// FUZZ_SIM_RECYCLE inputs (default 2000) so the OUCH user table and the venue's session
// table start again, and the FIX stores are deleted after every input (a Logon with
// MsgSeqNum 1 is then always in sequence).
import Glibc
import OmniNet
import OmniWire
import OmniCore
import OmniVenue

public final class SimDriver {
    public enum Port { case fix, ouch }
    let harness: String
    let port: Port
    let store: ScratchDirectory
    var sim: SimVenue?
    var served = 0
    let recycleEvery: Int

    public init(harness: String, port: Port) {
        self.harness = harness
        self.port = port
        store = ScratchDirectory(harness)
        recycleEvery = getenv("FUZZ_SIM_RECYCLE").flatMap { Int(String(cString: $0)) }.map { max($0, 1) } ?? 2000
    }

    func makeSim() -> SimVenue {
        var c = SimConfig()
        c.ouchPort = 0
        c.fixPort = 0
        c.retransmitPort = 0
        c.fixStore = store.path
        c.generator = nil
        c.lineA = SimGroup(address: "239.255.171.1", port: 41017)
        c.lineB = nil
        c.maxConnections = 4
        c.maxOuchUsers = 4
        c.maxOutputQueueBytes = 16 << 10
        do { return try SimVenue(c) } catch { fatalError("\(harness): the sim does not start: \(error)") }
    }

    /// One input: connect (one or two clients), write each segment and step the sim after it,
    /// check the books, close, step until the sim has seen the close, check that cancel on
    /// disconnect left no live order.
    public func run(_ input: StreamInput) {
        if sim == nil || served >= recycleEvery {
            // A dropped SimVenue leaks its venue's 64 MiB DayFileBuffer (nothing calls its
            // deallocate()): reported to Sources/ (issue 16), suppressed in Fuzz/Swift/lsan.supp.
            sim?.finish(graceMs: 0)
            sim = nil
            sim = makeSim()
            served = 0
        }
        let sim = sim!
        served += 1
        let port = self.port == .fix ? sim.fixPort : sim.ouchPort
        let conns = (0..<(input.twoConnections ? 2 : 1)).map { _ in Loopback.connect(port: port, slow: input.slowPeer) }
        step(sim, conns, input.slowPeer)
        for (c, bytes) in input.segments {
            Loopback.write(conns[c], bytes)
            step(sim, conns, input.slowPeer)
            checkBooks(sim)
        }
        for fd in conns { close(fd) }
        for _ in 0..<3 { sim.step(timeoutMs: 0) }
        checkBooks(sim)
        invariant(sim.liveOrders == 0, harness, "\(sim.liveOrders) orders live after every client left (cancel on disconnect is on, the generator off)")
        store.empty()
    }

    func step(_ sim: SimVenue, _ conns: [Int32], _ slow: Bool) {
        for _ in 0..<2 {
            sim.step(timeoutMs: 0)
            if !slow { for fd in conns { Loopback.drain(fd) } }
        }
    }

    /// Each side's levels strictly ordered away from the touch, none empty, the book not crossed.
    func checkBooks(_ sim: SimVenue) {
        for i in sim.instruments {
            let bids = sim.depth(i.locate, .bid), asks = sim.depth(i.locate, .ask)
            for (side, levels, better) in [("bid", bids, { (a: UInt32, b: UInt32) in a > b }), ("ask", asks, { (a: UInt32, b: UInt32) in a < b })] {
                for (k, l) in levels.enumerated() {
                    invariant(l.shares > 0 && l.orders > 0, harness, "\(i.symbol) \(side) level \(l.price) holds \(l.shares) shares in \(l.orders) orders")
                    if k > 0 { invariant(better(levels[k - 1].price, l.price), harness, "\(i.symbol) \(side) levels out of order: \(levels.map(\.price))") }
                }
            }
            if let b = bids.first, let a = asks.first {
                invariant(b.price < a.price, harness, "\(i.symbol) book crossed: bid \(b.price) >= ask \(a.price)")
            }
        }
    }
}

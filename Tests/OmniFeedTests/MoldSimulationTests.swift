import FeedTestSupport
import OmniVenue
import OmniNet
import OmniLab
import OmniWire
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import Testing

// Test harness for the MoldUDP64 session layer: an exchange that packs a day's
// messages into MoldUDP64 packets, lines that lose or reorder them, a re-request
// server, and a discrete-event loop on a fake clock (nanoseconds) joining them.

/// The messages of a day file, in order.
func dayMessages(_ day: [UInt8]) -> [[UInt8]] {
    var msgs: [[UInt8]] = []
    day.withUnsafeBufferPointer { b in
        var off = 0
        var m: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while cw_dayfile_next(b.baseAddress, b.count, &off, &m, &len) == CW_FRAME_MSG {
            msgs.append(Array(UnsafeBufferPointer(start: m!, count: Int(len))))
        }
    }
    return msgs
}

func moldEndOfSession(_ session: String = "OMNIMOLD01", next: UInt64) -> [UInt8] {
    var p = moldPacket(session, seq: next, [])
    p[18] = 0xFF; p[19] = 0xFF
    return p
}

/// The exchange side: messages cut into packets of 1...maxPerPacket messages (seeded), within a 1400-byte payload.
struct MoldExchange {
    let session: String
    let messages: [[UInt8]]
    var packets: [[UInt8]] = []
    var firstSequence: [UInt64] = []
    var counts: [Int] = []

    init(_ messages: [[UInt8]], session: String = "OMNIMOLD01", maxPerPacket: Int = 8, seed: UInt64 = 1) {
        self.session = session
        self.messages = messages
        var rng = SeededRandom(seed: seed)
        var i = 0
        while i < messages.count {
            var n = 1 + Int(rng.next() % UInt64(maxPerPacket))
            n = min(n, messages.count - i)
            while n > 1 && 20 + messages[i..<i + n].reduce(0, { $0 + 2 + $1.count }) > 1400 { n -= 1 }
            packets.append(moldPacket(session, seq: UInt64(i + 1), messages[i..<i + n]))
            firstSequence.append(UInt64(i + 1))
            counts.append(n)
            i += n
        }
    }

    /// The next sequence after the last message.
    var end: UInt64 { UInt64(messages.count + 1) }

    /// The day-file bytes of messages [from, to) by sequence number.
    func stream(_ seqs: Range<UInt64>) -> [UInt8] {
        var out: [UInt8] = []
        for s in seqs { let m = messages[Int(s - 1)]; out += [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m }
        return out
    }

    func server(historyMessages: Int = 1 << 20, maxPerRequest: UInt16 = 1_000) -> MoldRequestServer {
        var c = MoldRequestServerConfig(session: session)
        c.historyMessages = historyMessages
        c.maxMessagesPerRequest = maxPerRequest
        var s = MoldRequestServer(c)
        for p in packets { _ = p.withUnsafeBytes { s.record(packet: $0) } }
        return s
    }
}

/// Collects what the session delivers: the byte stream in day-file framing, order checks,
/// skips and state changes; optionally feeds an ITCH replay to build books.
struct MoldCollector: MoldConsumer {
    var stream: [UInt8] = []
    var messages = 0
    var lastSequence: UInt64 = 0
    var outOfOrder = 0
    var skipped: [Range<UInt64>] = []
    var states: [MoldSessionState] = []
    /// Sequences delivered with lastInPacket set.
    var packetEnds: [UInt64] = []
    var replay: ITCHReplay?
    var rows = RowSink()

    init(replay: ITCHReplay? = nil) { self.replay = replay }

    mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        if sequence != lastSequence + 1 { outOfOrder += 1 }
        if lastInPacket { packetEnds.append(sequence) }
        lastSequence = sequence
        messages += 1
        stream += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        stream += bytes
        if let replay { replay.handle(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt16(bytes.count), into: &rows) }
    }

    mutating func skipped(_ sequences: Range<UInt64>) {
        skipped.append(sequences)
        lastSequence = sequences.upperBound - 1
    }

    mutating func stateChanged(to state: MoldSessionState) { states.append(state) }
}

/// Deterministic loss: packet i is lost with probability `rate`, from a seeded generator.
func lossPattern(_ n: Int, rate: Double, seed: UInt64) -> [Bool] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in rng.unit() < rate }
}

/// Runs a session against lines A and B and a re-request server on a fake clock.
struct MoldSimulation {
    struct Arrival { var time: UInt64; var line: MoldLine; var bytes: [UInt8] }

    var session: MoldSession
    var server: MoldRequestServer
    var collector: MoldCollector
    /// Whether the server answers a request made at this time.
    var serverAnswers: (UInt64) -> Bool = { _ in true }
    /// One-way latency to and from the re-request server.
    var requestLatency: UInt64 = 20_000
    var arrivals: [Arrival] = []
    var responses: [Arrival] = []
    /// Every request sent: (first sequence, count, time).
    var requests: [(sequence: UInt64, count: UInt16, time: UInt64)] = []
    var now: UInt64 = 0
    var polls = 0

    init(_ config: MoldSessionConfig, server: MoldRequestServer, collector: MoldCollector = MoldCollector()) {
        session = MoldSession(config)
        self.server = server
        self.collector = collector
    }

    /// Schedules the exchange's packets on a line: packet i sent at i * spacing, arriving `latency`
    /// later unless `lost[i]`; then `endOfSession` copies of the end-of-session packet.
    mutating func send(_ x: MoldExchange, on line: MoldLine, latency: UInt64, spacing: UInt64 = 1_000,
                       lost: [Bool] = [], swapped: Set<Int> = [], endOfSession: Int = 1) {
        for (i, p) in x.packets.enumerated() where !(i < lost.count && lost[i]) {
            // A swapped packet arrives just after the next one: reordering on the line.
            let t = UInt64(i) * spacing + latency + (swapped.contains(i) ? spacing + spacing / 2 : 0)
            arrivals.append(Arrival(time: t, line: line, bytes: p))
        }
        for k in 0..<endOfSession {
            arrivals.append(Arrival(time: UInt64(x.packets.count + k * 100) * spacing + latency, line: line,
                                    bytes: moldEndOfSession(x.session, next: x.end)))
        }
    }

    mutating func poll(at t: UInt64) {
        now = max(now, t)
        polls += 1
        var buf = [UInt8](repeating: 0, count: 64 * Int(CW_MOLD_REQUEST_LEN))
        let n = buf.withUnsafeMutableBytes { session.poll(now: now, requests: $0, into: &collector) }
        var out = [UInt8](repeating: 0, count: 2048)
        for r in 0..<n {
            let req = Array(buf[r * 20..<(r + 1) * 20])
            var h = cw_mold_header()
            #expect(req.withUnsafeBufferPointer { cw_mold_parse_request($0.baseAddress, $0.count, &h) } == 0)
            requests.append((h.sequence, h.count, now))
            guard serverAnswers(now) else { continue }
            var resp = req.withUnsafeBytes { server.answer($0) }
            while true {
                let len = out.withUnsafeMutableBytes { server.nextPacket(&resp, into: $0) }
                if len == 0 { break }
                responses.append(Arrival(time: now + 2 * requestLatency, line: .retransmission, bytes: Array(out[0..<len])))
            }
        }
    }

    mutating func deliver(_ a: Arrival) {
        now = max(now, a.time)
        a.bytes.withUnsafeBytes { session.receive($0, line: a.line, at: a.time, into: &collector) }
    }

    /// Runs every arrival in time order, polling before each; then keeps polling every `tick`
    /// until no gap is open or `idle` has passed since the last arrival.
    mutating func run(tick: UInt64 = 5_000, idle: UInt64 = 20_000_000) {
        let lines = arrivals.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var i = 0, r = 0
        var last: UInt64 = 0
        while true {
            let tl = i < lines.count ? lines[i].time : .max
            let tr = r < responses.count ? responses[r].time : .max
            let t = min(tl, tr)
            if t == .max {
                if session.openGaps == 0 || now > last + idle { break }
                poll(at: now + tick)
                continue
            }
            if t > now + tick { poll(at: now + tick); continue } // the timer runs between arrivals too
            poll(at: t)
            if tr < tl { deliver(responses[r]); r += 1 } else { deliver(lines[i]); i += 1 }
            last = now
        }
    }
}

@Suite("MoldUDP64 test harness")
struct MoldSimulationTests {
    @Test func exchangePacketsCarryTheDayInOrderWithinTheMTU() {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(5_000))
        let x = MoldExchange(msgs, maxPerPacket: 8, seed: 1)
        var seen: [[UInt8]] = []
        for (i, p) in x.packets.enumerated() {
            #expect(p.count <= 1400 && (1...8).contains(x.counts[i]))
            var h = cw_mold_header()
            p.withUnsafeBufferPointer { b in
                _ = cw_mold_parse_header(b.baseAddress, b.count, &h)
                var c = cw_mold_cursor()
                cw_mold_cursor_init(&c, b.baseAddress, b.count, &h)
                var m: UnsafePointer<UInt8>?
                var len: UInt16 = 0
                while cw_mold_next(&c, &m, &len) == CW_FRAME_MSG { seen.append(Array(UnsafeBufferPointer(start: m, count: Int(len)))) }
            }
            #expect(h.sequence == x.firstSequence[i] && Int(h.count) == x.counts[i])
        }
        #expect(seen == msgs)
        #expect(Set(x.counts).count == 8) // every size from 1 to 8 occurs
        #expect(x.stream(1..<x.end) == moldExchangeStream(msgs[...]))
    }

    @Test func lossPatternIsSeededAndNearItsRate() {
        let a = lossPattern(10_000, rate: 0.01, seed: 1)
        #expect(a == lossPattern(10_000, rate: 0.01, seed: 1) && a != lossPattern(10_000, rate: 0.01, seed: 2))
        #expect((60...140).contains(a.filter { $0 }.count))
    }
}

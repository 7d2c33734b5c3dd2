import CEvent
import CWire
import FeedTestSupport
import OmniBench
import OmniBook
import OmniCore
import OmniEngine
import OmniFeed
import Testing

// The feed stage that turns a MoldUDP64 session's messages into events marks the last event
// of each packet OMNI_EVF_LAST_IN_PACKET: the one point per packet where the books are consistent.

/// ITCH add orders 1...n on locate 1: odd refs bid at rising prices (each one a new best
/// bid: a BBO change), even refs ask far away behind a first ask (no BBO change after it).
func addOrders(_ n: Int) -> [[UInt8]] {
    let stock = Array("TEST    ".utf8).map { CChar($0) }
    return (1...n).map { i in
        var m = [UInt8](repeating: 0, count: 64)
        let odd = i % 2 == 1
        let price = odd ? UInt32(100_000 + i) : UInt32(900_000 + (i == 2 ? 0 : i))
        let len = m.withUnsafeMutableBufferPointer {
            cw_itch_put_add($0.baseAddress, $0.count, 1, UInt64(i), UInt64(i), CChar(UInt8(ascii: odd ? "B" : "S")), 100, stock, price)
        }
        return Array(m[0..<len])
    }
}

/// Keeps every event it is handed.
struct EventLog: EventHandler {
    var events: [omni_event] = []
    mutating func handle(_ event: inout omni_event) -> Bool {
        events.append(event)
        return true
    }
    var lastInPacket: [UInt64] {
        events.filter { $0.flags & UInt8(OMNI_EVF_LAST_IN_PACKET) != 0 }.map(\.seq)
    }
}

@Suite("MoldUDP64 messages to events")
struct MoldFeedEventsTests {
    func receive<C: MoldConsumer>(_ s: inout MoldSession, _ p: [UInt8], _ c: inout C, line: MoldLine = .a) {
        p.withUnsafeBytes { s.receive($0, line: line, at: 0, into: &c) }
    }

    @Test("a packet of N messages gives N events, the Nth alone flagged LAST_IN_PACKET; in order and reordered",
          arguments: [false, true])
    func feedEvents(reordered: Bool) throws {
        let adds = addOrders(24)
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var feed = MoldFeedEvents(replay: ITCHReplay(books: try Books()), source: 7, next: EventLog())
        let packets = [moldPacket(seq: 1, adds[0..<5]), moldPacket(seq: 6, adds[5..<13]),
                       moldPacket(seq: 14, adds[13..<20]), moldPacket(seq: 21, adds[20..<24])]
        let order = reordered ? [0, 2, 3, 1] : [0, 1, 2, 3]
        var ends: [[UInt64]] = []
        for (k, i) in order.enumerated() {
            feed.rxTSC = UInt64(1_000 * (k + 1))
            receive(&s, packets[i], &feed)
            ends.append(feed.next.lastInPacket)
        }
        let events = feed.next.events
        #expect(events.count == 24)
        #expect(events.map(\.seq) == Array(1...24))
        if reordered {
            // Packets 3 and 4 wait for 2, whose arrival releases all three as one: one end.
            #expect(ends == [[5], [5], [5], [5, 24]])
            #expect(events[5...].allSatisfy { $0.rx_tsc == 4_000 })
        } else {
            #expect(ends == [[5], [5, 13], [5, 13, 20], [5, 13, 20, 24]])
            #expect(events[13].rx_tsc == 3_000)
        }
        for e in events {
            #expect(e.source == 7 && e.locate == 1 && e.rx_tsc > 0)
            #expect(e.hop.0 != 0 && e.hop.1 != 0) // decode and book stamped
            #expect(e.type == UInt8(OMNI_EV_BBO.rawValue) || e.type == UInt8(OMNI_EV_ITCH.rawValue))
        }
        // Odd refs raise the best bid: a BBO event each, carrying CBook's omni_bbo whole.
        let bbo = events[22] // ref 23
        #expect(bbo.type == UInt8(OMNI_EV_BBO.rawValue) && bbo.bbo.bid_px == 100_023 && bbo.bbo.bid_sz == 100)
        #expect(bbo.bbo.ask_px == 900_000 && bbo.bbo.ask_sz == 100)
        // Even refs after the first ask change nothing: the message itself, by type and length.
        let plain = events[23]
        #expect(plain.type == UInt8(OMNI_EV_ITCH.rawValue) && plain.itch.msg_type == UInt8(ascii: "A"))
        #expect(plain.itch.length == 36 && plain.itch.offset == OMNI_ITCH_NO_OFFSET)
        #expect(feed.itch.quotable)
    }
}

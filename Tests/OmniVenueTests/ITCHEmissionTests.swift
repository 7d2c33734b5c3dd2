import OmniVenue
import OmniWire
import OmniNet
import CWire
import OmniCore
import Testing
@testable import OmniVenue

/// The emitted messages as (type, order ref, shares-or-new-ref) for compact comparison.
func feedMessages(_ b: DayFileBuffer) -> [String] {
    var out: [String] = []
    var off = 0
    var msg: UnsafePointer<UInt8>?
    var len: UInt16 = 0
    let base = b.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
    while cw_dayfile_next(base, b.count, &off, &msg, &len) == CW_FRAME_MSG, let m = msg {
        #expect(cw_itch_valid(m, Int(len)) != 0)
        let t = Character(Unicode.Scalar(m[0]))
        switch t {
        case "A": out.append("A \(cw_be64(m + 11)) \(Character(Unicode.Scalar(m[19]))) \(cw_be32(m + 20))@\(cw_be32(m + 32))")
        case "E": out.append("E \(cw_be64(m + 11)) \(cw_be32(m + 19)) m\(cw_be64(m + 23))")
        case "X": out.append("X \(cw_be64(m + 11)) \(cw_be32(m + 19))")
        case "D": out.append("D \(cw_be64(m + 11))")
        case "U": out.append("U \(cw_be64(m + 11))->\(cw_be64(m + 19)) \(cw_be32(m + 27))@\(cw_be32(m + 31))")
        case "F": out.append("F \(cw_be64(m + 11)) \(String(decoding: UnsafeBufferPointer(start: m + 36, count: 4), as: UTF8.self))")
        case "S": out.append("S \(Character(Unicode.Scalar(m[11])))")
        default: out.append(String(t))
        }
    }
    return out
}

@Suite struct ITCHEmission {
    @Test func startOfDayAndEnd() {
        let v = TestVenue(instruments: Array(InstrumentSpec.defaults.prefix(2)), events: Recorder(), feed: DayFileBuffer(capacity: 4096))
        v.now = 34_200_000_000_000
        v.open()
        v.close()
        #expect(feedMessages(v.feed) == ["S O", "R", "H", "R", "H", "S S", "S Q", "S M", "S E", "S C"])
        let m = v.feed.base + 2 + 12 + 2 // the first R
        #expect(Symbol(wire: UnsafeRawPointer(m + 11)).description == "AAPL")
        #expect(cw_itch_timestamp(m) == 34_200_000_000_000)
    }

    @Test func everyStateChange() {
        let v = makeVenue()
        v.feed.reset()
        let a = v.sell(200.01, 100)                                      // A 1
        v.sell(200.02, 100)                                              // A 2
        v.buy(200.02, 150, .immediateOrCancel)                           // E 1 100, E 2 50: ref 3 taken, no A for the IOC
        v.buy(199.00, 10, .postOnly)                                     // A 4
        #expect(!v.isLive(a))
        let b = v.queue(AAPL, .bid, price: px(199.00))[0]
        v.replace(session: 1, order: b, price: px(199.00), quantity: 4)  // X 4 6 (same ref: priority kept)
        v.replace(session: 1, order: b, price: px(199.50), quantity: 4)  // U 4->5
        v.buy(201, 51, .fillOrKill)                                      // 50 available: rejected, nothing, no ref
        v.replace(session: 1, order: b, price: px(200.02), quantity: 50) // ref 6 taken, E 2 50, D 5 (traded out)
        let c = v.sell(210, 5)                                           // A 7
        v.cancel(session: 2, order: c)                                   // D 7
        #expect(feedMessages(v.feed) == [
            "A 1 S 100@2000100", "A 2 S 100@2000200", "E 1 100 m1", "E 2 50 m2", "A 4 B 10@1990000", "X 4 6",
            "U 4->5 4@1995000", "E 2 50 m3", "D 5", "A 7 S 5@2100000", "D 7",
        ])
        // What the order-entry side is told (OUCH order_ref) is the ref the feed carries.
        #expect(v.events.refs == [1, 2, 3, 4, 4, 5, 6, 7])
        #expect(v.book(AAPL)!.restingOrders == 0)
    }

    @Test func attributedOrdersAreF() {
        let v = makeVenue()
        v.feed.reset()
        v.submit(session: 1, order: NewOrder(locate: AAPL, side: .bid, price: px(199), quantity: 10, attribution: NewOrder.mpid("GSCO")))
        v.buy(198, 10)
        #expect(feedMessages(v.feed) == ["F 1 GSCO", "A 2 B 10@1980000"])
    }
}

@Test func orderSlotIsOneCacheLine() {
    #expect(MemoryLayout<OrderSlot>.stride == 64)
}

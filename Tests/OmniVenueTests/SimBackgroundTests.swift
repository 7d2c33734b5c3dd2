import OmniBook
import OmniCore
@testable import OmniVenue
import SharedTestData
import Testing

/// The sim's background flow: a real ITCH file's order messages, pass after pass, each pass on
/// locates of their own and order references of its own, leaving nothing resting behind it.
@Suite struct SimBackgroundTests {
    @Test(.enabled(if: RealData.present, RealData.skipReason))
    func realFlowLoopsOnItsOwnLocatesAndLeavesNothingResting() throws {
        let b = try SimBackground(SimBackgroundConfig(path: RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50"), speed: 1))
        var feed = DayFileBuffer(capacity: 1 << 22)
        defer { feed.deallocate() }
        // Three whole passes: the third's last message (the deletes) is due before the fourth begins.
        let n = b.emit(dueBy: 3 * b.loopNs - 1, into: &feed)
        #expect(n == 3 * b.messages.count && b.loop == 3 && b.next == 0)
        let books = try Books()
        var adds = 0, offset = 0
        let bytes = feed.bytes
        while offset < bytes.count {
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            let m = bytes.baseAddress!.advanced(by: offset + 2).assumingMemoryBound(to: UInt8.self)
            if m[0] == UInt8(ascii: "A") || m[0] == UInt8(ascii: "F") { adds += 1 }
            _ = books.apply(m, length: UInt16(length))
            offset += 2 + length
        }
        #expect(adds > 1_000, "each pass adds the file's orders again, as new orders: \(adds)")
        #expect(books.locates.allSatisfy { $0 > 1_000 }, "every locate moved past the sim's own: \(books.locates.prefix(5))")
        #expect(books.liveOrders == 0, "each pass deletes what it leaves resting: \(books.liveOrders) live")
        #expect(b.rate > 100_000, "the 09:30 open's recorded rate: \(b.rate) msgs/s")
    }

    @Test func aFileThatIsNotADayFileIsRefusedByName() throws {
        let path = TestScratch.path("background-not-itch.txt")
        try writeTextFile(path, "this is not ITCH")
        #expect { _ = try SimBackground(SimBackgroundConfig(path: path, speed: 1)) } throws: { "\($0)".contains(path) }
        #expect { _ = try SimBackground(SimBackgroundConfig(path: path + ".missing", speed: 1)) } throws: { "\($0)".contains("No such file") }
        #expect { _ = try SimBackground(SimBackgroundConfig(path: path, speed: 0)) } throws: { "\($0)".contains("speed 0") }
    }
}

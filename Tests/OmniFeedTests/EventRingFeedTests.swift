import CEvent
import CRing
import CWire
import FeedTestSupport
import Foundation
import OmniBook
import OmniFeed
import SharedTestData
import Testing

/// The seam's consumer: omni_event records from a shared-memory ring, made here by CWire's
/// cw_mold_events (what the FPGA kernel's records must equal), drive the books to the BBO
/// stream of a plain replay of the same day file.
@Suite("EventRingFeed: decoded ITCH from a shared-memory ring", .enabled(if: RealData.present, RealData.skipReason))
struct EventRingFeedTests {
    @Test func ringEventsDriveTheBooksLikeTheDayFile() throws {
        let path = RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50")
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var msgs: [[UInt8]] = []
        file.withUnsafeBufferPointer { b in
            var off = 0
            var m: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            while cw_dayfile_next(b.baseAddress, b.count, &off, &m, &len) == CW_FRAME_MSG {
                msgs.append(Array(UnsafeBufferPointer(start: m, count: Int(len))))
            }
        }
        // Packets of 7 messages back to back: the payload buffer.
        var payload: [UInt8] = []
        var packets: [[UInt8]] = []
        for i in stride(from: 0, to: msgs.count, by: 7) {
            packets.append(moldPacket(seq: UInt64(i + 1), msgs[i..<min(i + 7, msgs.count)]))
        }

        let name = "/omni-test-eventring-\(getpid())"
        _ = cring_shm_unlink(name)
        var ring = cring_shm()
        #expect(cring_shm_create(&ring, name, 4096, 64) == CRING_OK.rawValue)
        defer { cring_shm_close(&ring); _ = cring_shm_unlink(name) }
        var counts = cw_mold_event_counts()
        for p in packets {
            var evs = [omni_event](repeating: omni_event(), count: (p.count - 20) / 14)
            let n = p.withUnsafeBufferPointer { b in
                evs.withUnsafeMutableBufferPointer { cw_mold_events(b.baseAddress, b.count, UInt64(payload.count), 1, 0, $0.baseAddress, $0.count, &counts) }
            }
            for e in evs.prefix(Int(n)) { var e = e; #expect(cring_spsc_try_push(ring.ring, &e, 64) == 1) }
            payload += p
        }
        var outside = omni_event()
        outside.type = UInt8(OMNI_EV_ITCH.rawValue)
        outside.itch.offset = UInt64(payload.count) - 10
        outside.itch.length = 36
        var other = omni_event()
        other.type = UInt8(OMNI_EV_BBO.rawValue)
        var stop = omni_event()
        stop.type = UInt8(OMNI_EV_COMMAND.rawValue)
        stop.command.code = UInt32(OMNI_CMD_STOP)
        for var e in [outside, other, stop] { #expect(cring_spsc_try_push(ring.ring, &e, 64) == 1) }

        let replay = ITCHReplay(books: try Books())
        var sink = RowSink()
        var feed = try EventRingFeed(ring: name, timeoutSeconds: 1)
        payload.withUnsafeBytes { feed.run(payload: $0, into: replay, sink: &sink) }
        #expect(counts.messages == UInt64(msgs.count) && feed.events == UInt64(msgs.count))
        #expect(feed.outOfRange == 1 && feed.others == 1)
        #expect(sink.rows == (try FeedTestSupport.replay(path)).1)
    }

    @Test func aRingNobodyCreatesTimesOutNamingIt() {
        let name = "/omni-test-no-such-ring-\(getpid())"
        let error = #expect(throws: FeedError.self) { _ = try EventRingFeed(ring: name, timeoutSeconds: 0.05) }
        #expect(error?.description.contains(name) == true && error?.description.contains("no producer") == true)
    }
}

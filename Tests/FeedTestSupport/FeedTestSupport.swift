import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import OmniLab
import OmniWire
import SharedTestData

// What the feed-side test targets share: the BBO stream as text rows, and a day file replayed
// into fresh books (the reference every other path is compared with).

/// Every BBO change as "locate,bid_px,bid_sz,ask_px,ask_sz" (omni replay --bbo-csv's row).
public struct RowSink: BBOSink {
    public var rows: [String] = []
    public init() {}
    public mutating func bboChanged(_ locate: Locate, _ b: BBO) {
        rows.append("\(locate),\(b.bidPrice.raw),\(b.bidSize),\(b.askPrice.raw),\(b.askSize)")
    }
}

/// Replays a day file into fresh books and returns the replay and the BBO rows.
public func replay(_ path: String) throws -> (ITCHReplay, [String]) {
    let input = try MappedInput(path: path)
    let r = ITCHReplay(books: try Books())
    var sink = RowSink()
    withExtendedLifetime(input) { r.runDayFile(input.bytes, into: &sink) }
    return (r, sink.rows)
}

/// Replays a day held in memory into fresh books and returns the replay and the BBO rows.
public func replayDay(_ day: [UInt8]) throws -> (ITCHReplay, [String]) {
    let r = ITCHReplay(books: try Books())
    var sink = RowSink()
    day.withUnsafeBytes { r.runDayFile($0, into: &sink) }
    return (r, sink.rows)
}

/// A synthetic day of 20 symbols (OmniLab's SyntheticDay), as bytes.
public func syntheticDay(messages: Int = 50_000, seed: UInt64 = 3) throws -> [UInt8] {
    // A file of this call's own: tests running side by side ask for the same day at once.
    let path = TestScratch.path("syn-\(seed)-\(messages)-\(UInt64.random(in: 0...UInt64.max)).itch")
    defer { try? FileManager.default.removeItem(atPath: path) }
    do {
        let w = try FileWriter(path: path)
        try SyntheticDay(symbols: 20, messages: messages, seed: seed).write(to: w)
    }
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// One MoldUDP64 downstream packet (count 0 makes a heartbeat).
public func moldPacket(_ session: String = "OMNIMOLD01", seq: UInt64, _ msgs: ArraySlice<[UInt8]>) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: 65_536)
    var b = cw_mold_builder()
    buf.withUnsafeMutableBufferPointer { p in
        _ = cw_mold_begin(&b, p.baseAddress, p.count, moldSessionName(session), seq)
        for m in msgs { _ = m.withUnsafeBufferPointer { cw_mold_append(&b, $0.baseAddress, UInt16($0.count)) } }
    }
    return Array(buf[0..<b.len])
}

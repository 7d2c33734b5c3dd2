import CSys
import CWire
import OmniBook
import OmniCore
import OmniEngine

#if canImport(Glibc)
import Glibc
#endif

/// What `omni replay` is given: the day file or capture (or, with `fromRing`, the payload
/// buffer), the symbols to build books for, the CSV outputs and the summary's extras.
public protocol ReplayOptions {
    var file: String { get }
    var fromRing: String? { get }
    var symbols: String? { get }
    var bboCSV: String? { get }
    var depthCSV: String? { get }
    var depth: Int { get }
    var stats: Bool { get }
}

extension ReplayOptions {
    /// `omni replay`: the day file, capture or ring through the books; the summary printed.
    public func replay() throws {
        if let fromRing { return try runFromRing(fromRing) }
        let loadStart = csys_monotonic_ns()
        let input = try MappedInput(path: file)
        let loadNs = csys_monotonic_ns() - loadStart
        if let format = CaptureFormat.of(input.bytes) {
            try withExtendedLifetime(input) { try runCapture(input, format: format, loadNs: loadNs) }
            return
        }
        let name = file.hasSuffix(".gz") ? String(file.dropLast(3)) : file
        if name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
            throw FeedError.corrupt(path: file, offset: 0, reason: "named as a capture, but starts with no pcap or pcapng magic number")
        }
        let books = try Books()
        let replay = ITCHReplay(books: books)
        if let symbols {
            replay.restrict(to: Set(symbols.split(separator: ",").compactMap { Symbol($0) }))
        }
        var progress = Progress("replay")
        let total = input.bytes.count
        let report: (Int) -> Void = { off in
            progress.update("\(off * 100 / max(total, 1))% of \(grouped(UInt64(total))) bytes, \(grouped(replay.counts.messages)) msgs")
        }
        let start = csys_monotonic_ns()
        var bboRows: UInt64 = 0
        defer { withExtendedLifetime(input) {} }
        if let bboCSV {
            var sink = BBOCSVSink(out: try FileWriter(path: bboCSV))
            replay.runDayFile(input.bytes, into: &sink, progress: report)
            try sink.out.flush()
            if let error = sink.error { throw error }
            bboRows = sink.rows
        } else {
            var sink = NoBBOSink()
            replay.runDayFile(input.bytes, into: &sink, progress: report)
        }
        let elapsed = csys_monotonic_ns() - start
        progress.finish()
        if replay.counts.messages == 0 && input.bytes.count > 0 {
            throw FeedError.corrupt(path: file, offset: 0, reason: "no known format: no pcap or pcapng magic number, and no NASDAQ "
                                    + "day-file message at its start (first bytes \(Self.preview(input.bytes)))")
        }
        if let depthCSV { try writeDepth(depthCSV, replay) }
        printSummary(replay, elapsed: elapsed, loadNs: loadNs, bboRows: bboRows, fileBytes: input.bytes.count, compressed: input.wasCompressed)
        for s in replay.missingSymbols { stderrLine("warning: --symbols: \(s) is not in the file's stock directory") }
    }

    /// The books fed by an external decoder through the ring `name` (EventRingFeed). The ring
    /// first: its producer writes the payload file before it creates the ring.
    private func runFromRing(_ name: String) throws {
        var feed = try EventRingFeed(ring: name, timeoutSeconds: 60)
        let loadStart = csys_monotonic_ns()
        let input = try MappedInput(path: file)
        let loadNs = csys_monotonic_ns() - loadStart
        defer { withExtendedLifetime(input) {} }
        let replay = ITCHReplay(books: try Books())
        if let symbols { replay.restrict(to: Set(symbols.split(separator: ",").compactMap { Symbol($0) })) }
        let start = csys_monotonic_ns()
        var bboRows: UInt64 = 0
        if let bboCSV {
            var sink = BBOCSVSink(out: try FileWriter(path: bboCSV))
            feed.run(payload: input.bytes, into: replay, sink: &sink)
            try sink.out.flush()
            if let error = sink.error { throw error }
            bboRows = sink.rows
        } else {
            var sink = NoBBOSink()
            feed.run(payload: input.bytes, into: replay, sink: &sink)
        }
        let elapsed = csys_monotonic_ns() - start
        if let depthCSV { try writeDepth(depthCSV, replay) }
        let source = "ring        \(name): \(grouped(feed.events)) ITCH events applied, \(grouped(feed.outOfRange)) outside the "
            + "payload, \(grouped(feed.others)) of other types; payload \(file) (\(grouped(UInt64(input.bytes.count))) bytes)"
        printSummary(replay, elapsed: elapsed, loadNs: loadNs, bboRows: bboRows, fileBytes: input.bytes.count,
                     compressed: input.wasCompressed, source: source)
    }

    private func writeDepth(_ path: String, _ replay: ITCHReplay) throws {
        let out = try FileWriter(path: path)
        for locate in replay.books.locates {
            let snap = replay.books.book(locate).depth(depth)
            let name = replay.directory[locate]?.description ?? ""
            for (side, levels) in [("B", snap.bids), ("S", snap.asks)] {
                for (i, l) in levels.enumerated() {
                    try out.write("\(locate),\(name),\(side),\(i + 1),\(l.price.raw),\(l.shares),\(l.orders)\n")
                }
            }
        }
        try out.flush()
    }

    /// The first bytes of a file, as hex and printable text, for an error that says what was found.
    static func preview(_ bytes: UnsafeRawBufferPointer) -> String {
        let head = bytes.prefix(8)
        let hex = head.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
        let text = String(decoding: head.map { (32..<127).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        return "\(hex) \"\(text)\""
    }

    /// `source` replaces the file line (a replay that did not walk the file itself).
    private func printSummary(_ replay: ITCHReplay, elapsed: UInt64, loadNs: UInt64, bboRows: UInt64, fileBytes: Int, compressed: Bool,
                              source: String? = nil) {
        let c = replay.counts
        let msgs = c.messages + c.malformed
        var lines: [String] = []
        let unread = fileBytes > c.bytes ? ", \(grouped(UInt64(fileBytes - c.bytes))) past the last whole message unread" : ""
        lines.append(source ?? "file        \(file) (\(grouped(UInt64(fileBytes))) bytes\(compressed ? " inflated" : "")\(unread), loaded in \(fixed(Double(loadNs) / 1e6, 1)) ms)")
        lines += bookSummaryLines(replay)
        if bboRows > 0 || bboCSV != nil { lines.append("bbo rows    \(grouped(bboRows)) -> \(bboCSV ?? "")") }
        let secs = Double(elapsed) / 1e9
        let rate = secs > 0 ? Double(msgs) / secs : 0
        lines.append("elapsed     \(fixed(secs * 1000, 3)) ms, \(fixed(rate / 1e6, 2)) M msgs/s, \(fixed(msgs > 0 ? Double(elapsed) / Double(msgs) : 0, 1)) ns/msg")
        if stats { lines += bookStatsLines(replay) }
        print(lines.joined(separator: "\n"))
    }
}

/// The books part of the replay summary (messages by type, malformed, symbols, live orders),
/// shared by `omni replay` and `omni listen`.
func bookSummaryLines(_ replay: ITCHReplay) -> [String] {
    let c = replay.counts
    let k = replay.books.stats
    var lines: [String] = []
    var byType = ""
    for t in 0..<256 where c.byType[t] > 0 {
        byType += " \(Character(Unicode.Scalar(UInt8(t))))=\(c.byType[t])"
    }
    lines.append("messages    \(grouped(c.messages)) well-formed:\(byType)")
    lines.append("malformed   \(grouped(c.malformed))\(c.truncatedAt.map { " (and a truncated record at byte \($0))" } ?? "")")
    lines.append("unknown ref \(grouped(k.unknown_ref)) (execute/cancel/delete/replace of an order not in the book)")
    lines.append("symbols     \(replay.directory.count) in directory, \(replay.books.locates.count) with books")
    let crossed = replay.books.locates.filter { replay.books.book($0).bbo.isCrossed }.count
    lines.append("live orders \(grouped(replay.books.liveOrders)) at end; crossed books at end: \(crossed)")
    return lines
}

/// The --stats part of the replay summary: book-kernel counters, memory, system events.
func bookStatsLines(_ replay: ITCHReplay) -> [String] {
    let k = replay.books.stats
    var lines: [String] = []
    lines.append("book kernel adds=\(k.adds) executes=\(k.executes) cancels=\(k.cancels) deletes=\(k.deletes) replaces=\(k.replaces) trades=\(k.trades)")
    lines.append("refused     duplicate_ref=\(k.duplicate_ref) ref_out_of_range=\(k.ref_out_of_range) bad_price=\(k.bad_price) bad_shares=\(k.bad_shares) bad_side=\(k.bad_side) over_execution=\(k.over_execution) filtered=\(k.filtered) out_of_memory=\(k.out_of_memory)")
    let mem = replay.books.memoryBytes
    let live = replay.books.liveOrders
    lines.append("memory      \(grouped(mem)) bytes for orders and levels\(live > 0 ? ", \(mem / live) bytes per live order" : ""); order state 16 bytes/order; SIMD \(replay.books.simd)")
    let events = replay.systemEvents.map { "\(Character(Unicode.Scalar($0.1)))@\($0.0)" }.joined(separator: " ")
    lines.append("system      \(events.isEmpty ? "no system events" : events)")
    return lines
}

// ---- packet captures

extension ReplayOptions {
    private func runCapture(_ input: MappedInput, format: CaptureFormat, loadNs: UInt64) throws {
        let itch = ITCHReplay(books: try Books())
        if let symbols { itch.restrict(to: Set(symbols.split(separator: ",").compactMap { Symbol($0) })) }
        let capture = CaptureReplay(itch: itch)
        let start = csys_monotonic_ns()
        var bboRows: UInt64 = 0
        if let bboCSV {
            var sink = BBOCSVSink(out: try FileWriter(path: bboCSV))
            try capture.run(input.bytes, path: file, into: &sink)
            try sink.out.flush()
            if let error = sink.error { throw error }
            bboRows = sink.rows
        } else {
            try capture.run(input.bytes, path: file)
        }
        let elapsed = csys_monotonic_ns() - start
        if let depthCSV { try writeDepth(depthCSV, itch) }
        printCaptureSummary(capture, format: format, bytes: input.bytes.count, compressed: input.wasCompressed,
                            loadNs: loadNs, elapsed: elapsed, bboRows: bboRows)
        if capture.counts.moldPackets > 0 {
            for s in itch.missingSymbols { stderrLine("warning: --symbols: \(s) is not in the file's stock directory") }
        }
    }

    private func printCaptureSummary(_ r: CaptureReplay, format: CaptureFormat, bytes: Int, compressed: Bool,
                                     loadNs: UInt64, elapsed: UInt64, bboRows: UInt64) {
        let c = r.counts
        var lines: [String] = []
        lines.append("file        \(file) (\(format), \(grouped(UInt64(bytes))) bytes\(compressed ? " inflated" : ""), loaded in \(fixed(Double(loadNs) / 1e6, 1)) ms)")
        var tail = ""
        if c.truncatedRecords > 0 { tail += ", \(c.truncatedRecords) truncated record at the end (not read)" }
        if c.malformedRecords > 0 { tail += ", \(c.malformedRecords) malformed record (walk stopped there)" }
        lines.append("packets     \(grouped(c.packets)) complete\(tail)")
        if let first = c.firstTimestampNs {
            lines.append("span        \(utc(first)) to \(utc(c.lastTimestampNs)) UTC")
        }
        lines.append("frames      \(grouped(c.udpDatagrams)) UDP, \(grouped(c.otherFrames)) other traffic, \(grouped(c.fragments)) IPv4 fragments, \(grouped(c.malformedFrames)) malformed, \(grouped(c.cutPayloads)) cut by the snap length")
        if c.iexSegments > 0 || c.malformedSegments > 0 {
            let protocols = c.protocols.map { p in
                p == 0x8004 ? "DEEP 1.0 (0x8004)" : p == 0x8003 ? "TOPS 1.6 (0x8003)" : "protocol 0x\(String(p, radix: 16))"
            }.joined(separator: ", ")
            lines.append("iex-tp      \(protocols); \(c.sessions) session\(c.sessions == 1 ? "" : "s"), \(grouped(c.iexSegments)) segments, \(grouped(c.iexHeartbeats)) heartbeats, \(grouped(c.malformedSegments)) malformed segments")
            lines.append("messages    \(grouped(c.iexMessages)) well-formed, \(grouped(c.malformedMessages)) malformed")
            let types = (0..<256).filter { c.iexByType[$0] > 0 }.sorted { c.iexByType[$0] > c.iexByType[$1] }
            for t in types {
                let name = CaptureReplay.iexTypeName(UInt8(t))
                let count = grouped(c.iexByType[t])
                lines.append("  \(Character(Unicode.Scalar(UInt8(t)))) \(name)\(String(repeating: " ", count: max(1, 26 - name.count)))\(String(repeating: " ", count: max(0, 9 - count.count)))\(count)")
            }
            lines.append("sequence    \(grouped(c.gaps)) gaps (\(grouped(c.missedMessages)) messages missed), \(grouped(c.sequenceResets)) resets (sequence went back)")
            lines.append("symbols     \(grouped(UInt64(c.symbols)))")
        }
        if c.moldPackets > 0 {
            let m = r.mold
            lines.append("moldudp64   \(grouped(c.moldPackets)) packets, \(grouped(m.heartbeats)) heartbeats, \(grouped(m.gaps)) gaps (\(grouped(m.missedMessages)) messages missed), \(grouped(m.duplicateMessages)) duplicates, \(grouped(m.malformedPackets)) malformed\(m.endOfSession ? ", end of session" : "")")
            if let itch = r.itch {
                let ic = itch.counts
                var byType = ""
                for t in 0..<256 where ic.byType[t] > 0 { byType += " \(Character(Unicode.Scalar(UInt8(t))))=\(ic.byType[t])" }
                lines.append("itch        \(grouped(ic.messages)) well-formed:\(byType); \(grouped(ic.malformed)) malformed")
                lines.append("symbols     \(itch.directory.count) in directory, \(itch.books.locates.count) with books, \(grouped(itch.books.liveOrders)) live orders at end")
                if bboRows > 0 || bboCSV != nil { lines.append("bbo rows    \(grouped(bboRows)) -> \(bboCSV ?? "")") }
            }
        }
        if c.unknownPayloads > 0 { lines.append("other udp   \(grouped(c.unknownPayloads)) payloads neither IEX-TP nor MoldUDP64") }
        let secs = Double(elapsed) / 1e9
        lines.append("elapsed     \(fixed(secs * 1000, 3)) ms, \(fixed(secs > 0 ? Double(c.packets) / secs / 1e6 : 0, 2)) M packets/s")
        print(lines.joined(separator: "\n"))
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` for ns since the Unix epoch (days to civil date: H. Hinnant's algorithm).
private func utc(_ ns: UInt64) -> String {
    let secs = Int64(ns / 1_000_000_000), ms = Int(ns / 1_000_000 % 1000)
    let days = secs / 86_400, tod = Int(secs % 86_400)
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
    return "\(y)-\(two(Int(m)))-\(two(Int(d))) \(two(tod / 3600)):\(two(tod / 60 % 60)):\(two(tod % 60)).\(msText)"
}

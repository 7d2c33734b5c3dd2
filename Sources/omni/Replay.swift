import ArgumentParser
import CWire
import OmniBook
import OmniCore
import OmniFeed

#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay an ITCH 5.0 day file through full-depth order books and print a summary.",
        discussion: """
        FILE is a NASDAQ TotalView-ITCH 5.0 day file in its usual framing, [u16 big-endian \
        length][message] repeated, plain or gzip-compressed (.gz). The file is memory-mapped \
        (or inflated into memory) first; the replay rate covers the replay loop alone.

        --bbo-csv writes locate,bid_px,bid_sz,ask_px,ask_sz (no header), one row each time the \
        best bid or offer of a symbol changes in price or size after a message; prices in ITCH \
        units (1/10000 dollar), an empty side as 0,0.

        --depth-csv writes the books at the end of the replay: \
        locate,symbol,side,level,price,shares,orders with level 1 the best.

        Example: omni replay 12302019.NASDAQ_ITCH50.gz --symbols AAPL,MSFT --bbo-csv bbo.csv
        """
    )

    @Argument(help: "ITCH 5.0 day file (plain or .gz).")
    var file: String

    @Option(help: "Build books only for these symbols (comma-separated); needs the file's stock directory (R) messages.")
    var symbols: String?

    @Option(name: .customLong("bbo-csv"), help: "Write every BBO change to this CSV file.")
    var bboCSV: String?

    @Option(name: .customLong("depth-csv"), help: "Write the final depth of every book to this CSV file.")
    var depthCSV: String?

    @Option(help: "Levels per side in --depth-csv.")
    var depth: Int = 10

    @Flag(help: "Also print book-kernel counters and memory per live order.")
    var stats = false

    func validate() throws {
        guard depth > 0 else { throw ValidationError("--depth must be at least 1 (got \(depth))") }
        if depthCSV == nil && depth != 10 { throw ValidationError("--depth needs --depth-csv") }
        if let symbols {
            for s in symbols.split(separator: ",", omittingEmptySubsequences: false) where Symbol(s) == nil {
                throw ValidationError("--symbols: '\(s)' is not a symbol (1 to 8 printable ASCII characters)")
            }
        }
    }

    func run() throws {
        let loadStart = monotonicNanoseconds()
        let input = try MappedInput(path: file)
        let loadNs = monotonicNanoseconds() - loadStart
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
        let start = monotonicNanoseconds()
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
        let elapsed = monotonicNanoseconds() - start
        progress.finish()
        if let depthCSV { try writeDepth(depthCSV, replay) }
        printSummary(replay, elapsed: elapsed, loadNs: loadNs, bboRows: bboRows, compressed: input.wasCompressed)
        for s in replay.missingSymbols { stderrLine("warning: --symbols: \(s) is not in the file's stock directory") }
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

    private func printSummary(_ replay: ITCHReplay, elapsed: UInt64, loadNs: UInt64, bboRows: UInt64, compressed: Bool) {
        let c = replay.counts
        let k = replay.books.stats
        let msgs = c.messages + c.malformed
        var lines: [String] = []
        lines.append("file        \(file) (\(grouped(UInt64(c.bytes))) bytes\(compressed ? " inflated" : ""), loaded in \(fixed(Double(loadNs) / 1e6, 1)) ms)")
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
        if bboRows > 0 || bboCSV != nil { lines.append("bbo rows    \(grouped(bboRows)) -> \(bboCSV ?? "")") }
        let secs = Double(elapsed) / 1e9
        let rate = secs > 0 ? Double(msgs) / secs : 0
        lines.append("elapsed     \(fixed(secs * 1000, 3)) ms, \(fixed(rate / 1e6, 2)) M msgs/s, \(fixed(msgs > 0 ? Double(elapsed) / Double(msgs) : 0, 1)) ns/msg")
        if stats {
            lines.append("book kernel adds=\(k.adds) executes=\(k.executes) cancels=\(k.cancels) deletes=\(k.deletes) replaces=\(k.replaces) trades=\(k.trades)")
            lines.append("refused     duplicate_ref=\(k.duplicate_ref) ref_out_of_range=\(k.ref_out_of_range) bad_price=\(k.bad_price) bad_shares=\(k.bad_shares) bad_side=\(k.bad_side) over_execution=\(k.over_execution) filtered=\(k.filtered) out_of_memory=\(k.out_of_memory)")
            let mem = replay.books.memoryBytes
            let live = replay.books.liveOrders
            lines.append("memory      \(grouped(mem)) bytes for orders and levels\(live > 0 ? ", \(mem / live) bytes per live order" : ""); order state 16 bytes/order; SIMD \(replay.books.simd)")
            let events = replay.systemEvents.map { "\(Character(Unicode.Scalar($0.1)))@\($0.0)" }.joined(separator: " ")
            lines.append("system      \(events.isEmpty ? "no system events" : events)")
        }
        print(lines.joined(separator: "\n"))
    }
}

import OmniCore
import OmniFeed
import CWire

/// Replicates the order flow of real ITCH files across many instruments to make
/// a large benchmark file that keeps the real message mix and sizes.
///
/// Each block replays the source's order messages (A F E C X D U P Q) once per
/// copy, interleaved copy by copy, each copy on its own locate with dense,
/// increasing order refs. Source messages that name an order the source never
/// added (slices start mid-day) are left out. At the end of a block, orders the
/// source left resting are deleted (D), so the book state stays bounded as on a
/// real day. Block after block reuses the same locates with new refs.
///
/// The file opens with a stock directory (R) for every locate in use, so a listener maps symbols
/// to locates as on a real day: copy 0 keeps the source's symbol, copy c its first letters and c
/// (`AAPL` -> `AAPL3`); a name taken already, or a locate the sources never named, becomes
/// `Z` and the locate in base 10.
public struct FixtureFlow {
    public let sources: [UnsafeRawBufferPointer]
    public var messages: Int
    /// Instruments (locates) in the file: nil, as many whole copies as 65,535 locates hold;
    /// N, copies until N locates, the last copy cut short.
    public var symbols: Int?

    public init(sources: [UnsafeRawBufferPointer], messages: Int, symbols: Int? = nil) {
        precondition(symbols.map { (1...65_535).contains($0) } ?? true, "symbols: 1 to 65535")
        self.sources = sources; self.messages = messages; self.symbols = symbols
    }

    /// An instrument of the written file: its locate and symbol, and the price of its source's
    /// first order (ITCH units; 0 when the source added none, trades only).
    public struct Instrument: Equatable, Sendable {
        public var locate: UInt16
        public var symbol: Symbol
        public var firstPrice: UInt32
    }

    public struct Summary {
        public var written = 0
        public var copies = 0
        public var sourceMessages = 0
        public var retiringDeletes = 0
        public var droppedUnknownRefs = 0
        /// The stock directory written first, one per locate in use.
        public var instruments: [Instrument] = []
    }

    public func write(to out: FileWriter, progress: ((Int) -> Void)? = nil) throws -> Summary {
        // The source flow: order messages whose refs the source itself added.
        var flow: [[UInt8]] = []
        var known = Set<UInt64>()
        var summary = Summary()
        var sourceLocates = Set<UInt16>()
        var names: [UInt16: Symbol] = [:]
        var firstPrice: [UInt16: UInt32] = [:]
        for src in sources {
            guard let base = src.baseAddress?.assumingMemoryBound(to: UInt8.self) else { continue }
            var off = 0
            var msg: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            while cw_dayfile_next(base, src.count, &off, &msg, &len) == CW_FRAME_MSG {
                guard let m = msg, cw_itch_valid(m, Int(len)) != 0 else { continue }
                let t = m[0]
                if t == UInt8(ascii: "R") { names[cw_itch_locate(m)] = Symbol(wire: m + 11) }
                let ref = cw_itch_order_ref(m)
                switch t {
                case UInt8(ascii: "A"), UInt8(ascii: "F"):
                    known.insert(ref)
                    if firstPrice[cw_itch_locate(m)] == nil { firstPrice[cw_itch_locate(m)] = cw_itch_add_price(m) }
                case UInt8(ascii: "E"), UInt8(ascii: "C"), UInt8(ascii: "X"), UInt8(ascii: "D"), UInt8(ascii: "U"):
                    guard known.contains(ref) else { summary.droppedUnknownRefs += 1; continue }
                    if t == UInt8(ascii: "U") { known.insert(cw_itch_replace_new_ref(m)) }
                case UInt8(ascii: "P"), UInt8(ascii: "Q"): break
                default: continue
                }
                sourceLocates.insert(cw_itch_locate(m))
                flow.append(Array(UnsafeBufferPointer(start: m, count: Int(len))))
            }
        }
        summary.sourceMessages = flow.count
        guard !flow.isEmpty else { return summary }
        let locateList = sourceLocates.sorted()
        let copies = symbols.map { ($0 + locateList.count - 1) / locateList.count } ?? max(1, 65535 / locateList.count)
        let inUse = min(symbols ?? Int.max, copies * locateList.count) // locates 1...inUse
        summary.copies = copies
        var locateIndex = [UInt16: Int]()
        for (i, l) in locateList.enumerated() { locateIndex[l] = i }

        var nextRef: UInt64 = 1
        var m = [UInt8](repeating: 0, count: Int(CW_ITCH_MAX_LEN))
        var clock: UInt64 = 9 * 3_600_000_000_000
        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            try out.writeDayFileRecord(bytes)
            summary.written += 1
        }
        // The stock directory first.
        var taken = Set<Symbol>()
        for index in 0..<inUse where summary.written < messages {
            let source = locateList[index % locateList.count], copy = index / locateList.count, locate = UInt16(1 + index)
            var symbol = names[source].flatMap { copyName($0, copy: copy) } ?? Symbol("Z\(locate)")!
            if !taken.insert(symbol).inserted { symbol = Symbol("Z\(locate)")!; taken.insert(symbol) }
            summary.instruments.append(Instrument(locate: locate, symbol: symbol, firstPrice: firstPrice[source] ?? 0))
            let n = m.withUnsafeMutableBufferPointer { p in
                withUnsafeBytes(of: symbol.word) { cw_itch_put_directory(p.baseAddress, p.count, locate, clock, $0.baseAddress!.assumingMemoryBound(to: CChar.self), CChar(UInt8(ascii: "Q"))) }
            }
            precondition(n > 0, "ITCH encoder refused a \(m.count)-byte buffer")
            try m.withUnsafeBytes { b throws in try emit(UnsafeRawBufferPointer(rebasing: b[0..<n])) }
        }
        while summary.written < messages {
            // refMap[copy][source ref] = new ref, for this block.
            var refMap = [[UInt64: (ref: UInt64, locate: UInt16, shares: UInt32)]](repeating: [:], count: copies)
            for src in flow where summary.written < messages {
                let t = src[0]
                clock += 50
                for c in 0..<copies where summary.written < messages {
                    let index = c * locateList.count + locateIndex[src.withUnsafeBufferPointer { cw_itch_locate($0.baseAddress!) }]!
                    guard index < inUse else { continue } // the last copy, cut short at `symbols`
                    let locate = UInt16(1 + index)
                    m.replaceSubrange(0..<src.count, with: src)
                    let keep = m.withUnsafeMutableBufferPointer { p -> Bool in
                        precondition(cw_itch_put_header(p.baseAddress, p.count, t, locate, 0, clock) > 0, "ITCH header refused")
                        let ref = cw_itch_order_ref(p.baseAddress!)
                        let isOrderMessage = t != UInt8(ascii: "A") && t != UInt8(ascii: "F") && t != UInt8(ascii: "P") && t != UInt8(ascii: "Q")
                        if isOrderMessage && refMap[c][ref] == nil { return false } // its order already left the book
                        switch t {
                        case UInt8(ascii: "A"), UInt8(ascii: "F"):
                            refMap[c][ref] = (nextRef, locate, cw_itch_add_shares(p.baseAddress!))
                            cw_put64(p.baseAddress! + 11, nextRef); nextRef += 1
                        case UInt8(ascii: "E"), UInt8(ascii: "C"), UInt8(ascii: "X"):
                            var live = refMap[c][ref]!
                            cw_put64(p.baseAddress! + 11, live.ref)
                            let taken = cw_itch_executed_shares(p.baseAddress!) // X's canceled shares sit at the same offset
                            live.shares -= min(live.shares, taken)
                            refMap[c][ref] = live.shares == 0 ? nil : live
                        case UInt8(ascii: "D"):
                            cw_put64(p.baseAddress! + 11, refMap[c][ref]!.ref)
                            refMap[c][ref] = nil
                        case UInt8(ascii: "U"):
                            cw_put64(p.baseAddress! + 11, refMap[c][ref]!.ref)
                            refMap[c][ref] = nil
                            refMap[c][cw_itch_replace_new_ref(p.baseAddress!)] = (nextRef, locate, cw_itch_replace_shares(p.baseAddress!))
                            cw_put64(p.baseAddress! + 19, nextRef); nextRef += 1
                        default: break
                        }
                        return true
                    }
                    guard keep else { summary.droppedUnknownRefs += 1; continue }
                    try m.withUnsafeBytes { b throws in try emit(UnsafeRawBufferPointer(rebasing: b[0..<src.count])) }
                }
                if summary.written & 0xFFFFF < copies, let progress { progress(summary.written) }
            }
            // Retire what the block left resting, so state stays bounded block after block.
            for c in 0..<copies {
                for live in refMap[c].values.sorted(by: { $0.ref < $1.ref }) where summary.written < messages { // ref order: the same file every run
                    let n = m.withUnsafeMutableBufferPointer { cw_itch_put_delete($0.baseAddress, $0.count, live.locate, clock, live.ref) }
                    precondition(n > 0, "ITCH encoder refused a \(m.count)-byte buffer")
                    try m.withUnsafeBytes { b throws in try emit(UnsafeRawBufferPointer(rebasing: b[0..<n])) }
                    summary.retiringDeletes += 1
                }
            }
        }
        try out.flush()
        return summary
    }

    /// Copy `copy`'s name of a source symbol: the symbol itself for copy 0, else its first letters
    /// and the copy number within 8 characters (nil when nothing of the name fits).
    func copyName(_ symbol: Symbol, copy: Int) -> Symbol? {
        guard copy > 0 else { return symbol }
        let digits = String(copy)
        let stem = symbol.description.prefix(8 - digits.count)
        return stem.isEmpty ? nil : Symbol(stem + digits)
    }
}


import CSys
import CWire
import OmniCore

/// Real order flow behind the triggers (`omni sim --background FILE --background-speed X`): the
/// order messages of a real ITCH day file (A F E C X D U P), replayed into the sim's own feed at
/// their recorded spacing divided by `speed`, over and over. Each pass of the file is one
/// "loop": its locates are moved `locateOffset` up (clear of the sim's instruments) and its order
/// references `loop << 40` up (each loop's orders are new ones), and it ends by deleting what the
/// file leaves resting, so the books it builds stay bounded however long the run.
public struct SimBackgroundConfig: Sendable, Equatable {
    public var path: String
    public var speed: Double
    public var locateOffset: UInt16 = 1_000
    public init(path: String, speed: Double) { self.path = path; self.speed = speed }
}

/// Why a background file cannot be used.
public struct SimBackgroundError: Error, CustomStringConvertible {
    public let description: String
}

final class SimBackground {
    let config: SimBackgroundConfig
    /// One loop's messages, ITCH bytes back to back, and each one's (offset, length, due ns after the loop's start).
    let bytes: [UInt8]
    let messages: [(offset: Int, length: Int, dueNs: UInt64)]
    /// One loop's length: the file's span plus one mean gap (ns, before `speed`).
    let loopNs: UInt64
    let clock: csys_clock
    var startTSC: UInt64 = 0
    var loop: UInt64 = 0, next = 0
    /// Messages sent, and loops completed.
    var sent: UInt64 = 0
    var scratch = [UInt8](repeating: 0, count: 64)

    static let kept: Set<UInt8> = Set("AFECXDUP".utf8)

    init(_ config: SimBackgroundConfig) throws {
        guard config.speed > 0, config.speed <= 1_000 else { throw SimBackgroundError(description: "background speed \(config.speed): not in (0, 1000]") }
        let file: [UInt8]
        switch readFileBytes(config.path) {
        case .success(let b): file = b
        case .failure(let e): throw SimBackgroundError(description: "background \(e)")
        }
        var out: [UInt8] = [], list: [(Int, Int, UInt64)] = []
        var resting: [UInt64: Int] = [:] // ref -> shares left, to delete what the file leaves resting
        var order: [UInt64] = []
        var first: UInt64?, last: UInt64 = 0
        var i = 0
        while i + 2 <= file.count {
            let n = Int(file[i]) << 8 | Int(file[i + 1])
            guard n > 0, i + 2 + n <= file.count else {
                throw SimBackgroundError(description: "background \(config.path): a message of \(n) bytes at offset \(i) runs past the end (\(file.count) bytes): not an ITCH day file")
            }
            let m = Array(file[(i + 2)..<(i + 2 + n)])
            i += 2 + n
            guard Self.kept.contains(m[0]), n >= 19, n <= CW_ITCH_MAX_LEN else { continue }
            guard cw_itch_valid(m, n) == 1 else {
                throw SimBackgroundError(description: "background \(config.path): a '\(Character(UnicodeScalar(m[0])))' message of \(n) bytes at offset \(i - n - 2)")
            }
            let ts = m[5..<11].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if first == nil { first = ts }
            last = max(last, ts)
            let ref = m[11..<19].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            func shares(_ at: Int) -> Int { m[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
            switch m[0] {
            case UInt8(ascii: "A"), UInt8(ascii: "F"): resting[ref] = shares(20); order.append(ref)
            case UInt8(ascii: "E"), UInt8(ascii: "C"), UInt8(ascii: "X"): if let s = resting[ref] { resting[ref] = s - shares(19) }
            case UInt8(ascii: "D"): resting[ref] = nil
            case UInt8(ascii: "U"):
                if resting.removeValue(forKey: ref) != nil {
                    let new = m[19..<27].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    resting[new] = shares(27); order.append(new)
                }
            default: break
            }
            list.append((out.count, n, ts &- first!))
            out += m
        }
        guard let first, !list.isEmpty else { throw SimBackgroundError(description: "background \(config.path): no order messages (A F E C X D U P)") }
        let span = last - first
        let gap = list.count > 1 ? span / UInt64(list.count - 1) : 1_000
        // The loop's end: a delete of each order the file leaves resting (its locate from its add).
        var locates: [UInt64: (UInt16, UInt16)] = [:]
        for (o, _, _) in list where out[o] == UInt8(ascii: "A") || out[o] == UInt8(ascii: "F") || out[o] == UInt8(ascii: "U") {
            let refAt = out[o] == UInt8(ascii: "U") ? o + 19 : o + 11
            let ref = out[refAt..<(refAt + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            locates[ref] = (UInt16(out[o + 1]) << 8 | UInt16(out[o + 2]), UInt16(out[o + 3]) << 8 | UInt16(out[o + 4]))
        }
        for ref in order where (resting[ref] ?? 0) > 0 {
            var d = [UInt8](repeating: 0, count: 19)
            d[0] = UInt8(ascii: "D")
            let (locate, tracking) = locates[ref] ?? (0, 0)
            d[1] = UInt8(locate >> 8); d[2] = UInt8(locate & 0xff); d[3] = UInt8(tracking >> 8); d[4] = UInt8(tracking & 0xff)
            for k in 0..<6 { d[5 + k] = UInt8((last >> (40 - 8 * UInt64(k))) & 0xff) }
            for k in 0..<8 { d[11 + k] = UInt8((ref >> (56 - 8 * UInt64(k))) & 0xff) }
            list.append((out.count, 19, span))
            out += d
        }
        bytes = out
        messages = list
        loopNs = span + gap
        self.config = config
        var c = csys_clock()
        _ = csys_clock_init(&c, CSYS_CLOCK_TSC, 20)
        clock = c
    }

    /// Messages per second the replay asks for.
    var rate: Double { Double(messages.count) * 1e9 / Double(loopNs) * config.speed }

    /// Appends every message due by now to `feed` (locates and references moved for its loop);
    /// returns how many.
    func emit(into feed: inout DayFileBuffer) -> Int {
        let now = csys_rdtsc()
        if startTSC == 0 { startTSC = now }
        return emit(dueBy: UInt64(Double(withUnsafePointer(to: clock) { csys_clock_ns($0, now &- startTSC) }) * config.speed), into: &feed)
    }

    /// Appends every message due `elapsedNs` (the file's time, after `speed`) after the first.
    func emit(dueBy elapsedNs: UInt64, into feed: inout DayFileBuffer) -> Int {
        var n = 0
        while true {
            let m = messages[next]
            guard loop &* loopNs &+ m.dueNs <= elapsedNs else { break }
            put(m.offset, m.length, into: &feed)
            n += 1
            next += 1
            if next == messages.count { next = 0; loop &+= 1 }
        }
        sent &+= UInt64(n)
        return n
    }

    func put(_ offset: Int, _ length: Int, into feed: inout DayFileBuffer) {
        scratch.withUnsafeMutableBufferPointer { s in
            bytes.withUnsafeBufferPointer { b in s.baseAddress!.update(from: b.baseAddress! + offset, count: length) }
            let p = s.baseAddress!
            let locate = (UInt16(p[1]) << 8 | UInt16(p[2])) &+ config.locateOffset
            p[1] = UInt8(locate >> 8); p[2] = UInt8(locate & 0xff)
            let shift = loop << 40
            func move(_ at: Int) {
                var ref: UInt64 = 0
                for k in 0..<8 { ref = ref << 8 | UInt64(p[at + k]) }
                guard ref != 0 else { return } // a P for a non-displayed order names none
                ref &+= shift
                for k in 0..<8 { p[at + k] = UInt8((ref >> (56 - 8 * UInt64(k))) & 0xff) }
            }
            move(11)
            if p[0] == UInt8(ascii: "U") { move(19) }
            feed.itch(p, length)
        }
    }
}

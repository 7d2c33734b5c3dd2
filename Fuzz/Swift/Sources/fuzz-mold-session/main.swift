// fuzz-mold-session: hostile MoldUDP64 datagrams into our feed's session layer and the ITCH
// books behind it. No sockets: the input is a script of datagrams on lines A, B and the
// retransmission line, timer polls and operator skips, fed to `MoldSession.receive` /
// `poll` / `skipGap` with a `MoldITCHConsumer` (ITCHReplay into CBook books) behind it:
// header and block checks, session locking, A/B arbitration, reordering, gap table and merge,
// far-jump confirmation, end of session, retransmission requests, retries, lost gaps, skips.
//
// Input: byte 0 picks the session config (bit 0: small buffers — 32 messages / 512 bytes
// reorder, 4 gaps, jumps beyond 1,000 not believed, confirmation past 100; bit 1: late join,
// no first sequence; bit 2: session name OMNIFUZZ01 required, else locked on the first seen).
// Then operations: one byte o; o & 3 = 0, 1, 2: a datagram on line A, B, retransmission,
// its length in the next two bytes (big endian; cut at the end of the input), then its bytes;
// o & 3 = 3: bit 2 set, a `poll` (requests into a 20-request buffer), clear, a `skipGap`.
// Every operation first moves the clock on by (o >> 4) ms (the request timeout is 10 ms).
//
// Invariants after every operation (those of MoldPacketHandlingTests): expected <= highWater;
// buffered messages and bytes within the reorder buffer; openGaps and lostGaps match the gap
// list; missing + buffered == behind; messages delivered in sequence, once, with skipped
// ranges exactly where the sequence jumps; each request written is a whole 20-byte request.
// One ITCHReplay and its books serve 500 inputs (making them costs more than an input).
import CWire
import FuzzSupport
import OmniBook
import OmniFeed
import OmniWire

let harness = "fuzz-mold-session"

struct CheckedConsumer: MoldConsumer {
    var itch: MoldITCHConsumer<NoBBOSink>
    var next: UInt64?
    var delivered: UInt64 = 0

    mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        if let n = next { invariant(sequence == n, harness, "message \(sequence) delivered, \(n) expected") }
        next = sequence + 1
        delivered += 1
        itch.message(bytes, sequence: sequence, lastInPacket: lastInPacket)
    }
    mutating func skipped(_ sequences: Range<UInt64>) {
        if let n = next { invariant(sequences.lowerBound == n, harness, "skipped \(sequences), \(n) expected next") }
        invariant(!sequences.isEmpty, harness, "an empty range skipped: \(sequences)")
        next = sequences.upperBound
        itch.skipped(sequences)
    }
    mutating func stateChanged(to state: MoldSessionState) { itch.stateChanged(to: state) }
}

nonisolated(unsafe) var replay: ITCHReplay?
nonisolated(unsafe) var replayUses = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let sel = data[0]
    var config = MoldSessionConfig(session: sel & 4 != 0 ? "OMNIFUZZ01" : nil)
    if sel & 1 != 0 {
        config.reorderMessages = 32
        config.reorderBytes = 512
        config.maxGaps = 4
        config.maxSequenceJump = 1_000
        config.confirmJump = 100
    }
    if sel & 2 != 0 { config.firstSequence = nil }
    var s = MoldSession(config)
    // Books cost more to make than an input takes (a table for every locate): one serves 500 inputs.
    if replay == nil || replayUses >= 500 {
        replay = nil
        guard let books = try? Books() else { fatalError("\(harness): no books") }
        replay = ITCHReplay(books: books)
        replayUses = 0
    }
    replayUses += 1
    replay!.books.stale = false
    var c = CheckedConsumer(itch: MoldITCHConsumer(replay: replay!, sink: NoBBOSink()), next: config.firstSequence)
    var requests = [UInt8](repeating: 0, count: Int(CW_MOLD_REQUEST_LEN) * 20)
    var now: UInt64 = 1_000_000_000
    var off = 1
    while off < size {
        let o = data[off]
        off += 1
        now += UInt64(o >> 4) * 1_000_000
        switch o & 3 {
        case 3:
            if o & 4 != 0 {
                let n = requests.withUnsafeMutableBytes { s.poll(now: now, requests: $0, into: &c) }
                invariant(n >= 0 && n <= 20, harness, "poll wrote \(n) requests into room for 20")
                for k in 0..<n {
                    var h = cw_mold_header()
                    let ok = requests.withUnsafeBufferPointer { cw_mold_parse_header($0.baseAddress! + k * Int(CW_MOLD_REQUEST_LEN), Int(CW_MOLD_REQUEST_LEN), &h) }
                    invariant(ok == 0 && h.count > 0 && h.count <= config.maxMessagesPerRequest, harness,
                              "request \(k) malformed or asks for \(h.count) messages")
                }
            } else {
                s.skipGap(into: &c)
            }
        default:
            guard off + 2 <= size else { off = size; break }
            let len = min(Int(cw_be16(data + off)), size - off - 2)
            off += 2
            s.receive(UnsafeRawBufferPointer(start: data + off, count: len), line: MoldLine(rawValue: Int(o & 3))!, at: now, into: &c)
            off += len
        }
        invariant(s.expected <= s.highWater, harness, "expected \(s.expected) past the high water \(s.highWater)")
        invariant(s.buffered <= config.reorderMessages && s.bufferedBytes <= config.reorderBytes, harness,
                  "\(s.buffered) messages / \(s.bufferedBytes) bytes held, room for \(config.reorderMessages) / \(config.reorderBytes)")
        let gaps = s.gaps
        invariant(s.openGaps == gaps.count && s.lostGaps == gaps.filter(\.lost).count, harness,
                  "openGaps \(s.openGaps) lostGaps \(s.lostGaps), gap list \(gaps)")
        let missing = gaps.reduce(UInt64(0)) { $0 + $1.missing }
        invariant(missing + UInt64(s.buffered) == s.behind, harness,
                  "missing \(missing) + buffered \(s.buffered) != behind \(s.behind) (expected \(s.expected), high water \(s.highWater))")
        invariant(c.next == nil || c.next! == s.expected, harness, "consumer next \(c.next!) but session expects \(s.expected)")
    }
    invariant(s.counters.delivered == c.delivered, harness, "counters.delivered \(s.counters.delivered), consumer saw \(c.delivered)")
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_mold_session_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

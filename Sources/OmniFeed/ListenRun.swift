import OmniCore
import OmniNet

/// What `omni listen` is given: the lines, the retransmission server, the interface, the session,
/// when to stop and what to print.
public protocol ListenOptions {
    var group: String { get }
    var lineB: String? { get }
    var retransmit: String? { get }
    var interface: String { get }
    var bboCSV: String? { get }
    var untilEnd: Bool { get }
    var requestDelayUs: UInt64? { get }
    var session: String? { get }
    var stats: Bool { get }
}

extension ListenOptions {
    /// The listener's configuration: the interface's address, the retransmission server, the
    /// session to accept, the time a gap is left to the other line.
    public func listenerConfig() throws -> MoldListenerConfig {
        var config = MoldListenerConfig()
        config.localAddress = try interfaceAddress(interface)
        config.retransmit = try retransmit.map { try parseEndpoint($0, option: "--retransmit") }
        if let session { config.session = MoldSessionConfig(session: session) }
        config.session.requestDelay = (requestDelayUs ?? (lineB == nil ? 0 : 1000)) * 1000
        return config
    }

    /// Runs the listener on line A and, if given, line B, each opened by `open`, until the end (`untilEnd`), `deadline` or `stop`.
    public func receive<Sink: BBOSink, B: ReceiveBackend & ~Copyable>(
        _ listener: inout MoldListener<Sink>, _ a: MulticastGroup, _ b: MulticastGroup?, _ deadline: UInt64?, _ stop: () -> Bool,
        open: (MulticastGroup) throws(NetError) -> MulticastReceiver<B>) throws {
        var ra = try open(a)
        if let b {
            var rb = try open(b)
            try listener.run(&ra.backend, &rb.backend, untilEnd: untilEnd, deadlineNs: deadline, stop: stop)
        } else {
            var none = NoReceive(label: a)
            try listener.run(&ra.backend, &none, untilEnd: untilEnd, deadlineNs: deadline, stop: stop)
        }
    }

    /// The summary of a listen: the feed, the books, each line, gaps and recovery, the session's state, latency and rates.
    public func listenSummary<Sink: BBOSink>(_ l: borrowing MoldListener<Sink>, via: String, elapsed: UInt64) -> String {
        let s = l.session
        let c = s.counters
        let replay = l.replay
        var lines: [String] = []
        lines.append("feed        \(group)\(lineB.map { " + \($0)" } ?? "") via \(via) on \(interface)\(retransmit.map { ", retransmission \($0)" } ?? ", no retransmission")")
        lines += bookSummaryLines(replay)
        if let sink = l.consumer.itch.sink as? BBOCSVSink { lines.append("bbo rows    \(grouped(sink.rows)) -> \(bboCSV ?? "")") }
        for (name, line) in [("line A", MoldLine.a), ("line B", MoldLine.b), ("retransmit", MoldLine.retransmission)] {
            if line == .b && lineB == nil { continue }
            let k = s.line(line)
            lines.append("\(name.padding(12))\(grouped(k.packets)) packets, \(grouped(k.messages)) messages, \(grouped(k.duplicates)) duplicates, \(grouped(k.heartbeats)) heartbeats, \(grouped(k.malformed)) malformed, \(grouped(k.wrongSession)) wrong session\(line == .retransmission ? "" : ", \(grouped(k.lineGaps)) jumps in its sequence")")
        }
        lines.append("delivered   \(grouped(c.delivered)) messages; \(grouped(c.duplicates)) duplicates (\(grouped(c.duplicatePackets)) whole packets)")
        lines.append("gaps        \(grouped(c.gapsOpened)) seen: \(grouped(c.gapsFilledByOtherLine)) filled by the other line, \(grouped(c.gapsFilledLate)) filled late, \(grouped(c.gapsFilledByRetransmission)) filled by retransmission, \(grouped(c.gapsLost)) lost (\(grouped(c.gapsRecovered)) recovered later), \(s.openGaps) open at end")
        lines.append("requests    \(grouped(c.requestsSent)) sent (\(grouped(c.retries)) retries)\(l.counters.requestSendErrors > 0 ? ", \(l.counters.requestSendErrors) failed to send" : "")")
        lines.append("malformed   \(grouped(c.malformed)) packets, \(grouped(c.wrongSession)) wrong session, \(grouped(c.implausibleSequence)) implausible sequence, \(grouped(l.counters.truncated)) truncated")
        lines.append("dropped     \(grouped(c.beyondEnd)) messages past the announced end, \(grouped(c.wrongSessionMessages)) of another session (either makes the books stale), \(grouped(c.unconfirmedJumps)) far packets awaiting a second near them")
        let state: String = switch s.state {
        case .live: "live"
        case .gapOpen: "live, gap open (recovering)"
        case .stale: "stale"
        case .finished: "finished"
        }
        lines.append("state       \(state) at end; expected \(s.expected), high water \(s.highWater)\(s.endSequence.map { ", end of session at \($0)" } ?? "")")
        lines.append("books stale \(replay.books.stale ? "yes" : "no")")
        let (v, mx, n) = l.latencyNs(percentiles: [50, 99, 99.9])
        lines.append("latency     receive to book update, \(grouped(n)) messages: p50 \(grouped(v[0])) ns, p99 \(grouped(v[1])) ns, p99.9 \(grouped(v[2])) ns, max \(grouped(mx)) ns")
        let secs = Double(elapsed) / 1e9
        let packets = s.line(.a).packets + s.line(.b).packets + s.line(.retransmission).packets
        let span = Double(l.counters.lastBatchNs - l.counters.firstBatchNs) / 1e9
        lines.append("elapsed     \(fixed(secs * 1000, 3)) ms in all; first to last packet \(fixed(span * 1000, 3)) ms: \(fixed(span > 0 ? Double(packets) / span : 0, 0)) packets/s, \(fixed(span > 0 ? Double(c.delivered) / span / 1e6 : 0, 3)) M msgs/s")
        if stats { lines += bookStatsLines(replay) }
        return lines.joined(separator: "\n")
    }
}


fileprivate extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

import CSys
import OmniCore
import OmniEngine
import OmniFeed
import OmniNet
import OmniVenue

#if canImport(Glibc)
import Glibc
#endif

/// What `omni publish` is given: the day file, the lines and their loss, pacing, the
/// retransmission server, the interface, the session, packet size, linger and the recording.
public protocol PublishOptions {
    var file: String { get }
    var group: String { get }
    var lineB: String? { get }
    var rate: Double { get }
    var realtime: Bool { get }
    var loss: Double { get }
    var lossB: Double { get }
    var seed: UInt64 { get }
    var retransmitPort: UInt16 { get }
    var interface: String { get }
    var session: String { get }
    var maxPacket: Int { get }
    var linger: Double { get }
    var record: String? { get }
}

extension PublishOptions {
    /// `omni publish`: the day file as MoldUDP64 on the lines, paced, with the request server; the summary printed.
    public func publish() throws {
        _ = StopSignals.install()
        let input = try MappedInput(path: file)
        var config = MoldPublisherConfig(lineA: try parseGroup(group, interface: interface, option: "--group"))
        config.lineB = try lineB.map { try parseGroup($0, interface: interface, option: "--line-b") }
        config.session = session
        config.maxPacketBytes = maxPacket
        config.lossA = loss
        config.lossB = lossB
        config.seed = seed
        config.serverAddress = try interfaceAddress(interface)
        config.retransmitPort = retransmitPort == 0 ? nil : retransmitPort
        try withExtendedLifetime(input) {
            var pub = try MoldPublisher(config, input: input.bytes)
            if let record { pub.recorder = try PcapWriter(path: record) }
            var progress = Progress("publish")
            let total = input.bytes.count
            let start = csys_monotonic_ns()
            var lastSend = start
            var firstTimestamp: UInt64?
            var stopped = false
            var packets: UInt64 = 0
            while !pub.finished {
                if StopSignals.received != 0 { stopped = true; break }
                // When the next packet is due: by --rate (messages so far) or by its ITCH timestamp.
                var due = start
                if realtime {
                    if let ts = pub.nextTimestamp {
                        if firstTimestamp == nil { firstTimestamp = ts }
                        due = start + (ts >= firstTimestamp! ? ts - firstTimestamp! : 0)
                    }
                } else {
                    due = start + UInt64(Double(pub.nextSequence - 1) * 1e9 / rate)
                }
                var now = csys_monotonic_ns()
                while now < due {
                    if now - lastSend >= 1_000_000_000 { try pub.sendHeartbeat(); lastSend = now }
                    try pub.serveRequests()
                    if StopSignals.received != 0 { break }
                    let left = due - now
                    if left > 200_000 { try pub.waitForRequests(timeoutNanoseconds: min(left - 100_000, 100_000_000)) }
                    now = csys_monotonic_ns()
                }
                try pub.sendNext()
                lastSend = now
                packets += 1
                if packets & 15 == 0 { try pub.serveRequests() }
                progress.update("\(pub.bytesRead * 100 / max(total, 1))% of \(grouped(UInt64(total))) bytes, \(grouped(pub.nextSequence - 1)) msgs")
            }
            try pub.sendEndOfSession()
            let endAt = csys_monotonic_ns()
            progress.finish()
            let lingerNs = UInt64(linger * 1e9)
            while csys_monotonic_ns() - endAt < lingerNs && StopSignals.received == 0 {
                try pub.waitForRequests(timeoutNanoseconds: 10_000_000)
                try pub.serveRequests()
            }
            try pub.recorder?.flush()
            if let e = pub.recordError { stderrLine("warning: --record stopped: \(e)") }
            printPublishSummary(pub, elapsed: endAt - start, stopped: stopped)
        }
    }

    private func printPublishSummary(_ pub: borrowing MoldPublisher, elapsed: UInt64, stopped: Bool) {
        let c = pub.counters
        let s = pub.server.counters
        var lines: [String] = []
        lines.append("file        \(file)\(stopped ? " (stopped by signal)" : "")")
        lines.append("session     \(session), \(grouped(pub.nextSequence - 1)) messages published, next sequence \(pub.nextSequence)")
        lines.append("line A      \(group): \(grouped(c.packets[0])) packets, \(grouped(c.messages[0])) messages sent, \(grouped(c.dropped[0])) packets dropped on purpose")
        if let lineB {
            lines.append("line B      \(lineB): \(grouped(c.packets[1])) packets, \(grouped(c.messages[1])) messages sent, \(grouped(c.dropped[1])) packets dropped on purpose")
        }
        lines.append("both lost   \(grouped(c.droppedBoth)) packets (only a retransmission brings them)")
        lines.append("control     \(c.heartbeats) heartbeats, \(c.endOfSession) end-of-session packets")
        if let e = pub.retransmitEndpoint {
            lines.append("retransmit  \(e): \(grouped(s.requests)) requests answered with \(grouped(s.packets)) packets / \(grouped(s.messages)) messages; \(s.malformed) malformed, \(s.wrongSession) wrong session, \(s.tooOld) too old, \(s.beyondHighWater) beyond the end")
        } else {
            lines.append("retransmit  off")
        }
        if let r = pub.recorder { lines.append("recorded    \(grouped(r.records)) packets -> \(record ?? "")") }
        let secs = Double(elapsed) / 1e9
        let total = c.packets[0] + c.dropped[0]
        lines.append("elapsed     \(fixed(secs * 1000, 3)) ms, \(fixed(secs > 0 ? Double(pub.nextSequence - 1) / secs / 1e6 : 0, 3)) M msgs/s, \(fixed(secs > 0 ? Double(total) / secs : 0, 0)) packets/s per line")
        print(lines.joined(separator: "\n"))
    }
}

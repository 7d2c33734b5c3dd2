import OmniBench
import CSys
import OmniCore
import OmniVenue
import ArgumentParser
import CNet
import OmniEngine
import OmniFeed
import OmniNet

#if canImport(Glibc)
import Glibc
#endif

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay an ITCH 5.0 day file as MoldUDP64 multicast (line A, optional line B), with deliberate loss and a retransmission server.",
        discussion: """
        Messages are packed into packets of at most --max-packet bytes of UDP payload and sent \
        on the group(s) through --interface (default loopback 127.0.0.1, TTL 1: never the default \
        route). --loss / --loss-b drop packets on purpose, decided per packet per line from --seed. \
        A heartbeat goes out after 1 s without data; the end-of-session packet goes out at the end \
        (a few times). With --retransmit-port the MoldUDP64 request server answers on that unicast \
        port of the interface address, and keeps answering for --linger seconds after the end.

        Example: omni publish day.itch.gz --group 239.1.1.1:30001 --line-b 239.1.1.2:30002 --loss 0.01 --retransmit-port 30100
        """
    )

    @Argument(help: "ITCH 5.0 day file (plain or .gz).") var file: String
    @Option(help: "Line A group, ADDRESS:PORT.") var group: String
    @Option(name: .customLong("line-b"), help: "Line B group, ADDRESS:PORT.") var lineB: String?
    @Option(help: "Messages per second.") var rate: Double = 1_000_000
    @Flag(help: "Pace by the ITCH timestamps instead of --rate.") var realtime = false
    @Option(help: "Probability of dropping a packet on line A.") var loss: Double = 0
    @Option(name: .customLong("loss-b"), help: "Probability of dropping a packet on line B.") var lossB: Double = 0
    @Option(help: "Seed of the loss decisions.") var seed: UInt64 = 1
    @Option(name: .customLong("retransmit-port"), help: "Unicast port of the retransmission server (0: none).") var retransmitPort: UInt16 = 0
    @Option(help: "Interface name or IPv4 address to send through.") var interface: String = "127.0.0.1"
    @Option(help: "Session name (10 characters, space padded).") var session: String = "OMNI000001"
    @Option(name: .customLong("max-packet"), help: "Largest packet (UDP payload bytes).") var maxPacket: Int = 1400
    @Option(help: "Seconds to keep answering requests after the end.") var linger: Double = 2
    @Option(help: "Also write every packet sent to this pcap file.") var record: String?

    func validate() throws {
        for (name, p) in [("--loss", loss), ("--loss-b", lossB)] where !(0...1).contains(p) {
            throw ValidationError("\(name) must be between 0 and 1 (got \(p))")
        }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard maxPacket >= 64 && maxPacket <= 65_000 else { throw ValidationError("--max-packet must be 64...65000") }
        guard linger >= 0 else { throw ValidationError("--linger must not be negative") }
        if lineB == nil && lossB != 0 { throw ValidationError("--loss-b needs --line-b") }
        try running {
            _ = try parseGroup(group, interface: interface, option: "--group")
            if let lineB { _ = try parseGroup(lineB, interface: interface, option: "--line-b") }
        }
    }

    func run() throws { try running { try publish() } }

    private func publish() throws {
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

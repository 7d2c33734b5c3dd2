import ArgumentParser
import OmniLab
import OmniNet

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
}

extension Publish: PublishOptions {}

import ArgumentParser
import OmniNet
import OmniVenue

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the venue simulator: matching engine behind FIX 4.4 and OUCH 4.2, ITCH 5.0 live as MoldUDP64.",
        discussion: """
        With no --config it runs the default venue: AAPL 200.00, MSFT 400.00, SPY 500.00, NVDA 120.00, \
        TSLA 250.00, QQQ 450.00, AMZN 180.00, META 500.00 (tick 0.01, lot 1, price band ±10 %, locates 1-8 \
        in that order); the FIX 4.4 acceptor on 127.0.0.1:9878 with SenderCompID OMNI accepting a Logon \
        from any client CompID (many clients at once, one connection per CompID); SoupBinTCP / OUCH 4.2 \
        on 127.0.0.1:9879 (any user name and password); a session's resting orders canceled when its \
        OUCH connection or FIX session ends; MoldUDP64 session OMNI000001 on line A 239.192.0.1:30001 and line B \
        239.192.0.2:30001, retransmission requests on unicast port 30002 of the interface address; multicast \
        out of loopback (TTL 1) unless --interface names another; and market activity from the order-flow \
        generator (a Cont-Stoikov-Talreja zero-intelligence model: Poisson limit orders at power-law distances \
        from the opposite best, market orders, cancels, some made as quote moves; intensity 1, about 40 ITCH messages/s per instrument; \
        seed 1) on venue session 0, so clients trade against a live book.

        A YAML --config sets instruments (symbol, price, tick, lot, band), generator (intensity, seed, or off), \
        mold (session, line_a, line_b, retransmit_port, interface, max_packet), ouch (port, host), fix (port, \
        host, sender_comp_id, store), cancel_on_disconnect (true / false) and record (a pcap of every MoldUDP64 multicast packet sent, both lines); see OmniSim.SimConfig. \
        Options given here override the file. SIGINT / SIGTERM (or --seconds) end the session: the venue \
        closes (ITCH system events M, E, C), MoldUDP64 end of session goes out, OUCH clients get End of \
        Session, the FIX counterparty a Logout, and a summary is printed.

        Example: omni sim --config venue.yaml --interface eth1 --record sim.pcap
        """
    )

    @Option(help: "YAML venue configuration.") var config: String?
    @Option(name: .customLong("fix-port"), help: "FIX 4.4 acceptor port (default 9878; 0: any free port).") var fixPort: UInt16?
    @Option(name: .customLong("ouch-port"), help: "SoupBinTCP / OUCH 4.2 port (default 9879; 0: any free port).") var ouchPort: UInt16?
    @Option(help: "IPv4 address the FIX and OUCH ports listen on (default 127.0.0.1; 0.0.0.0: every interface).") var host: String?
    @Option(help: "Interface name or IPv4 address the multicast goes out of (default loopback).") var interface: String?
    @Option(help: "Write every MoldUDP64 multicast packet sent (lines A and B) to this pcap file.") var record: String?
    @Option(help: "Stop after this many seconds (default: until SIGINT / SIGTERM).") var seconds: Double?
    @Flag(name: .customLong("busy-poll"), help: "Never sleep between polls (lowest latency; one core at 100 %).") var busyPoll = false
    @Option(help: "Real order flow behind the triggers: an ITCH day file whose order messages (A F E C X D U P) are replayed into the feed over and over, on locates moved 1000 up.") var background: String?
    @Option(name: .customLong("background-speed"), help: "--background at this multiple of its recorded rate.") var backgroundSpeed = 1.0
    @Option(name: .customLong("dpdk-vdev"), help: "Send line A through this DPDK vdev instead of the socket (e.g. net_memif0,role=server,socket=/tmp/omni.memif for a trader's --via dpdk over shared memory); line B and retransmissions stay on sockets.") var dpdkVdev: String?
    @Option(name: .customLong("dpdk-core"), help: "--dpdk-vdev: the core EAL pins the venue's thread to (default: --core, else 0).") var dpdkCore: Int?
    @Option(name: .customLong("so-busy-poll"), help: "SO_BUSY_POLL in µs on the order-entry connections it accepts (default 0: off).") var soBusyPoll: Int?
    @Option(help: "Pin the venue's loop to this core (default: not pinned).") var core: Int?
    @Option(help: "Tick-to-trade triggers per second: the first instrument's best offer walks a ladder of ticks, open loop, and the venue stamps the answer (a buy at the offer less 80 ticks from --trigger-trader, as `omni run --strategy trigger` sends); busy-polls. They start 0.5 s after --trigger-trader logs in; the generator is turned off.") var triggers: Double?
    @Option(name: .customLong("trigger-count"), help: "Triggers in all (default 100000).") var triggerCount = 100_000
    @Option(name: .customLong("trigger-trader"), help: "The OUCH login whose answers count (default OMNIMM, omni run's).") var triggerTrader = "OMNIMM"
    @Option(name: .customLong("trigger-hdr"), help: "At the end, write the triggers' tick-to-trade histogram (HdrHistogram percentile text, ns) to FILE.tick-to-trade.hgrm.") var triggerHdr: String?
    @OptionGroup var log: LogOptions

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        try log.apply()
        try running { try runSim() }
    }
}

extension Sim: SimOptions {
    func feedBypass(_ config: SimConfig) throws -> (any DatagramBypass)? {
        guard let vdev = dpdkVdev else { return nil }
        return try DpdkFeedBypass(vdev: vdev, core: dpdkCore ?? core ?? 0, source: try SimVenue.interfaceAddress(config.interface),
                                  sourcePort: config.retransmitPort ?? config.lineA.port)
    }
}

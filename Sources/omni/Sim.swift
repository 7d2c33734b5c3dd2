import OmniBench
import CSys
import OmniVenue
import ArgumentParser
import OmniEngine
import OmniConfig

#if canImport(Glibc)
import Glibc
#endif

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

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        var c: SimConfig
        do { c = try config.map { try SimConfig(contentsOf: $0) } ?? SimConfig() } catch let e as ConfigError {
            throw ValidationError("\(config ?? ""): \(e)")
        }
        if let fixPort { c.fixPort = fixPort }
        if let ouchPort { c.ouchPort = ouchPort }
        if c.ouchPort != 0 && c.ouchPort == c.fixPort { throw ValidationError("the OUCH and FIX ports are both \(c.fixPort)") }
        if let interface { c.interface = interface }
        if let host {
            var a = in_addr()
            guard inet_pton(AF_INET, host, &a) == 1 else { throw ValidationError("--host \(host): not a dotted IPv4 address") }
            c.fixHost = host
            c.ouchHost = host
        }
        if let record { c.record = record }
        if busyPoll { c.spinNs = UInt64.max }
        _ = StopSignals.install()
        // A parent may hand down a mask with SIGINT blocked (a test runner's thread): take them back.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        let sim: SimVenue
        do { sim = try SimVenue(c) } catch { throw ValidationError("\(error)") }
        var lines = ["omni sim: \(c.instruments.count) instruments (\(c.instruments.prefix(8).map { $0.symbol.description }.joined(separator: " "))\(c.instruments.count > 8 ? " ..." : ""))",
                     "  FIX 4.4     \(c.fixHost):\(sim.fixPort) SenderCompID \(c.fixSenderCompID), any client CompID, store \(sim.fixStore)",
                     "  OUCH 4.2    \(c.ouchHost):\(sim.ouchPort) (SoupBinTCP session \(c.session))",
                     "  sessions    \(c.cancelOnDisconnect ? "orders canceled on disconnect / logout" : "orders kept on disconnect")",
                     "  MoldUDP64   line A \(c.lineA), line B \(c.lineB.map { "\($0)" } ?? "off"), via \(c.interface), retransmission \(sim.retransmitEndpoint.map { "\($0)" } ?? "off")"]
        if let g = c.generator {
            lines.append("  order flow  Cont-Stoikov-Talreja generator, intensity \(g.intensity), seed \(g.seed), session \(SimVenue.generatorSession)")
        }
        if let r = c.record { lines.append("  recording   \(r)") }
        lines.append("Ctrl-C ends the session.")
        print(lines.joined(separator: "\n"))
        fflush(nil)
        let deadline = seconds.map { csys_monotonic_ns() + UInt64($0 * 1e9) }
        sim.run { StopSignals.received != 0 || (deadline.map { csys_monotonic_ns() >= $0 } ?? false) }
        let s = sim.summary
        let why = StopSignals.received != 0 ? "signal \(StopSignals.received)" : "--seconds"
        print("""
        session ended (\(why))
          orders      \(grouped(UInt64(s.ouchOrders))) OUCH, \(grouped(UInt64(s.fixOrders))) FIX, \(grouped(UInt64(s.generatedOrders))) generator operations; clients' \(grouped(UInt64(s.accepted))) accepted, \(grouped(UInt64(s.rejected))) rejected, \(grouped(UInt64(s.canceled))) canceled, \(grouped(UInt64(s.replaced))) replaced
          fills       \(grouped(UInt64(s.executions))) executions, \(grouped(s.sharesTraded)) shares (all sessions)
          clients     \(s.ouchLogins) OUCH logins, \(s.fixLogons) FIX logons\(s.fixLogonsRefused > 0 ? " (\(s.fixLogonsRefused) refused: CompID in use or invalid, HeartBtInt or MsgSeqNum out of range)" : ""), \(s.canceledOnDisconnect) orders canceled on disconnect
          limits      \(s.connectionsRefused) connections refused, \(s.ouchUsersRefused) OUCH logins refused (ouch_users), \(s.slowClientsCut) slow clients cut off, \(s.sessionsReleased) venue sessions given back
          feed        \(grouped(s.itchMessages)) ITCH messages; line A \(grouped(s.packetsA)) packets, line B \(grouped(s.packetsB)) packets, \(s.heartbeats) heartbeats, \(s.endOfSession) end-of-session
          retransmit  \(grouped(s.retransmitRequests)) requests, \(grouped(s.retransmitPackets)) packets
        """)
        if s.recordedPackets > 0 { print("  recorded    \(grouped(s.recordedPackets)) packets -> \(c.record ?? "")") }
        if s.feedSendErrors > 0 { stderrLine("warning: \(s.feedSendErrors) MoldUDP64 send errors (last: \(sim.lastFeedError.map { "\($0)" } ?? "-"))") }
        if s.feedOverflow > 0 { stderrLine("warning: \(s.feedOverflow) ITCH messages did not fit the feed buffer") }
    }
}

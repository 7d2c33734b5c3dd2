import OmniBench
import CSys
import OmniVenue
import ArgumentParser
import Histogram
import OmniEngine
import OmniConfig
import OmniCore

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
    @Option(help: "Pin the venue's loop to this core (default: not pinned).") var core: Int?
    @Option(help: "Tick-to-trade triggers per second: the first instrument's best offer walks a ladder of ticks, open loop, and the venue stamps the answer (a buy at the offer less 80 ticks from --trigger-trader, as `omni run --strategy trigger` sends); busy-polls. They start 0.5 s after --trigger-trader logs in; the generator is turned off.") var triggers: Double?
    @Option(name: .customLong("trigger-count"), help: "Triggers in all (default 100000).") var triggerCount = 100_000
    @Option(name: .customLong("trigger-trader"), help: "The OUCH login whose answers count (default OMNIMM, omni run's).") var triggerTrader = "OMNIMM"
    @Option(name: .customLong("trigger-hdr"), help: "At the end, write the triggers' tick-to-trade histogram (HdrHistogram percentile text, ns) to FILE.tick-to-trade.hgrm.") var triggerHdr: String?

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
        if let triggers {
            guard triggers > 0, triggers <= 10_000_000, triggerCount > 0 else { throw ValidationError("--triggers must be above 0 and at most 10000000, --trigger-count positive") }
            var t = SimTriggerConfig(rate: triggers, count: triggerCount)
            t.trader = triggerTrader
            c.triggers = t
            c.generator = nil // nothing but the triggers moves the book
        }
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
        if let t = c.triggers {
            lines.append("  triggers    \(grouped(UInt64(t.count))) at \(fixed(t.rate, 0))/s on \(c.instruments[t.instrument].symbol)'s best offer, answers from \(t.trader); busy-polling")
        }
        lines.append("Ctrl-C ends the session.")
        print(lines.joined(separator: "\n"))
        fflush(nil)
        if let core, csys_pin_to_core(Int32(core)) != 0 { throw ValidationError("--core \(core): cannot pin the venue's loop there") }
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
        if let r = sim.triggerReport { try printTriggers(r) }
    }

    /// The venue's tick-to-trade: from each trigger's scheduled time to the venue's loop reading
    /// the order that answers it (one TSC, the venue's thread), and the venue's own send lag.
    func printTriggers(_ r: SimTriggerReport) throws {
        func line(_ h: Histogram<UInt64>) -> String {
            h.totalCount == 0 ? "none" : "p50 \(grouped(h.valueAtPercentile(50))) ns, p90 \(grouped(h.valueAtPercentile(90))), p99 \(grouped(h.valueAtPercentile(99))), p99.9 \(grouped(h.valueAtPercentile(99.9))), max \(grouped(h.max)) (n \(grouped(h.totalCount)))"
        }
        print("  triggers    \(grouped(UInt64(r.sent))) sent, \(grouped(UInt64(r.answered))) answered, \(grouped(UInt64(r.unanswered))) unanswered, \(grouped(UInt64(r.strayAnswers))) answers matching no trigger")
        print("  tick-to-trade  \(line(r.tickToTrade)): trigger due (its scheduled time) -> the venue reads the answering order")
        print("  send lag       \(line(r.sendLag)): trigger due -> its packet handed to the socket")
        if let f = triggerHdr, r.tickToTrade.totalCount > 0 {
            let curve = LatencyCurve(name: "tick-to-trade", label: "tick-to-trade (\(r.tickToTrade.totalCount))", color: "#1f77b4", dashed: false, histogram: r.tickToTrade)
            for path in try writeHistograms([curve], to: f) { print("  histogram   \(path)") }
        }
    }
}

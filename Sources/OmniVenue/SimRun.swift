import CSys
import Histogram
import Logging
import OmniConfig
import OmniCore
import OmniNet
import OmniEngine

#if canImport(Glibc)
import Glibc
#endif

/// What `omni sim` is given: the configuration file and the command line's overrides of it,
/// the run's length and core, and the tick-to-trade triggers.
public protocol SimOptions {
    var config: String? { get }
    var fixPort: UInt16? { get }
    var ouchPort: UInt16? { get }
    var host: String? { get }
    var interface: String? { get }
    var record: String? { get }
    var seconds: Double? { get }
    var busyPoll: Bool { get }
    var soBusyPoll: Int? { get }
    var core: Int? { get }
    var triggers: Double? { get }
    var triggerCount: Int { get }
    var triggerTrader: String { get }
    var triggerHdr: String? { get }
    var background: String? { get }
    var backgroundSpeed: Double { get }
    /// Line A's way out other than the socket (omni's DPDK port), opened once the configuration is known; nil: the socket.
    func feedBypass(_ config: SimConfig) throws -> (any DatagramBypass)?
}

extension SimOptions {
    /// `omni sim`: the venue from the configuration and overrides, run until a signal or `seconds`; the summary printed.
    public func runSim() throws {
        var c: SimConfig
        do { c = try config.map { try SimConfig(contentsOf: $0) } ?? SimConfig() } catch let e as ConfigError {
            throw CommandError.refused("\(config ?? ""): \(e)")
        }
        if let fixPort { c.fixPort = fixPort }
        if let ouchPort { c.ouchPort = ouchPort }
        if c.ouchPort != 0 && c.ouchPort == c.fixPort { throw CommandError.refused("the OUCH and FIX ports are both \(c.fixPort)") }
        if let interface { c.interface = interface }
        if let host {
            var a = in_addr()
            guard inet_pton(AF_INET, host, &a) == 1 else { throw CommandError.refused("--host \(host): not a dotted IPv4 address") }
            c.fixHost = host
            c.ouchHost = host
        }
        if let record { c.record = record }
        if busyPoll { c.spinNs = UInt64.max }
        if let background {
            guard backgroundSpeed > 0, backgroundSpeed <= 1_000 else { throw CommandError.refused("--background-speed \(backgroundSpeed): not above 0 and at most 1000") }
            c.background = SimBackgroundConfig(path: background, speed: backgroundSpeed)
        }
        if let soBusyPoll {
            guard (0...1_000_000).contains(soBusyPoll) else { throw CommandError.refused("--so-busy-poll: \(soBusyPoll) is not 0 to 1000000 µs") }
            c.busyPollMicroseconds = soBusyPoll
        }
        if let triggers {
            guard triggers > 0, triggers <= 10_000_000, triggerCount > 0 else { throw CommandError.refused("--triggers must be above 0 and at most 10000000, --trigger-count positive") }
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
        let bypass = try feedBypass(c)
        do { sim = try SimVenue(c, feedBypass: bypass) } catch { throw CommandError.refused("\(error)") }
        var lines = ["omni sim: \(c.instruments.count) instruments (\(c.instruments.prefix(8).map { $0.symbol.description }.joined(separator: " "))\(c.instruments.count > 8 ? " ..." : ""))",
                     "  FIX 4.4     \(c.fixHost):\(sim.fixPort) SenderCompID \(c.fixSenderCompID), any client CompID, store \(sim.fixStore)",
                     "  OUCH 4.2    \(c.ouchHost):\(sim.ouchPort) (SoupBinTCP session \(c.session))",
                     "  sessions    \(c.cancelOnDisconnect ? "orders canceled on disconnect / logout" : "orders kept on disconnect")",
                     "  MoldUDP64   line A \(c.lineA)\(bypass.map { " through \($0.label)" } ?? ""), line B \(c.lineB.map { "\($0)" } ?? "off"), via \(c.interface), retransmission \(sim.retransmitEndpoint.map { "\($0)" } ?? "off")"]
        if let g = c.generator {
            lines.append("  order flow  Cont-Stoikov-Talreja generator, intensity \(g.intensity), seed \(g.seed), session \(SimVenue.generatorSession)")
        }
        if let r = c.record { lines.append("  recording   \(r)") }
        if let t = c.triggers {
            lines.append("  triggers    \(grouped(UInt64(t.count))) at \(fixed(t.rate, 0))/s on \(c.instruments[t.instrument].symbol)'s best offer, answers from \(t.trader); busy-polling")
        }
        if let b = c.background {
            lines.append("  background  \(b.path) replayed at \(fixed(b.speed, 1))× its recorded spacing (\(grouped(UInt64(sim.backgroundReport?.rate ?? 0))) msgs/s), locates moved up \(b.locateOffset)")
        }
        lines.append("Ctrl-C ends the session.")
        print(lines.joined(separator: "\n"))
        fflush(nil)
        if let core, csys_pin_to_core(Int32(core)) != 0 { throw CommandError.refused("--core \(core): cannot pin the venue's loop there") }
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
        if let b = sim.backgroundReport { print("  background  \(grouped(b.sent)) messages replayed, \(grouped(b.loops)) passes of the file") }
        if s.recordedPackets > 0 { print("  recorded    \(grouped(s.recordedPackets)) packets -> \(c.record ?? "")") }
        if s.feedSendErrors > 0 {
            sim.log.warning("\(s.feedSendErrors) MoldUDP64 send errors (last: \(sim.lastFeedError.map { "\($0)" } ?? "-"))", metadata: ["send_errors": "\(s.feedSendErrors)"])
        }
        if s.feedOverflow > 0 { sim.log.warning("\(s.feedOverflow) ITCH messages did not fit the feed buffer", metadata: ["overflow": "\(s.feedOverflow)"]) }
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

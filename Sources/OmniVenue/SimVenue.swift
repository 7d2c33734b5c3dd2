import OmniWire
import OmniConfig
import CNet
import CSys
import CWire
import Glibc
import Logging
import OmniCore
import OmniEngine
import OmniNet
import Synchronization

/// Why the sim could not start.
public struct SimStartError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

/// What the sim did, for the summary line and tests.
public struct SimSummary: Sendable, Equatable {
    public var ouchOrders = 0, fixOrders = 0
    /// Clients' orders (OUCH and FIX) only.
    public var accepted = 0, rejected = 0, canceled = 0, replaced = 0
    /// Every trade in the venue, the generator's own included.
    public var executions = 0
    public var sharesTraded: UInt64 = 0
    /// Requests that named an order the session does not have (ignored, as OUCH says, or CancelRejected).
    public var unknownOrderRequests = 0
    public var duplicateTokens = 0
    public var ouchLogins = 0, fixLogons = 0
    /// FIX Logons refused because the CompID was logged on on another connection.
    public var fixLogonsRefused = 0
    /// Orders canceled because their session logged out or disconnected (`cancelOnDisconnect`).
    public var canceledOnDisconnect = 0
    /// Venue operations the order-flow generator made (submits and cancels).
    public var generatedOrders = 0
    public var itchMessages: UInt64 = 0
    public var feedOverflow: UInt64 = 0
    public var packetsA: UInt64 = 0, packetsB: UInt64 = 0, heartbeats: UInt64 = 0, endOfSession: UInt64 = 0
    public var retransmitRequests: UInt64 = 0, retransmitPackets: UInt64 = 0
    public var feedSendErrors = 0
    /// FIX reports for a counterparty not logged on at the time, kept in its store: it gets them
    /// by ResendRequest after its next Logon (unless that Logon resets the sequence numbers).
    public var fixStoredForResend = 0
    /// FIX reports that could not be sent nor stored (no store for the CompID, or too large).
    public var fixUndeliverable = 0
    /// Venue sessions given back: their client left and none of their orders was live.
    public var sessionsReleased = 0
    /// Connections closed on accept (limits.connections, or no descriptor left), both ports.
    public var connectionsRefused = 0
    /// Clients cut off for not reading: past limits.output_queue (FIX) or behind the OUCH log.
    public var slowClientsCut = 0
    /// OUCH logins refused because limits.ouch_users names already have a log.
    public var ouchUsersRefused = 0
    public var recordedPackets: UInt64 = 0
    public init() {}
}

/// The venue's own record of what it executed for one client in one instrument: the figures a
/// client's positions and PnL are reconciled against (shares, and money in ITCH price units ×
/// shares, 1/10000 dollar).
public struct ClientExecutions: Sendable, Equatable {
    public var executions = 0
    public var boughtShares: UInt64 = 0, soldShares: UInt64 = 0
    public var boughtNotional: Int128 = 0, soldNotional: Int128 = 0
    public init() {}
    /// Shares held: bought minus sold.
    public var position: Int64 { Int64(boughtShares) - Int64(soldShares) }
    /// What trading paid in and out: sold minus bought notional.
    public var cashFlow: Int128 { soldNotional - boughtNotional }
}

/// `omni sim`: the matching engine (OmniVenue) behind OUCH 4.2 over SoupBinTCP and FIX 4.4,
/// its ITCH 5.0 output streamed live as MoldUDP64 on lines A / B with a retransmission server.
///
/// One thread does everything (`run`, or the thread `start` makes): it polls the order-entry
/// sockets, feeds each request to the venue with the venue clock set from the wall clock
/// (ns since midnight, UTC), answers from the venue's events on the session that owns each
/// order, and publishes the ITCH the call produced before it takes the next request.
///
/// Sessions: each OUCH user name is one venue session (kept across reconnects), each FIX
/// client CompID another (many FIX clients at once, one connection per CompID); session 0 is
/// the order-flow generator's. With `config.cancelOnDisconnect` (the default, as NASDAQ's OUCH
/// ports) a session's resting orders are canceled when its OUCH connection or FIX session ends
/// (OUCH: the Canceled messages wait in the user's stream for its next login).
///
/// The loop: one poll(2) over the OUCH listener and clients, the FIX listener and sessions, the
/// MoldUDP64 retransmission socket and a wake-up pipe (`requestStop`). While requests flow
/// (for `config.spinNs` after the last one) it polls without waiting; when idle it blocks
/// until a socket is ready or the next timer (SoupBinTCP / FIX / MoldUDP64 heartbeats, client
/// timeouts) falls due, at most `maxIdleWaitMs` (the `run` stop condition is a closure it must
/// call now and then).
public final class SimVenue: @unchecked Sendable {
    public let config: SimConfig
    var venue: Venue<SimEvents, DayFileBuffer>!
    var mold: MoldStreamPublisher
    let soup: SoupServer
    var ouchApp: OuchServer<SimOuchEntry>?
    var fixAcceptor: FixAcceptor<FixVenueApplication<SimFixEntry>>?
    public let ouchPort: UInt16
    /// The FIX stores' directory (the configured one, or the default for the port).
    public let fixStore: String
    public var retransmitEndpoint: IPv4Endpoint? { mold.retransmitEndpoint }

    var table: SimOrderTable
    var owners: [SimSessionOwner]
    var ouchSessions: [Int: SessionID] = [:]
    var fixSessions: [String: SessionID] = [:]
    var stockLocates: [UInt64: Locate] = [:]
    var symbolLocates: [String: Locate] = [:]
    var pending: Pending = .none
    var lastReject: RejectReason?
    var execSeq: UInt64 = 0
    var lastClock: UInt64 = 0
    var lastActivityNs: UInt64 = 0
    var counters = SimSummary()
    /// The sessions' log lines (logins, logouts, disconnects: rare events, logged from the sim's thread as they happen).
    let log = Logger(label: "omni.sim")
    /// Executions per client (OUCH login name or FIX CompID) and instrument; read it once the sim stopped.
    var executionsByClient: [String: [Locate: ClientExecutions]] = [:]
    /// New orders received per client (OUCH Enter Order, FIX NewOrderSingle), accepted or not.
    var ordersByClient: [String: Int] = [:]
    public private(set) var lastFeedError: NetError?
    public private(set) var finished = false

    private let stopFlag = Atomic<Bool>(false)
    private var thread: PinnedThread?
    /// The one poll set of the loop, refilled each pass (no allocation once it is big enough).
    let pollSet = PollSet(capacity: 64)
    /// The MoldUDP64 retransmission server's socket (-1: none).
    var requestFd: Int32 = -1
    /// A pipe `requestStop` writes to, to wake a loop that sleeps in poll (read end polled).
    let wakeFd: Int32
    let wakeWriteFd: Int32
    /// When the feed last sent a packet (for the MoldUDP64 heartbeat timer).
    var feedSentNs: UInt64 = 0
    /// Set once `finish` begins: no cancel-on-disconnect after the close.
    var ending = false
    /// Longest sleep in one poll when idle: bounds how late the `run` stop condition is seen.
    public static let maxIdleWaitMs: Int32 = 100
    /// Loop passes so far (each is one poll(2)).
    public private(set) var passes = 0

    /// The session the order-flow generator enters orders on.
    public static let generatorSession: SessionID = 0
    /// Market activity of its own (Cont-Stoikov-Talreja flow), when the config asks for it.
    var generator: OrderFlowGenerator?
    /// Tick-to-trade triggers, when the config asks for them.
    var triggers: SimTriggers?
    /// What the triggers measured (read after `stop`); nil without triggers.
    public var triggerReport: SimTriggerReport? { triggers?.report }
    /// Real order flow replayed behind the triggers, when the config asks for it.
    var background: SimBackground?
    /// The background's messages sent, loops of its file completed, and the rate it asks for (msgs/s); nil without one.
    public var backgroundReport: (sent: UInt64, loops: UInt64, rate: Double)? { background.map { ($0.sent, $0.loop, $0.rate) } }

    enum Pending {
        case none
        case ouchReplace(previous: cw_ouch_token)
        case ouchReduce(decrement: UInt32)
        case ouchModify
        case fixCancel(clOrdID: FixString, orig: FixString)
        case fixReplace(clOrdID: FixString, orig: FixString)
    }

    /// Opens every socket (OUCH, FIX, both multicast lines, the retransmission server), opens
    /// the venue (start-of-day ITCH goes out at once). Throws if a port cannot be had.
    /// `feedBypass`: line A's packets go out through it (a DPDK port) instead of the socket.
    public init(_ config: SimConfig, feedBypass: (any DatagramBypass)? = nil) throws {
        self.config = config
        var pipeFds: [Int32] = [-1, -1]
        if pipe(&pipeFds) == 0 {
            for fd in pipeFds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        } else {
            pipeFds = [-1, -1]
        }
        wakeFd = pipeFds[0]
        wakeWriteFd = pipeFds[1]
        var pc = MoldPublisherConfig(lineA: MulticastGroup(config.lineA.address, port: config.lineA.port, interface: config.interface))
        pc.lineB = config.lineB.map { MulticastGroup($0.address, port: $0.port, interface: config.interface) }
        pc.session = config.session
        pc.maxPacketBytes = config.maxPacketBytes
        pc.retransmitPort = config.retransmitPort
        pc.serverAddress = try Self.interfaceAddress(config.interface)
        do { mold = try MoldStreamPublisher(pc) } catch { throw SimStartError("MoldUDP64 publisher on \(config.interface): \(error)") }
        mold.downstream.bypassA = feedBypass
        if let path = config.record {
            do { mold.downstream.recorder = try PcapWriter(path: path) } catch { throw SimStartError("record \(path): \(error)") }
        }
        var sc = SoupServerConfig()
        sc.host = config.ouchHost
        sc.port = config.ouchPort
        sc.sessionName = config.session
        sc.pollTimeoutMs = 0
        sc.maxConnections = config.maxConnections
        sc.maxUsers = config.maxOuchUsers
        sc.sendBuffer = config.maxOutputQueueBytes
        sc.busyPollMicroseconds = config.busyPollMicroseconds
        do { soup = try SoupServer(sc) } catch { throw SimStartError("OUCH (SoupBinTCP) \(config.ouchHost):\(config.ouchPort): \(error)") }
        ouchPort = soup.port
        fixStore = try Self.storeDirectory(config)
        let fc = FixSessionConfig(senderCompID: config.fixSenderCompID, targetCompID: nil, storeDirectory: fixStore,
                                  maxPendingBytes: config.maxOutputQueueBytes)
        owners = [SimSessionOwner](repeating: .free, count: max(config.venue.maxSessions, 2))
        table = SimOrderTable(capacity: 1 << 14, sessions: owners.count)
        owners[Int(Self.generatorSession)] = .generator
        for s in config.instruments {
            stockLocates[Self.stockWord(s.symbol)] = s.locate
            symbolLocates[s.symbol.description] = s.locate
        }
        var venueConfig = config.venue
        if let g = config.generator {
            let flow = OrderFlowGenerator(instruments: config.instruments, model: .quoting, intensity: g.intensity, seed: g.seed, session: Self.generatorSession)
            venueConfig.unlimitedSession = Int(Self.generatorSession)  // its Poisson bursts must not hit the per-session rate limit
            venueConfig.maxOrders = max(venueConfig.maxOrders, flow.capacity + (1 << 16))
            generator = flow
        }
        if let t = config.triggers {
            guard t.instrument >= 0, t.instrument < config.instruments.count, t.rate > 0, t.count > 0 else {
                throw SimStartError("triggers: instrument \(t.instrument) of \(config.instruments.count), rate \(t.rate), count \(t.count): out of range")
            }
            triggers = SimTriggers(t, instrument: config.instruments[t.instrument])
        }
        if let b = config.background {
            do { background = try SimBackground(b) } catch { throw SimStartError("\(error)") }
        }
        venue = Venue(instruments: config.instruments, config: venueConfig,
                      events: SimEvents(sim: self), feed: DayFileBuffer(capacity: 64 << 20))
        ouchApp = OuchServer(handler: SimOuchEntry(self))
        let acceptor: FixAcceptor<FixVenueApplication<SimFixEntry>>
        do { acceptor = try FixAcceptor(host: config.fixHost, port: config.fixPort, config: fc, app: FixVenueApplication(venue: SimFixEntry(self))) } catch {
            throw SimStartError("FIX port: \(error)")
        }
        acceptor.keepHistory = false
        acceptor.maxConnections = config.maxConnections
        acceptor.listener.busyPollMicroseconds = config.busyPollMicroseconds
        fixAcceptor = acceptor
        fixPortStorage = acceptor.port
        requestFd = mold.downstream.requestDescriptor ?? -1
        venue.now = clock()
        venue.open()
        feedSentNs = csys_monotonic_ns()
        publishFeed()
    }
    private var fixPortStorage: UInt16 = 0
    /// The FIX acceptor's port (the configured one, or the ephemeral one given).
    public var fixPort: UInt16 { fixPortStorage }

    /// A sim dropped without `stop()` / `finish()` still ends its session.
    deinit {
        stop()
        finish(graceMs: 0)
        if wakeFd >= 0 { close(wakeFd); close(wakeWriteFd) }
        venue?.feed.deallocate() // the venue's ITCH buffer is the sim's to free (64 MiB each); nil if init threw
    }

    // MARK: running

    /// One pass of the loop: one poll over every socket (waiting up to `timeoutMs`), then OUCH
    /// requests (answered and sent), FIX requests (reports written at once), order flow, a second
    /// OUCH send step for what FIX and the order flow sequenced for OUCH users (fills of resting
    /// OUCH orders), retransmission requests, feed heartbeat.
    public func step(timeoutMs: Int32) {
        guard !finished, let ouchApp, let fix = fixAcceptor else { return }
        let set = pollSet
        set.reset()
        fix.register(in: set)
        soup.register(in: set)
        let request = requestFd >= 0 ? set.add(requestFd, events: Int16(POLLIN)) : -1
        let wake = wakeFd >= 0 ? set.add(wakeFd, events: Int16(POLLIN)) : -1
        set.wait(timeoutMs: timeoutMs)
        passes &+= 1
        let now = csys_monotonic_ns()
        soup.handle(ouchApp, in: set, now: now)
        fix.handle(in: set)
        let generated = generateOrderFlow(until: clock())
        if generated > 0 { counters.generatedOrders += generated; publishFeed() }
        if let b = background, b.emit(into: &venue.feed) > 0 { publishFeed() }
        fireTrigger()
        if soup.unsent { soup.service(ouchApp, now) }
        if wake >= 0 && set.revents(at: wake) != 0 { var v: UInt64 = 0; while read(wakeFd, &v, 8) > 0 {} }
        do {
            if request < 0 || set.revents(at: request) != 0 {
                counters.retransmitRequests += UInt64(try mold.serveRequests())
            }
            if try mold.idle(now: now) { feedSentNs = now }
        } catch {
            counters.feedSendErrors += 1
            lastFeedError = error
        }
    }

    /// How long an idle loop may sleep in poll: until the next timer of the OUCH server, the
    /// FIX sessions, the feed heartbeat or the order-flow generator's next event, at most
    /// `maxIdleWaitMs` (sockets, the retransmission server's included, wake the poll themselves).
    func idleWaitMs(now: UInt64) -> Int32 {
        var due = min(soup.nextTimerNs(), fixAcceptor?.nextTimerNs() ?? .max)
        if !mold.ended { due = min(due, feedSentNs &+ mold.heartbeatIntervalNs) }
        if let next = generator?.nextEventNs, next != .max {
            let venueNow = clock() // the generator runs on the venue clock (ns since midnight)
            due = min(due, next > venueNow ? now &+ (next - venueNow) : now)
        }
        return pollTimeoutMs(until: due, now: now, capMs: Self.maxIdleWaitMs)
    }

    /// The trigger due now, if any: the venue replaces the sim's offer on the generator's
    /// session and the ITCH goes out at once.
    func fireTrigger() {
        guard let t = triggers else { return }
        _ = t.fire(submit: { price in
            venue.now = clock()
            return venue.submit(session: Self.generatorSession, order: NewOrder(locate: t.locate, side: .ask, price: price, quantity: 100))
        }, replace: { order, price in
            venue.now = clock()
            return venue.replace(session: Self.generatorSession, order: order, price: price, quantity: 100)
        }, publish: publishFeed)
    }

    /// The generator's events due by `untilNs`, entered on `generatorSession` (none without `config.generator`).
    /// Its first call lists every book around the reference price at the venue's current time.
    func generateOrderFlow(until untilNs: UInt64) -> Int {
        guard generator != nil else { return 0 }
        return generator!.run(until: untilNs, on: venue)
    }

    /// Runs passes until `stop()` returns true, then ends the session (`finish`). Spins while
    /// traffic flows (config.spinNs after the last request), else sleeps in the one poll until a
    /// socket is ready or a timer is due (`stop()` is asked at least every `maxIdleWaitMs`).
    public func run(until stop: () -> Bool) {
        var passes = 0
        while !finished {
            let now = csys_monotonic_ns()
            let idle = config.spinNs != UInt64.max && triggers == nil && background == nil && csys_elapsed_ns(now, lastActivityNs) > config.spinNs
            step(timeoutMs: idle ? idleWaitMs(now: now) : 0)
            passes &+= 1
            if idle || passes & 255 == 0 { if stop() { break } }
        }
        finish()
    }

    /// Runs the loop on a thread of its own until `stop()`.
    public func start() {
        precondition(thread == nil, "the sim runs once")
        do { thread = try PinnedThread(name: "omni-sim") { [self] _ in run { stopFlag.load(ordering: .acquiring) } } } catch {
            preconditionFailure("\(error)") // a sim that cannot get its one thread cannot run at all
        }
    }

    /// Asks the loop thread to end the session and returns at once (clients can then take
    /// their End of Session / Logout while the loop drains); `stop()` waits for it.
    public func requestStop() {
        stopFlag.store(true, ordering: .releasing)
        var one: UInt8 = 1
        if wakeWriteFd >= 0 { _ = write(wakeWriteFd, &one, 1) }
    }

    /// Asks the loop thread to end the session and waits for it.
    public func stop() {
        requestStop()
        thread?.join()
        thread = nil
    }

    /// End of session: the venue closes (ITCH S M, E, C), the MoldUDP64 end-of-session packet
    /// goes out, OUCH clients get End of Session, the FIX counterparty a Logout; waits up to
    /// `graceMs` for them to drain, answering retransmission requests meanwhile. Idempotent.
    public func finish(graceMs: UInt64 = 500) {
        guard !finished, let ouchApp, let fix = fixAcceptor else { return }
        ending = true
        triggers?.close()
        venue.now = clock()
        venue.close()
        publishFeed()
        do { try mold.endSession() } catch { counters.feedSendErrors += 1; lastFeedError = error }
        soup.endSession()
        fix.logoutAll("end of session")
        let deadline = csys_monotonic_ns() + graceMs * 1_000_000
        let set = pollSet
        while csys_monotonic_ns() < deadline {
            set.reset()
            fix.register(in: set)
            soup.register(in: set)
            if requestFd >= 0 { set.add(requestFd, events: Int16(POLLIN)) }
            set.wait(timeoutMs: 1)
            fix.handle(in: set)
            soup.handle(ouchApp, in: set, now: csys_monotonic_ns())
            _ = try? mold.serveRequests()
            if soup.connectedClients == 0 && fix.connections.isEmpty { break }
        }
        fix.disconnectAll("end of session")
        try? mold.downstream.recorder?.flush()
        counters = summary
        finished = true
        self.ouchApp = nil
        fixAcceptor = nil
    }

    /// Counters so far (read on the loop thread, or after `stop()`).
    public var summary: SimSummary {
        var s = counters
        if !finished {
            s.ouchLogins = soup.loginsAccepted
            s.fixLogons = fixAcceptor?.logons ?? 0
            s.fixLogonsRefused = fixAcceptor?.refusedLogons ?? 0
            s.connectionsRefused = soup.connectionsRefused + (fixAcceptor?.refusedConnections ?? 0)
            s.slowClientsCut = soup.laggedClients + (fixAcceptor?.slowClientDisconnects ?? 0)
            s.ouchUsersRefused = soup.usersRefused
        }
        s.itchMessages = venue.feed.messages
        s.feedOverflow = venue.feed.overflowed
        let c = mold.downstream.counters
        s.packetsA = c.packets[0]
        s.packetsB = c.packets[1]
        s.heartbeats = c.heartbeats
        s.endOfSession = c.endOfSession
        s.retransmitPackets = mold.downstream.server.counters.packets
        s.recordedPackets = mold.downstream.recorder?.records ?? 0
        return s
    }

    /// MoldUDP64 messages published so far (the next sequence number minus one).
    public var publishedMessages: UInt64 { mold.nextSequence - 1 }

    /// The venue's book of one instrument (after `stop()`, or on the loop thread).
    public func depth(_ locate: Locate, _ side: Side) -> [VenueLevel] { venue.book(locate)?.depth(side) ?? [] }
    public var liveOrders: Int { venue.liveOrders }
    /// The venue's record of `client`'s executions (OUCH login name or FIX SenderCompID) by
    /// instrument locate; read after `stop` (the sim's thread writes it while it runs).
    public func executions(of client: String) -> [Locate: ClientExecutions] { executionsByClient[client] ?? [:] }
    /// How many new orders `client` sent that reached the venue; read after `stop`.
    public func ordersReceived(from client: String) -> Int { ordersByClient[client] ?? 0 }
    public var instruments: [InstrumentSpec] { config.instruments }

    // MARK: plumbing

    /// The venue clock: ns since midnight UTC from the wall clock, never going back.
    @inline(__always) func clock() -> UInt64 {
        let now = csys_ns_since_midnight_utc()
        if now > lastClock { lastClock = now }
        return lastClock
    }

    /// Sends what the last venue call put into the feed buffer, then empties it.
    @inline(__always) func publishFeed() {
        guard venue.feed.count > 0 else { return }
        do { if try mold.publish(venue.feed.bytes) > 0 { feedSentNs = csys_monotonic_ns() } } catch { counters.feedSendErrors += 1; lastFeedError = error }
        venue.feed.reset()
    }

    /// The UDP socket of this process bound to `port` (found once, at start, by walking
    /// /proc/self/fd): the MoldUDP64 retransmission server's, which OmniMoldNet does not expose.
    /// -1 when none is found; the loop then serves requests on every pass and never sleeps
    /// longer than 1 ms.
    static func stockWord(_ s: Symbol) -> UInt64 { s.word }

    public static func interfaceAddress(_ nameOrAddress: String) throws -> String {
        var i = cn_interface()
        let rc = cn_interface_resolve(nameOrAddress, &i)
        guard rc == 0 else { throw SimStartError("interface \(nameOrAddress): \(String(cString: cn_strerror(rc)))") }
        let a = UInt32(bigEndian: i.address.s_addr)
        return "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)"
    }

    /// The FIX store directory, made if missing; refused unless it is a writable directory
    /// (a regular file there closed every Logon unanswered).
    static func storeDirectory(_ config: SimConfig) throws -> String {
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = config.fixStore ?? "\(tmp)/omni-sim-fix-\(config.fixPort != 0 ? "\(config.fixPort)" : "pid\(getpid())")"
        if let problem = FixFileStore.prepareDirectory(path) { throw SimStartError("fix.store \(path): \(problem)") }
        return path
    }
}

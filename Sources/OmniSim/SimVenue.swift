import CNet
import CSys
import CWire
import Glibc
import OmniCore
import OmniFeed
import OmniGateway
import OmniMoldNet
import OmniNet
import OmniVenue
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
    /// Venue operations the order-flow generator made (submits and cancels).
    public var generatedOrders = 0
    public var itchMessages: UInt64 = 0
    public var feedOverflow: UInt64 = 0
    public var packetsA: UInt64 = 0, packetsB: UInt64 = 0, heartbeats: UInt64 = 0, endOfSession: UInt64 = 0
    public var retransmitRequests: UInt64 = 0, retransmitPackets: UInt64 = 0
    public var feedSendErrors = 0
    /// FIX reports for a counterparty not logged on at the time (FIX has no later delivery here).
    public var fixUndeliverable = 0
    public var recordedPackets: UInt64 = 0
    public init() {}
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
/// client CompID another; session 0 is the order-flow generator's. Orders outlive their
/// connection (no cancel on disconnect). Limits of the gateway underneath: the FIX acceptor
/// serves one connection at a time (a second client waits until the first leaves) and binds
/// 127.0.0.1; the loop cannot poll the SoupBinTCP and FIX sockets in one poll set, so when
/// idle (no request for `config.spinNs`) it sleeps in the OUCH poll 1 ms at a time and a FIX
/// request may wait up to that long (`spinNs = .max`, `omni sim --busy-poll`, never sleeps).
public final class SimVenue: @unchecked Sendable {
    public let config: SimConfig
    var venue: Venue<SimEvents, DayFileBuffer>!
    var mold: MoldStreamPublisher
    let soup: SoupServer
    var ouchApp: OuchServer<SimOuchEntry>?
    var fixAcceptor: FixAcceptor<FixVenueApplication<SimFixEntry>>?
    public let ouchPort: UInt16
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
    public private(set) var lastFeedError: NetError?
    public private(set) var finished = false

    private let stopFlag = Atomic<Bool>(false)
    private var thread: pthread_t?

    /// The session the order-flow generator enters orders on.
    public static let generatorSession: SessionID = 0
    /// Market activity of its own (Cont-Stoikov-Talreja flow), when the config asks for it.
    var generator: OrderFlowGenerator?

    enum Pending {
        case none
        case ouchReplace(previous: cw_ouch_token)
        case ouchReduce(decrement: UInt32)
        case ouchModify
        case fixCancel(clOrdID: String, orig: String)
        case fixReplace(clOrdID: String, orig: String)
    }

    /// Opens every socket (OUCH, FIX, both multicast lines, the retransmission server), opens
    /// the venue (start-of-day ITCH goes out at once). Throws if a port cannot be had.
    public init(_ config: SimConfig) throws {
        self.config = config
        var pc = MoldPublisherConfig(lineA: MulticastGroup(config.lineA.address, port: config.lineA.port, interface: config.interface))
        pc.lineB = config.lineB.map { MulticastGroup($0.address, port: $0.port, interface: config.interface) }
        pc.session = config.session
        pc.maxPacketBytes = config.maxPacketBytes
        pc.retransmitPort = config.retransmitPort
        pc.serverAddress = try Self.interfaceAddress(config.interface)
        do { mold = try MoldStreamPublisher(pc) } catch { throw SimStartError("MoldUDP64 publisher on \(config.interface): \(error)") }
        if let path = config.record {
            do { mold.downstream.recorder = try PcapWriter(path: path) } catch { throw SimStartError("record \(path): \(error)") }
        }
        var sc = SoupServerConfig()
        sc.port = config.ouchPort
        sc.sessionName = config.session
        sc.pollTimeoutMs = 0
        do { soup = try SoupServer(sc) } catch { throw SimStartError("OUCH (SoupBinTCP) port \(config.ouchPort): \(error)") }
        ouchPort = soup.port
        Self.makeDirectories(config.fixStore)
        let fc = FixSessionConfig(senderCompID: config.fixSenderCompID, targetCompID: nil, storeDirectory: config.fixStore)
        table = SimOrderTable(capacity: 1 << 14)
        owners = [SimSessionOwner](repeating: .free, count: max(config.venue.maxSessions, 2))
        owners[Int(Self.generatorSession)] = .generator
        for s in config.instruments {
            stockLocates[Self.stockWord(s.symbol)] = s.locate
            symbolLocates[s.symbol.description] = s.locate
        }
        var venueConfig = config.venue
        if let g = config.generator {
            let flow = OrderFlowGenerator(instruments: config.instruments, intensity: g.intensity, seed: g.seed, session: Self.generatorSession)
            venueConfig.unlimitedSession = Int(Self.generatorSession)  // its Poisson bursts must not hit the per-session rate limit
            venueConfig.maxOrders = max(venueConfig.maxOrders, flow.capacity + (1 << 16))
            generator = flow
        }
        venue = Venue(instruments: config.instruments, config: venueConfig,
                      events: SimEvents(sim: self), feed: DayFileBuffer(capacity: 64 << 20))
        ouchApp = OuchServer(handler: SimOuchEntry(self))
        guard let acceptor = FixAcceptor(port: config.fixPort, config: fc, app: FixVenueApplication(venue: SimFixEntry(self))) else {
            throw SimStartError("FIX port \(config.fixPort): cannot listen on 127.0.0.1:\(config.fixPort) (\(String(cString: strerror(errno))))")
        }
        fixAcceptor = acceptor
        fixPortStorage = acceptor.port
        venue.now = clock()
        venue.open()
        publishFeed()
    }
    private var fixPortStorage: UInt16 = 0
    /// The FIX acceptor's port (the configured one, or the ephemeral one given).
    public var fixPort: UInt16 { fixPortStorage }

    /// A sim dropped without `stop()` / `finish()` still ends its session.
    deinit { stop(); finish(graceMs: 0) }

    // MARK: running

    /// One pass of the loop: order entry (OUCH then FIX), order flow, feed, retransmissions.
    /// `timeoutMs` bounds the wait for OUCH traffic when nothing is pending.
    public func step(timeoutMs: Int32) {
        guard !finished, let ouchApp else { return }
        soup.pollOnce(ouchApp, timeoutMs: timeoutMs)
        fixAcceptor?.pollOnce(timeoutMs: 0)
        let generated = generateOrderFlow(until: clock())
        if generated > 0 { counters.generatedOrders += generated; publishFeed() }
        do {
            counters.retransmitRequests += UInt64(try mold.serveRequests())
            try mold.idle()
        } catch {
            counters.feedSendErrors += 1
            lastFeedError = error
        }
    }

    /// The generator's events due by `untilNs`, entered on `generatorSession` (none without `config.generator`).
    /// Its first call lists every book around the reference price at the venue's current time.
    func generateOrderFlow(until untilNs: UInt64) -> Int {
        guard generator != nil else { return 0 }
        return generator!.run(until: untilNs, on: venue)
    }

    /// Runs passes until `stop()` returns true, then ends the session (`finish`).
    /// Spins while traffic flows (config.spinNs after the last request), else waits in 1 ms slices.
    public func run(until stop: () -> Bool) {
        var passes = 0
        while !finished {
            let idle = config.spinNs != UInt64.max && csys_monotonic_ns() &- lastActivityNs > config.spinNs
            step(timeoutMs: idle ? 1 : 0)
            passes &+= 1
            if idle || passes & 255 == 0 { if stop() { break } }
        }
        finish()
    }

    /// Runs the loop on a thread of its own until `stop()`.
    public func start() {
        precondition(thread == nil, "the sim runs once")
        let box = Unmanaged.passRetained(SimLoopBody { [self] in run { stopFlag.load(ordering: .acquiring) } }).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            Unmanaged<SimLoopBody>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create: \(rc)")
        thread = t
    }

    /// Asks the loop thread to end the session and returns at once (clients can then take
    /// their End of Session / Logout while the loop drains); `stop()` waits for it.
    public func requestStop() { stopFlag.store(true, ordering: .releasing) }

    /// Asks the loop thread to end the session and waits for it.
    public func stop() {
        requestStop()
        if let t = thread { pthread_join(t, nil); thread = nil }
    }

    /// End of session: the venue closes (ITCH S M, E, C), the MoldUDP64 end-of-session packet
    /// goes out, OUCH clients get End of Session, the FIX counterparty a Logout; waits up to
    /// `graceMs` for them to drain, answering retransmission requests meanwhile. Idempotent.
    public func finish(graceMs: UInt64 = 500) {
        guard !finished, let ouchApp else { return }
        venue.now = clock()
        venue.close()
        publishFeed()
        do { try mold.endSession() } catch { counters.feedSendErrors += 1; lastFeedError = error }
        soup.endSession()
        if let s = fixAcceptor?.session, s.state == .loggedOn { s.logout("end of session") }
        let deadline = csys_monotonic_ns() + graceMs * 1_000_000
        while csys_monotonic_ns() < deadline {
            soup.pollOnce(ouchApp, timeoutMs: 1)
            if let s = fixAcceptor?.session, s.isOpen { s.pollOnce(timeoutMs: 0) }
            _ = try? mold.serveRequests()
            if soup.connectedClients == 0 && fixAcceptor?.session?.isOpen != true { break }
        }
        fixAcceptor?.session?.disconnect("end of session")
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
            s.fixLogons = fixAcceptor?.sessions.filter { $0.peerCompID != nil }.count ?? 0
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
    public var instruments: [InstrumentSpec] { config.instruments }

    // MARK: plumbing

    /// The venue clock: ns since midnight UTC from the wall clock, never going back.
    @inline(__always) func clock() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = (UInt64(ts.tv_sec) % 86_400) * 1_000_000_000 + UInt64(ts.tv_nsec)
        if now > lastClock { lastClock = now }
        return lastClock
    }

    /// Sends what the last venue call put into the feed buffer, then empties it.
    @inline(__always) func publishFeed() {
        guard venue.feed.count > 0 else { return }
        do { try mold.publish(venue.feed.bytes) } catch { counters.feedSendErrors += 1; lastFeedError = error }
        venue.feed.reset()
    }

    static func stockWord(_ s: Symbol) -> UInt64 { s.word }

    static func interfaceAddress(_ nameOrAddress: String) throws -> String {
        var i = cn_interface()
        let rc = cn_interface_resolve(nameOrAddress, &i)
        guard rc == 0 else { throw SimStartError("interface \(nameOrAddress): \(String(cString: cn_strerror(rc)))") }
        let a = UInt32(bigEndian: i.address.s_addr)
        return "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)"
    }

    static func makeDirectories(_ path: String) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            mkdir(prefix, 0o755)
            prefix += "/"
        }
    }
}

private final class SimLoopBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

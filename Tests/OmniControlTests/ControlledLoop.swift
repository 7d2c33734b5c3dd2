import CEvent
import CSys
import Foundation
import Glibc
import HummingbirdBcrypt
import Logging
import NIOSSL
import OmniBook
import OmniControl
import OmniCore
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import Synchronization
import Testing

/// The trading loop over the in-process venue (AAPL and MSFT of the defaults), its ControlPort and
/// a ControlServer (`serve`) on an ephemeral loopback port with one token per role. `resume` runs the loop on
/// its own thread as `omni run` does (commands drained before each pass, the snapshot published
/// after; the touch marked every 100 ms, as a feed would); `pause` stops that thread, after which
/// the test may read the venue (its own record of our orders) on this thread.
final class ControlledLoop: @unchecked Sendable {
    static let specs = Array(InstrumentSpec.defaults.prefix(2))
    static let roles: [ControlRole: String] = [.viewer: "viewer-token", .trader: "trader-token", .riskOfficer: "risk-token", .admin: "admin-token"]

    let entry: VenueOrderEntry<DayFileBuffer>
    let loop: TradingLoop<VenueOrderEntry<DayFileBuffer>, PerInstrument<InventorySkewQuoter>>
    let port: ControlPort
    let server: ControlServer
    var httpPort: UInt16 = 0
    var sink: BoardSink
    let running = Atomic<Bool>(false)
    var thread: pthread_t?
    /// What the loop publishes of its feed and its order entry's session (a test turns them).
    let feedStale = Atomic<Bool>(false)
    let gatewayUp = Atomic<Bool>(true)

    /// `store`: the server's store (its fills and PnL read every `recordEveryNs`, 50 ms), nil for none; the rest as
    /// ControlServer's.
    init(strategy: String = "inventory_skew", store: (any ControlStore)? = nil, recordEveryNs: UInt64 = 50_000_000,
         requestRate: RunConfig.RequestRate = RunConfig.Control().requestRate,
         streamSubscribers: Int = 16, alertLogger: Logger = Logger(label: "omni.control.alerts")) throws {
        entry = VenueOrderEntry(instruments: Self.specs, feed: DayFileBuffer(capacity: 1 << 20), session: 1, orderSlots: 1 << 10)
        entry.advance(to: 34_200_000_000_000)
        entry.venue.open()
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
        for s in Self.specs {
            rc.instrumentLimits[s.locate] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 100_000_000_000, maxLong: 1_000, maxShort: 1_000)
        }
        rc.strategyLimits[1] = StrategyLimits(maxLong: 10_000, maxShort: 10_000)
        let board = QuoteBoard(locates: 16)
        let quoters = PerInstrument(locateCapacity: 16, Self.specs.map {
            (locate: $0.locate, quoter: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 500))
        })
        loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16)),
                           risk: try PreTradeCheck(rc), board: board, strategy: quoters)
        sink = BoardSink(board: board)
        port = try ControlPort(instruments: Self.specs.count)
        port.bind(locates: Self.specs.map(\.locate))
        loop.journal = port.journalTap()
        let tokens = Self.roles.map { AccessToken(name: $0.key.rawValue, role: $0.key, bcrypt: Bcrypt.hash($0.value, cost: 4)) }
        server = ControlServer(port: port, symbols: Self.specs.map(\.symbol.description), strategy: strategy, tokens: tokens, store: store,
                               recordEveryNs: recordEveryNs, requestRate: requestRate, streamSubscribers: streamSubscribers, alertLogger: alertLogger)
        for s in Self.specs { loop.quote(s.locate) }
    }

    deinit { pause(); entry.venue.feed.deallocate() }

    /// Starts the HTTP server (on `port`, 0: any free one) and the loop's thread; waits for the loop's first snapshot.
    func serve(port listenPort: UInt16 = 0, tls: TLSConfiguration? = nil) async throws {
        httpPort = try await server.start(host: "127.0.0.1", port: listenPort, tls: tls)
        resume()
        try await wait("the first snapshot") { self.port.snapshot.read().summary.publishedNs != 0 }
    }

    /// Stops the loop's thread and the server.
    func close() async {
        pause()
        await server.stop()
    }

    /// The touch one tick either side of the instrument's reference price.
    func touch() {
        for s in Self.specs {
            let r = Int64(s.referencePrice)
            sink.bboChanged(s.locate, BBO(bidPrice: Price(raw: r - 100), bidSize: 100, askPrice: Price(raw: r + 100), askSize: 100))
        }
    }

    /// One iteration of `omni run`'s loop.
    func iterate() {
        let now = csys_monotonic_ns()
        port.drain(loop, now: now)
        loop.pass(now: now)
        var feed = FeedHealth()
        feed.lastPacketNs = now; feed.firstPacketNs = 1; feed.packets = 10; feed.delivered = 20
        port.publish(loop, now: now, feed: feed, stale: feedStale.load(ordering: .relaxed), gatewayUp: gatewayUp.load(ordering: .relaxed))
    }

    func resume() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let me = Unmanaged<ControlledLoop>.fromOpaque(arg!).takeRetainedValue()
            var nextTouch: UInt64 = 0
            while me.running.load(ordering: .acquiring) {
                let now = csys_monotonic_ns()
                if now >= nextTouch { me.touch(); nextTouch = now + 100_000_000 }
                me.iterate()
                usleep(50)
            }
            return nil
        }, box.toOpaque())
        thread = t
    }

    func pause() {
        guard running.exchange(false, ordering: .acquiringAndReleasing), let t = thread else { return }
        pthread_join(t, nil)
        thread = nil
    }

    /// One request on a thread of its own (the client blocks; Swift concurrency's few threads serve the server).
    func call(_ method: String, _ path: String, body: String? = nil, role: ControlRole?, token: String? = nil) async throws -> (status: Int, headers: [String: String], body: String) {
        let client = ControlClient(host: "127.0.0.1", port: httpPort, token: token ?? role.map { Self.roles[$0]! })
        return try await withCheckedThrowingContinuation { done in
            Thread { done.resume(with: Result { try client.request(method, path, body: body) }) }.start()
        }
    }

    /// Waits (at most `seconds`) until `done`.
    func wait(_ what: String, seconds: UInt64 = 5, until done: @escaping () -> Bool) async throws {
        let end = csys_monotonic_ns() + seconds * 1_000_000_000
        while !done() {
            if csys_monotonic_ns() > end { Issue.record("timed out: \(what)"); return }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
    }
}

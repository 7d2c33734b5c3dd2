import CEvent
import Foundation
import CSys
import Glibc
import Histogram
import HummingbirdBcrypt
import OmniBook
import OmniControl
import OmniCore
import OmniEngine
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import Synchronization

/// What `omni bench control` is given: commands through the ring, their spacing, HTTP requests,
/// the loop's idle sleep and its core.
public protocol ControlBenchOptions {
    var count: Int { get }
    var intervalUs: Int { get }
    var http: Int { get }
    var idleNs: Int { get }
    var core: Int? { get }
}

/// The bench loop's run flag and its pinning result, shared with the loop's thread.
private final class LoopState: @unchecked Sendable {
    let run = Atomic<Bool>(true)
    let pinned = Atomic<Int32>(-1)
}

extension ControlBenchOptions {
    /// `omni bench control`: command -> applied latency, through the ring and over HTTP.
    public func measureControl() throws {
        let loopCore = core ?? Int(csys_online_cores()) - 1
        // The control plane's threads start from this thread: off the loop's core, as in omni run.
        let avoid = csys_avoid_core(Int32(loopCore))
        let specs = Array(InstrumentSpec.defaults.prefix(2))
        let entry = VenueOrderEntry(instruments: specs, feed: DayFileBuffer(capacity: 1 << 20), session: 1, orderSlots: 1 << 12)
        defer { entry.venue.feed.deallocate() }
        entry.advance(to: 34_200_000_000_000)
        entry.venue.open()
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 12, maxDailyLoss: 100_000_000)
        for s in specs {
            // No message-rate limit worth the name: every requote must pass.
            rc.instrumentLimits[s.locate] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 100_000_000_000, maxLong: 1_000, maxShort: 1_000,
                                                             messageBurst: 1_000_000, messagesPerSecond: 1_000_000)
        }
        rc.strategyLimits[1] = StrategyLimits(maxLong: 10_000, maxShort: 10_000, messageBurst: 1_000_000, messagesPerSecond: 1_000_000)
        let board = QuoteBoard(locates: 16)
        let loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 12, strategies: 2, locates: 16)),
                               risk: try PreTradeCheck(rc), board: board,
                               strategy: PerInstrument(locateCapacity: 16, specs.map {
                                   (locate: $0.locate, quoter: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 500))
                               }))
        for s in specs { loop.quote(s.locate) }
        let port = try ControlPort(instruments: specs.count)
        port.bind(locates: specs.map(\.locate))
        let token = TokenFile.newToken()
        let server = ControlServer(port: port, symbols: specs.map(\.symbol.description), strategy: "inventory_skew",
                                   tokens: [AccessToken(name: "bench", role: .admin, bcrypt: Bcrypt.hash(token, cost: 4))])
        let httpPort = try runBlocking { try await server.start(host: "127.0.0.1", port: 0) }

        // The loop, on its core (PinnedThread pins it and names it).
        let lt = LoopState()
        var sink = BoardSink(board: board)
        let idle = UInt64(idleNs)
        let thread = try PinnedThread(name: "bench-loop", core: loopCore) { pinError in
            lt.pinned.store(pinError, ordering: .releasing)
            var nextTouch: UInt64 = 0, idleRuns = 0
            while lt.run.load(ordering: .relaxed) {
                let now = csys_monotonic_ns()
                if now >= nextTouch {
                    nextTouch = now + 100_000_000 // the touch again every 100 ms: risk's reference stays fresh
                    for s in specs {
                        let r = Int64(s.referencePrice)
                        sink.bboChanged(s.locate, BBO(bidPrice: Price(raw: r - 100), bidSize: 100, askPrice: Price(raw: r + 100), askSize: 100))
                    }
                }
                let n = port.drain(loop, now: now)
                loop.pass(now: now)
                port.publish(loop, now: now, feed: FeedHealth(), stale: false, gatewayUp: true)
                if n == 0 && idle > 0 { idleRuns += 1; if idleRuns & 63 == 0 { usleep(UInt32(idle / 1_000)) } } else { idleRuns = 0 }
            }
        }
        while lt.pinned.load(ordering: .acquiring) == -1 { usleep(1_000) }

        var clock = csys_clock()
        _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 20)
        func ns(_ ticks: UInt64) -> UInt64 { withUnsafePointer(to: clock) { csys_clock_ns($0, ticks) } }
        let link = server.link
        let interval = UInt64(intervalUs) * 1_000
        let n = count
        let (applied, roundTrip, refused) = try runBlocking { () async throws -> (Histogram<UInt64>, Histogram<UInt64>, Int) in
            var applied = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
            var roundTrip = applied
            var refused = 0
            for i in 0..<n {
                let t0 = csys_rdtsc()
                let ack = try await link.send(Int32(OMNI_CMD_SET_PARAM), locate: specs[0].locate, UInt64(OMNI_PARAM_SPREAD_TICKS), UInt64(2 + i % 2))
                let t1 = csys_rdtsc()
                if !ack.applied { refused += 1 }
                _ = applied.record(max(ack.appliedTicks, 1))
                _ = roundTrip.record(max(t1 &- t0, 1))
                let until = csys_monotonic_ns() + interval
                while csys_monotonic_ns() < until { try await Task.sleep(nanoseconds: 10_000) }
            }
            return (applied, roundTrip, refused)
        }
        var httpNs = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        let client = ControlClient(host: "127.0.0.1", port: httpPort, token: token)
        var httpFailed = 0
        for i in 0..<http {
            let t0 = csys_monotonic_ns()
            let r = try client.request("PUT", "/v1/instruments/\(specs[0].symbol)/params", body: "{\"spread_ticks\": \(2 + i % 2)}")
            _ = httpNs.record(max(csys_monotonic_ns() - t0, 1))
            if r.status != 200 { httpFailed += 1 }
            usleep(UInt32(intervalUs))
        }
        lt.run.store(false, ordering: .relaxed)
        thread.join()
        _ = try? runBlocking { await server.stop() }

        func line(_ name: String, _ h: Histogram<UInt64>, tsc: Bool) -> String {
            let v = [50.0, 90, 99, 99.9].map { tsc ? ns(h.valueAtPercentile($0)) : h.valueAtPercentile($0) }
            let mx = tsc ? ns(h.max) : h.max
            return "  \(name)\(String(repeating: " ", count: max(0, 36 - name.count))) p50 \(pad(String(v[0]), 8)) p90 \(pad(String(v[1]), 8)) p99 \(pad(String(v[2]), 8)) p99.9 \(pad(String(v[3]), 9)) max \(mx) ns (\(h.totalCount))"
        }
        print("omni bench control: \(n) SET_PARAM commands through the ring, one at a time \(intervalUs) us apart, then \(http) HTTP PUTs; the loop on core \(loopCore) (\(lt.pinned.load(ordering: .acquiring) == 0 ? "pinned" : "NOT pinned")), \(idleNs == 0 ? "busy-polling" : "sleeping \(idleNs) ns every 64 idle iterations"), control plane's threads \(avoid == 0 ? "off that core" : "not kept off it"), in-process venue")
        print(line("push -> applied (loop's stamp)", applied, tsc: true))
        print(line("push -> ack read (control side)", roundTrip, tsc: true))
        print(line("HTTP PUT -> 200 (omni ctl's client)", httpNs, tsc: false))
        print("  refused \(refused) commands, \(httpFailed) HTTP requests not 200; the loop applied \(port.version - 1) changes, sent \(loop.counters.requests) requests (\(loop.ledger.counters.replaced) replaced at the venue)")
        print("  note: hop[0] is a 16-bit code: exact below 4096 ticks, 12 significant bits above, saturating at about 45 ms")
    }
}

/// `omni bench control --store-fills`: fill rows (order events) per second into a control store, a transaction per
/// fill and in batches of `batch`. `address`: a SQLite path or a postgres:// URL
/// (`ControlStoreAddress`); nil: a new SQLite file under $TMPDIR, removed at the end. In a given
/// store the bench's rows stay (run "bench-PID"): the store is append-only; give it a database of its own.
public func measureStoreWrites(fills n: Int, batch: Int, store address: String? = nil) throws {
    let temporary = RunConfig.dataFolder + "/bench-store-\(getpid()).sqlite"
    defer { if address == nil { for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) } } }
    let text = address ?? temporary
    guard let opened = try runBlocking({ try await ControlStoreAddress.open(text) }) else {
        throw ControlStoreError("--store-fills needs a store, not off")
    }
    let store = opened
    let run = "bench-\(getpid())"
    let rates = try runBlocking { () async throws -> (single: Double, batched: Double) in
        func fill(_ i: Int) -> OrderEventRecord {
            OrderEventRecord(run: run, at: Date(), symbol: i & 1 == 0 ? "AAPL" : "MSFT", event: "fill", clientOrderID: UInt64(i), side: i & 1 == 0 ? "buy" : "sell",
                             price: 2_000_000 + UInt32(i % 100), shares: 100, leaves: 0, matchNumber: UInt64(i), liquidity: "added", venueNs: 34_200_000_000_000 + UInt64(i))
        }
        var t0 = csys_monotonic_ns()
        for i in 0..<n { try await store.recordOrderEvents([fill(i)]) }
        let single = Double(n) * 1e9 / Double(csys_monotonic_ns() - t0)
        t0 = csys_monotonic_ns()
        var i = 0
        while i < n {
            let rows = (i..<min(i + batch, n)).map(fill)
            try await store.recordOrderEvents(rows)
            i += rows.count
        }
        return (single, Double(n) * 1e9 / Double(csys_monotonic_ns() - t0))
    }
    var settings = "WAL, synchronous=NORMAL"
    if let pg = store as? PostgresControlStore { settings = try runBlocking { try await pg.durabilitySettings() } }
    print("omni bench control --store-fills: \(store.location) (\(settings)), \(n) fill rows per mode, one writer")
    print("  one transaction per fill:   \(Int(rates.single)) rows/s")
    print("  \(batch) fills per transaction: \(Int(rates.batched)) rows/s")
}

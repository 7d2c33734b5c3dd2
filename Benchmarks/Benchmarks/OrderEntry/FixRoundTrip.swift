// FIX 4.4 round trip over loopback TCP: NewOrderSingle from our initiator -> our acceptor ->
// ExecutionReport (new) back. One sample = send(D) to the ER handed to the application, in
// nanoseconds (CLOCK_MONOTONIC), recorded into an HdrHistogram.
//
// Unlike the OUCH benchmark, one thread drives both ends with busy polling (poll timeout 0):
// send D, poll the acceptor until it has answered, poll the initiator until the ER is in. So a
// round trip is both sessions' codec + session + store-append work plus two loopback TCP hops,
// with no cross-thread wake-up in it. Orders rest in a venue that answers each with one ER;
// the stores are in a temp dir with the default policy (no fsync: each message is one write(2)
// to the log and one pwrite(2) of the seqnums file on both sides).
//
// The steady-state application path allocates nothing (identifiers are inline FixStrings,
// FixOut encodes into inline bytes, the store writes from preallocated buffers): the measured
// window (after 500 warm-up round trips, event logs off) must show mallocCountTotal 0. The
// static threshold Thresholds/OrderEntry.fix-round-trip-loopback.p90.json fails
// `benchmark thresholds check`, and the benchmark itself fails the process when the window
// allocated (OMNI_BENCH_ALLOW_ALLOCS=1: reported on stderr instead).
//
// fix-cancel-replace-loopback does the same for the acceptor's other requests: per sample a
// D, a G replacing it, an F canceling that, and an F for an unknown order (answered by an
// OrderCancelReject 9); one sample = the four sent to the fourth answer in.

import CSys
import OmniWire
import OmniVenue
import OmniNet
import Benchmark
import CWire
import Glibc
import Histogram
import OmniGateway
#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

let fixRoundTrips = 5_000

/// The ExecutionReport (new) of an order that rests, as the `n`-th report.
func restingReport(_ o: FixNewOrder, _ n: Int) -> FixVenueResponse {
    .execution(FixExecution(orderID: "O\(n)", clOrdID: o.clOrdID, execID: "E\(n)", execType: .new, ordStatus: .new,
                            symbol: o.symbol, side: o.side, orderQty: o.quantity, price: o.price,
                            leavesQty: o.quantity, cumQty: 0, avgPx: 0))
}

/// Rests every order: one ExecutionReport (new) each.
final class RestingFixVenue: FixVenue {
    var n = 0
    func newOrder(_ o: FixNewOrder, session: String, into out: inout [FixVenueResponse]) {
        n += 1
        out.append(restingReport(o, n))
    }
    func cancel(_ c: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) {}
    func replace(_ r: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) {}
}

/// Counts the execution reports the initiator receives.
final class ReportCounter: FixApplication {
    var reports = 0
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict { reports += 1; return .accepted }
}

func toStderr(_ s: String) {
    var s = s
    s.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// An acceptor serving `venueApp` and a logged-on initiator counting what it receives, both
/// with their event logs off, stores in a fresh temp dir.
func fixPair<A: FixApplication>(_ venueApp: A) -> (FixAcceptor<A>, FixSession<ReportCounter>, ReportCounter) {
    var template = Array("/tmp/fixrt-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    mkdir(dir + "/acc", 0o755)
    mkdir(dir + "/ini", 0o755)
    guard let acc = try? FixAcceptor(config: FixSessionConfig(storeDirectory: dir + "/acc"), app: venueApp) else { fatalError("FIX acceptor: listen failed") }
    let app = ReportCounter()
    let config = FixSessionConfig(senderCompID: "BENCH", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir + "/ini", resetOnLogon: true)
    let ini: FixSession<ReportCounter>
    do { ini = try FixInitiator.connect(port: acc.port, config: config, app: app) } catch { fatalError("FIX initiator: connect failed: \(error)") }
    while ini.state != .loggedOn {
        acc.pollOnce(timeoutMs: 0)
        ini.pollOnce(timeoutMs: 0)
    }
    return (acc, ini, app)
}

/// Runs `body` as the measured window; fails the process when it allocated (the interposer's
/// counters; OMNI_BENCH_ALLOW_ALLOCS=1: a warning on stderr instead).
func measureWithoutAllocations(_ benchmark: Benchmark, what: String, samples: Int, _ body: () -> Void) {
    benchmark.startMeasurement()
    #if canImport(MallocInterposerSwift)
    let before = MallocInterposerSwift.getStatistics()
    #endif
    body()
    #if canImport(MallocInterposerSwift)
    let after = MallocInterposerSwift.getStatistics()
    #endif
    benchmark.stopMeasurement()
    #if canImport(MallocInterposerSwift)
    let mallocs = after.mallocCount - before.mallocCount
    if mallocs > 0 {
        let text = "\(what) is not allocation-free: \(mallocs) mallocs (\(after.mallocBytesCount - before.mallocBytesCount) bytes) over \(samples) samples"
        if let allow = getenv("OMNI_BENCH_ALLOW_ALLOCS"), allow.pointee != 0 {
            toStderr("warning: \(text) (OMNI_BENCH_ALLOW_ALLOCS is set: reported, not failed)\n")
        } else {
            // benchmark.error() alone does not change the exit status of a plain
            // `swift package benchmark` run (1.38.1); a failed benchmark process does.
            toStderr("error: \(text)\n")
            exit(EXIT_FAILURE)
        }
    }
    #endif
}

/// A benchmark of FIX request cycles between our initiator and an acceptor serving `venue`:
/// per sample `send(initiator, i)` sends its requests, and the sample ends when `answers` more
/// reports are in. 500 warm-up samples, then `fixRoundTrips` measured ones (allocation-free or
/// the run fails), p50 / p99 / p99.9 of their latencies.
func fixCycleBenchmark<V: FixVenue>(_ name: String, what: String, venue: V, answers: Int,
                                   send: @escaping (FixSession<ReportCounter>, Int) -> Void) {
    Benchmark(
        name,
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, p50, p99, p999], scalingFactor: .one,
                             maxDuration: .seconds(10), maxIterations: 5,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let (acc, ini, app) = fixPair(FixVenueApplication(venue: venue))
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        func one(_ i: Int, record: Bool) {
            let want = app.reports + answers
            let t0 = csys_monotonic_ns()
            send(ini, i)
            while app.reports < want {
                acc.pollOnce(timeoutMs: 0)
                ini.pollOnce(timeoutMs: 0)
            }
            if record { h.record(csys_monotonic_ns() - t0) }
        }
        for i in 0..<500 { one(i, record: false) } // warm-up
        measureWithoutAllocations(benchmark, what: what, samples: fixRoundTrips) {
            for i in 0..<fixRoundTrips { one(500 + i, record: true) }
        }
        benchmark.measurement(p50, Int(h.valueAtPercentile(50)))
        benchmark.measurement(p99, Int(h.valueAtPercentile(99)))
        benchmark.measurement(p999, Int(h.valueAtPercentile(99.9)))
        ini.logout()
        for _ in 0..<100 { acc.pollOnce(timeoutMs: 1); ini.pollOnce(timeoutMs: 1) }
    }
}

/// A NewOrderSingle for 100 at 101.25, ClOrdID "c<i>".
func newOrderSingle(_ i: Int) -> FixOut {
    FixNewOrder(clOrdID: "c\(i)", symbol: "OMNI", side: .buy, quantity: 100, ordType: .limit, price: 1_012_500).message
}

func fixRoundTripBenchmark() {
    fixCycleBenchmark("fix-round-trip-loopback", what: "FIX round trip", venue: RestingFixVenue(), answers: 1) { ini, i in
        ini.send(newOrderSingle(i))
    }
}

/// Cancel/replace cycle: D (8 new), G (8 replaced), F (8 canceled), and an F for an unknown
/// order (9 OrderCancelReject) per sample; the same malloc verdict covers the acceptor's F / G /
/// 9 paths. One sample = the four requests sent to the fourth answer in.
final class CyclingFixVenue: FixVenue {
    var n = 0
    func newOrder(_ o: FixNewOrder, session: String, into out: inout [FixVenueResponse]) {
        n += 1
        out.append(restingReport(o, n))
    }
    func cancel(_ c: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) {
        n += 1
        if c.origClOrdID == ("nope" as FixString) {
            out.append(.cancelReject(FixCancelRejection(orderID: "NONE", clOrdID: c.clOrdID, origClOrdID: c.origClOrdID, ordStatus: .rejected,
                                                        responseTo: .cancel, reason: 1, text: "unknown order")))
            return
        }
        out.append(.execution(FixExecution(orderID: "O\(n)", clOrdID: c.clOrdID, origClOrdID: c.origClOrdID, execID: "E\(n)",
                                           execType: .canceled, ordStatus: .canceled, symbol: c.symbol, side: c.side, orderQty: 100,
                                           price: 0, leavesQty: 0, cumQty: 0, avgPx: 0)))
    }
    func replace(_ r: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) {
        n += 1
        out.append(.execution(FixExecution(orderID: "O\(n)", clOrdID: r.clOrdID, origClOrdID: r.origClOrdID, execID: "E\(n)",
                                           execType: .replaced, ordStatus: .new, symbol: r.symbol, side: r.side, orderQty: r.quantity,
                                           price: r.price, leavesQty: r.quantity, cumQty: 0, avgPx: 0)))
    }
}

func fixCancelReplaceBenchmark() {
    fixCycleBenchmark("fix-cancel-replace-loopback", what: "FIX cancel/replace cycle", venue: CyclingFixVenue(), answers: 4) { ini, i in
        let g = FixReplaceRequest(clOrdID: "r\(i)", origClOrdID: "c\(i)", symbol: "OMNI", side: .buy, quantity: 200, ordType: .limit,
                                  price: 1_012_600).message
        let f = FixCancelRequest(clOrdID: "x\(i)", origClOrdID: "r\(i)", symbol: "OMNI", side: .buy).message
        let u = FixCancelRequest(clOrdID: "y\(i)", origClOrdID: "nope", symbol: "OMNI", side: .buy).message
        ini.send(newOrderSingle(i)); ini.send(g); ini.send(f); ini.send(u)
    }
}

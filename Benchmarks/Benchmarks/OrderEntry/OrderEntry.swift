// OUCH 4.2 over SoupBinTCP round trip on loopback TCP (FIX 4.4: FixRoundTrip.swift): the client encodes an Enter Order
// into its send buffer and sends it; the server thread (OmniGateway's SoupServer with an
// OuchServer) decodes it and hands it to a venue that accepts at once; the Accepted goes
// out as sequenced data and the client decodes it. One sample = enter() to the decoded
// Accepted, in nanoseconds (CLOCK_MONOTONIC), recorded into an HdrHistogram; each
// benchmark iteration is `roundTrips` samples and reports their p50 / p99 / p99.9.
//
// Both ends poll(2) their sockets (the server with a 1 ms poll timeout, the client
// with 1 ms): the figures include two poll wake-ups and four syscalls per direction,
// not a spinning kernel-bypass path.

import CSys
import OmniWire
import OmniVenue
import OmniNet
import Benchmark
import CWire
import Glibc
import Histogram
import OmniGateway

let p50 = BenchmarkMetric.custom("round trip p50 (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let p99 = BenchmarkMetric.custom("round trip p99 (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let p999 = BenchmarkMetric.custom("round trip p99.9 (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let roundTrips = 5_000

/// Accepts every order at once, echoing its fields.
final class AcceptingVenue: OrderEntryHandler {
    var ref: UInt64 = 0
    func enterOrder(_ o: cw_ouch_enter, _ out: OuchOutbox) {
        ref &+= 1
        var a = cw_ouch_accepted()
        a.token = o.token; a.side = o.side; a.shares = o.shares; a.stock = o.stock; a.price = o.price; a.tif = o.tif
        a.firm = o.firm; a.display = o.display; a.order_ref = ref; a.capacity = o.capacity; a.ise = o.ise
        a.min_qty = o.min_qty; a.cross_type = o.cross_type; a.order_state = 0x4C; a.bbo_weight = 0x20
        out.accepted(a)
    }
    func replaceOrder(_ replace: cw_ouch_replace, _ out: OuchOutbox) {}
    func cancelOrder(_ cancel: cw_ouch_cancel, _ out: OuchOutbox) {}
    func modifyOrder(_ modify: cw_ouch_modify, _ out: OuchOutbox) {}
}

/// A 14-byte token "OE" + the order number in 12 digits, written without allocating.
@inline(__always) func token(_ n: UInt64) -> cw_ouch_token {
    var t = cw_ouch_token("OE000000000000")
    withUnsafeMutableBytes(of: &t.b) { raw in
        var v = n
        for i in stride(from: 13, through: 2, by: -1) { raw[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10); v /= 10 }
    }
    return t
}

let benchmarks: @Sendable () -> Void = {
    fixRoundTripBenchmark()
    fixCancelReplaceBenchmark()
    Benchmark(
        "ouch-round-trip-loopback",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, p50, p99, p999], scalingFactor: .one,
                             maxDuration: .seconds(10), maxIterations: 5)
    ) { benchmark in
        let server: SoupServer
        do { (server, _) = try OuchServer.start(SoupServerConfig(), handler: AcceptingVenue()) } catch {
            fatalError("\(error)")
        }
        defer { server.stop() }
        let client = OuchClient(SoupClientConfig(port: server.port, username: "bench", password: "x"))
        do { try client.connect() } catch { fatalError("\(error)") }
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var order = cw_ouch_enter.limit(token: "OE000000000000", stock: "AAPL", side: "B", shares: 100, price: 1_500_000, tif: 99_999)
        var n: UInt64 = 0
        func one(record: Bool) {
            n += 1
            order.token = token(n)
            let t0 = csys_monotonic_ns()
            do { try client.enter(order) } catch { fatalError("\(error)") }
            var done = false
            while !done {
                client.poll(timeoutMs: 1) { ev in
                    switch ev {
                    case .message(_, let m) where m.type == 0x41: done = true
                    case .disconnected(let e): fatalError("\(e)")
                    default: break
                    }
                }
            }
            if record { h.record(csys_monotonic_ns() - t0) }
        }
        for _ in 0..<500 { one(record: false) } // warm-up: connections, caches, branch predictors
        benchmark.startMeasurement()
        for _ in 0..<roundTrips { one(record: true) }
        benchmark.stopMeasurement()
        benchmark.measurement(p50, Int(h.valueAtPercentile(50)))
        benchmark.measurement(p99, Int(h.valueAtPercentile(99)))
        benchmark.measurement(p999, Int(h.valueAtPercentile(99.9)))
        client.logout()
    }
}

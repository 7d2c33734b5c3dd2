// The order-flow generator (OmniVenue.OrderFlowGenerator, Cont-Stoikov-Talreja flow) driving the
// venue: 500 instruments of `InstrumentSpec.synthetic`, intensity 1, seed 1, the venue's ITCH into
// a counting sink. After a warm-up of one simulated minute (the books listed and in their steady
// state), the measured window generates `flowSeconds` of simulated time. Reported: venue operations
// per second of wall time; mallocs in the window must be 0 (the run fails otherwise).

import Benchmark
import OmniVenue


let flowInstruments = 500
let flowSeconds: UInt64 = 300

func orderFlowBenchmark() {
    Benchmark(
        "order-flow-generator",
        configuration: .init(metrics: [.wallClock, opsPerSecond, opsMeasured, mallocsInLoop],
                             scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 5)
    ) { benchmark in
        let specs = InstrumentSpec.synthetic(count: flowInstruments, seed: 1)
        let venue = Venue(instruments: specs, config: VenueConfig(maxOrders: 1 << 20, maxSessions: 4, unlimitedSession: 0),
                          events: NoVenueEvents(), feed: CountingITCHSink())
        var flow = OrderFlowGenerator(instruments: specs, seed: 1)
        let open: UInt64 = 34_200_000_000_000 // 09:30
        venue.now = open
        venue.open()
        _ = flow.run(until: open + 60_000_000_000, on: venue)
        var ops = 0
        let ns = measureWithoutAllocations(benchmark, "order-flow-generator") {
            ops = flow.run(until: open + (60 + flowSeconds) * 1_000_000_000, on: venue)
        }
        benchmark.measurement(opsMeasured, ops)
        benchmark.measurement(opsPerSecond, Int(Double(ops) * 1e9 / Double(ns)))
        blackHole(venue.feed.messages)
    }
}

import OmniVenue
import OmniWire
import OmniNet
import OmniBook
import OmniCore
import OmniFeed
import Testing
@testable import OmniVenue

private let open0930: UInt64 = 34_200_000_000_000
private let second: UInt64 = 1_000_000_000

/// A venue fed by the generator for `seconds` of venue time, then closed.
private func generatedDay(seed: UInt64, instruments: [InstrumentSpec] = Array(InstrumentSpec.defaults.prefix(3)), seconds: UInt64,
                          model: OrderFlowModel = .default, intensity: Double = 1,
                          config: VenueConfig = VenueConfig(maxOrders: 1 << 14, maxSessions: 4))
    -> (Venue<NoVenueEvents, DayFileBuffer>, OrderFlowGenerator) {
    let venue = Venue(instruments: instruments, config: config, events: NoVenueEvents(), feed: DayFileBuffer(capacity: 1 << 25))
    var gen = OrderFlowGenerator(instruments: instruments, model: model, intensity: intensity, seed: seed, session: 1)
    venue.now = open0930
    venue.open()
    _ = gen.run(until: open0930 + seconds * second, on: venue)
    venue.close()
    return (venue, gen)
}

private func bytes(_ v: Venue<NoVenueEvents, DayFileBuffer>) -> [UInt8] { Array(v.feed.bytes) }

@Suite struct OrderFlow {
    @Test func sameSeedSameBytesOtherSeedOtherBytes() {
        let (a, ga) = generatedDay(seed: 42, seconds: 30)
        let (b, _) = generatedDay(seed: 42, seconds: 30)
        let (c, _) = generatedDay(seed: 43, seconds: 30)
        defer { a.feed.deallocate(); b.feed.deallocate(); c.feed.deallocate() }
        #expect(ga.stats.operations > 1000)
        #expect(a.feed.messages > 1000)
        #expect(bytes(a) == bytes(b))
        #expect(bytes(a) != bytes(c))
        #expect(a.feed.overflowed == 0)
    }

    @Test func itchRebuildsTheVenueBooks() throws {
        let specs = Array(InstrumentSpec.defaults.prefix(4))
        let (venue, gen) = generatedDay(seed: 7, instruments: specs, seconds: 300)
        defer { venue.feed.deallocate() }
        #expect(gen.stats.rejected == 0)
        #expect(gen.stats.marketBuys + gen.stats.marketSells > 500)
        let (replay, _) = try replayMatchesVenue(venue, locates: specs.map(\.locate))
        for t in "AED".utf8 { #expect(replay.counts.byType[Int(t)] > 100, "ITCH \(Character(Unicode.Scalar(t))) messages") }
        #expect(venue.liveOrders > 40)
    }

    /// `.quoting` moves 15 % of the cancels instead: U on the feed, the books still rebuilt exactly.
    @Test func quoteMovesAreReplacesOnTheFeed() throws {
        let specs = Array(InstrumentSpec.defaults.prefix(4))
        let (venue, gen) = generatedDay(seed: 9, instruments: specs, seconds: 600, model: .quoting)
        defer { venue.feed.deallocate() }
        let s = gen.stats
        #expect(s.rejected == 0)
        let (replay, _) = try replayMatchesVenue(venue, locates: specs.map(\.locate))
        #expect(replay.counts.byType[Int(UInt8(ascii: "U"))] == s.replaces, "every move is one U (a move to a fresh distance never trades)")
        // Of the cancel events kept by thinning, a share of 0.15 moves (binomial: 5 standard deviations);
        // a move drawn at the distance the order rests at changes nothing, and none fell past the band.
        #expect(s.outsideBand == 0 && s.movesInPlace == 736 && s.replaces == 6448) // seeded: exactly as first recorded
        let moves = s.replaces + s.movesInPlace
        let n = Double(moves + s.cancels), share = Double(moves) / n
        #expect(n > 5_000)
        #expect(abs(share - 0.15) < 5 * (0.15 * 0.85 / n).squareRoot(), "replace share \(share) of \(Int(n))")
        let (plain, _) = generatedDay(seed: 9, instruments: specs, seconds: 60)
        defer { plain.feed.deallocate() }
        let (plainReplay, _) = try replayMatchesVenue(plain, locates: specs.map(\.locate))
        #expect(plainReplay.counts.byType[Int(UInt8(ascii: "U"))] == 0, "the paper's model has no replaces")
    }

    /// Two hours of AAPL (about 150,000 events), sampled every second: two-sided, tight, near 200.00.
    @Test func bookStaysTwoSidedNearTheReference() {
        let spec = InstrumentSpec.defaults[0]
        let venue = Venue(instruments: [spec], config: VenueConfig(maxOrders: 1 << 12, maxSessions: 2), events: NoVenueEvents(),
                          feed: CountingITCHSink())
        var gen = OrderFlowGenerator(instruments: [spec], seed: 3)
        venue.now = open0930
        venue.open()
        var samples = 0, twoSided = 0, maxSpread: UInt32 = 0, maxDrift: UInt32 = 0, spreadSum = 0.0
        var minResting = Int.max, maxResting = 0, minLevels = Int.max
        for s in 1...7200 {
            _ = gen.run(until: open0930 + UInt64(s) * second, on: venue)
            let b = venue.book(spec.locate)!
            let q = b.bbo
            samples += 1
            minResting = min(minResting, b.restingOrders)
            maxResting = max(maxResting, b.restingOrders)
            guard q.bidSize > 0 && q.askSize > 0 else { continue }
            twoSided += 1
            let spread = (q.askPrice - q.bidPrice) / spec.tick
            maxSpread = max(maxSpread, spread)
            spreadSum += Double(spread)
            let mid = (q.bidPrice + q.askPrice) / 2
            maxDrift = max(maxDrift, mid > spec.referencePrice ? mid - spec.referencePrice : spec.referencePrice - mid)
            // Price levels within 10 ticks of the touch, both sides together.
            let near = b.depth(.bid).prefix { q.bidPrice - $0.price <= 10 * spec.tick }.count
                + b.depth(.ask).prefix { $0.price - q.askPrice <= 10 * spec.tick }.count
            minLevels = min(minLevels, near)
        }
        let stats = gen.stats
        print("book over 7200 s: two-sided \(twoSided)/\(samples), mean spread \(spreadSum / Double(twoSided)) ticks, max spread \(maxSpread), max |mid - ref| \(maxDrift) (1/10000), resting \(minResting)...\(maxResting), min levels within 10 ticks \(minLevels); \(stats)")
        #expect(stats.operations > 100_000)
        #expect(Double(twoSided) >= 0.99 * Double(samples))
        #expect(spreadSum / Double(twoSided) < 3)
        #expect(maxSpread <= 20)
        #expect(maxDrift <= spec.referencePrice / 50, "mid stays within 2 % of the reference")
        #expect(minResting >= 5 && maxResting <= 150)
        #expect(minLevels >= 3)
        #expect(stats.rejected == 0 && stats.outsideBand == 0 && stats.tableFull == 0)
    }

    /// Arrivals: the count over time matches the total rate, and the split among market orders and limit
    /// orders at each distance matches μ and λ(i). Each within 5 standard deviations of the binomial
    /// (Poisson) count; with ~200,000 arrivals a wrong rate of a few percent fails.
    @Test func arrivalMixMatchesTheModel() {
        let specs = Array(InstrumentSpec.defaults.prefix(4))
        let intensity = 5.0, seconds: UInt64 = 500
        let (venue, gen) = generatedDay(seed: 11, instruments: specs, seconds: seconds, intensity: intensity)
        defer { venue.feed.deallocate() }
        let m = OrderFlowModel.default
        let s = gen.stats
        #expect(s.outsideBand == 0 && s.tableFull == 0)
        let market = Double(s.marketBuys + s.marketSells)
        let n = Double(s.limitOrders) + market
        let expected = m.arrivalsPerSecond * Double(specs.count) * intensity * Double(seconds)
        #expect(abs(n - expected) <= 5 * expected.squareRoot(), "arrivals \(n), expected \(expected)")
        func close(_ got: Double, _ p: Double, _ what: String) {
            let sd = (n * p * (1 - p)).squareRoot()
            #expect(abs(got - n * p) <= 5 * sd, "\(what): \(got), expected \(n * p) ± \(5 * sd)")
        }
        close(market, 2 * m.mu / m.arrivalsPerSecond, "market orders")
        for i in 1...m.depth { close(Double(gen.limitsAtDistance[i]), 2 * m.lambda(i) / m.arrivalsPerSecond, "limit orders at \(i) ticks") }
        // With reversion the buy share leans against the mid's drift but stays near half.
        #expect(abs(Double(s.marketBuys) / market - 0.5) < 0.1)
    }

    /// Cancellations: each resting order at i ticks from the opposite best is canceled at rate θ(i). The test
    /// steps the generator one event at a time, adds each live order's θ(i) × (time to the next event), with i
    /// measured here from the venue's own book, and compares the cancels made with that compensator, per
    /// distance and in all (5 Poisson standard deviations; θ(i) measured from the touch instead of the
    /// opposite best, or a flat θ, would be off by 10-40 % at the near distances).
    @Test func cancelRatesMatchTheModel() {
        let spec = InstrumentSpec.defaults[1]
        let venue = Venue(instruments: [spec], config: VenueConfig(maxOrders: 1 << 12, maxSessions: 2), events: NoVenueEvents(),
                          feed: CountingITCHSink())
        let m = OrderFlowModel.default
        var gen = OrderFlowGenerator(instruments: [spec], seed: 5)
        venue.now = open0930
        venue.open()
        _ = gen.run(until: open0930, on: venue)
        var expected = [Double](repeating: 0, count: m.depth + 1)
        var observed = [Double](repeating: 0, count: m.depth + 1)
        var prev = venue.now
        var oneSided = 0
        for _ in 0..<60_000 {
            let next = gen.nextEventNs
            let q = venue.book(spec.locate)!.bbo
            // The distances need both quotes (the generator falls back to remembered ones when a side is
            // empty): such intervals are left out of both counts, decided before the event.
            let counted = q.bidSize > 0 && q.askSize > 0
            if counted {
                let dt = Double(next - prev) / 1e9
                for e in gen.table[0..<gen.restingOrders] {
                    guard let o = venue.order(e.id) else { continue }
                    let gap = e.side == .bid ? Int(q.askPrice) - Int(o.price) : Int(o.price) - Int(q.bidPrice)
                    let i = min(max(gap / Int(spec.tick), 1), m.depth)
                    expected[i] += m.cancelRate(i) * dt
                }
            } else {
                oneSided += 1
            }
            let before = gen.cancelsAtDistance
            _ = gen.run(until: next, on: venue)
            prev = next
            if counted { for i in 1...m.depth { observed[i] += Double(gen.cancelsAtDistance[i] - before[i]) } }
        }
        #expect(oneSided < 600)
        var got = 0.0, want = 0.0
        for i in 1...m.depth {
            let g = observed[i]
            got += g; want += expected[i]
            #expect(abs(g - expected[i]) <= 5 * expected[i].squareRoot() + 1, "cancels at \(i) ticks: \(g), expected \(expected[i])")
        }
        #expect(want > 20_000)
        #expect(abs(got - want) <= 5 * want.squareRoot(), "cancels \(got), expected \(want)")
    }

    /// A rate-limited venue: with the generator's session exempt nothing is refused; without, the
    /// token bucket refuses most of it (so the exemption is what makes the flow work there).
    @Test func rateLimitExemption() {
        let specs = Array(InstrumentSpec.defaults.prefix(2))
        let limited = VenueConfig(maxOrders: 1 << 12, maxSessions: 4, ordersPerSecond: 5, burst: 10)
        var exempt = limited
        exempt.unlimitedSession = 1
        let (a, ga) = generatedDay(seed: 9, instruments: specs, seconds: 60, config: exempt)
        let (b, gb) = generatedDay(seed: 9, instruments: specs, seconds: 60, config: limited)
        defer { a.feed.deallocate(); b.feed.deallocate() }
        #expect(ga.stats.rejected == 0)
        #expect(a.rejects(.rateLimited) == 0)
        #expect(gb.stats.rejectRate > 0.5)
        #expect(b.rejects(.rateLimited) == gb.stats.rejected)
    }

    @Test func syntheticInstruments() {
        let s = InstrumentSpec.synthetic(count: 12, seed: 1)
        #expect(s.map(\.symbol.description).prefix(2) == ["SYN00001", "SYN00002"])
        #expect(s.last!.locate == 12)
        #expect(s.allSatisfy { $0.referencePrice >= 200_000 && $0.referencePrice <= 5_000_000 && $0.referencePrice % $0.tick == 0 })
        #expect(Set(s.map(\.referencePrice)).count > 6)
        #expect(InstrumentSpec.synthetic(count: 12, seed: 1).map(\.referencePrice) == s.map(\.referencePrice))
    }
}

import Foundation
import OmniStrategy
import Testing

@Suite struct MicropriceTests {
    @Test func leansTowardTheThinnerSide() {
        var m = Microprice()
        // (100·100 + 102·300) / 400 = 40600 / 400 = 101.5: more bids, so closer to the ask
        #expect(m.update(bid: 100, bidSize: 300, ask: 102, askSize: 100) == 101.5)
        // equal sizes: the plain mid
        #expect(m.update(bid: 1_990_000, bidSize: 500, ask: 1_990_100, askSize: 500) == 1_990_050)
        #expect(m.update(bid: 0, bidSize: 0, ask: 102, askSize: 100).isNaN)
        #expect(m.update(bid: 102, bidSize: 1, ask: 102, askSize: 1).isNaN)
        #expect(m.update(bid: 100, bidSize: 0, ask: 102, askSize: 0).isNaN)
    }
}

@Suite struct BookImbalanceTests {
    @Test func overNLevels() {
        var two = BookImbalance(levels: 2)
        // bids 300 + 200 = 500, asks 100 + 100 = 200 (the third levels are beyond N): 300 / 700
        #expect(abs(two.update(bidSizes: [300, 200, 100], askSizes: [100, 100, 100]) - 3.0 / 7.0) < 1e-15)
        var decayed = BookImbalance(levels: 3, decay: 0.5)
        // bids 300 + 0.5·200 + 0.25·100 = 425, asks 100 + 50 + 25 = 175: 250 / 600
        #expect(abs(decayed.update(bidSizes: [300, 200, 100], askSizes: [100, 100, 100]) - 250.0 / 600.0) < 1e-15)
        // a side with fewer levels than N counts the missing ones as empty: 425 vs 100
        #expect(abs(decayed.update(bidSizes: [300, 200, 100], askSizes: [100]) - 325.0 / 525.0) < 1e-15)
        #expect(decayed.update(bidSizes: [UInt32](), askSizes: [UInt32]()) == 0)
        // from a buffer, as the loop fills it from a BookView
        let bids: [UInt32] = [0, 0], asks: [UInt32] = [400, 0]
        bids.withUnsafeBufferPointer { b in asks.withUnsafeBufferPointer { a in
            #expect(two.update(bidSizes: b, askSizes: a) == -1)
        } }
    }
}

@Suite struct EWMATests {
    @Test func taLibSeedingByPeriod() {
        var e = EWMA(period: 3)   // α = 2/4 = 0.5, seeded with the mean of the first 3
        #expect(e.update(1).isNaN && e.update(2).isNaN)
        #expect(e.update(3) == 2)          // (1 + 2 + 3) / 3
        #expect(e.update(4) == 3)          // 2 + 0.5·(4 − 2)
        #expect(e.update(5) == 4)          // 3 + 0.5·(5 − 3)
        #expect(e.isReady && e.count == 5)
    }

    @Test func firstValueSeedingByAlpha() {
        var e = EWMA(alpha: 0.25)
        #expect(e.update(10) == 10)
        #expect(e.update(20) == 12.5)      // 10 + 0.25·10
        #expect(e.update(0) == 9.375)      // 12.5 − 0.25·12.5
    }

    @Test func midOfATwoSidedTouchOnly() {
        var e = EWMA(alpha: 0.5)
        #expect(e.update(bid: 1_000_000, ask: 1_000_200) == 1_000_100)
        #expect(e.update(bid: 0, ask: 1_000_200) == 1_000_100)          // one-sided: skipped
        #expect(e.update(bid: 1_000_300, ask: 1_000_200) == 1_000_100)  // crossed: skipped
        #expect(e.update(bid: 1_000_200, ask: 1_000_400) == 1_000_200)  // 1_000_100 + 0.5·200
    }
}

@Suite struct RealizedVolatilityTests {
    @Test func samplesOnTheGridAndEstimatesBothWays() {
        // grid every 100 ns, window of 2 returns, EWMA λ = 0.5
        var v = RealizedVolatility(intervalNs: 100, window: 2, lambda: 0.5)
        v.update(nowNs: 0, bid: 99, ask: 101)        // mid 100 from t = 0 (the first grid point is 0)
        v.update(nowNs: 150, bid: 109, ask: 111)     // samples g=0: 100, g=100: 100 (r = 0); then mid 110
        #expect(v.samples == 2 && v.ewmaVariance == 0 && v.rollingVariance.isNaN)
        v.update(nowNs: 250, bid: 109, ask: 111)     // g=200: 110, r = ln 1.1
        v.update(nowNs: 390, bid: 98, ask: 100)      // g=300: 110, r = 0; then mid 99
        let a = log(1.1)
        // returns 0, a, 0. Rolling over the last 2 {a, 0}: mean a/2, population variance (a/2)²
        #expect(abs(v.rollingVariance - a * a / 4) < 1e-18)
        // EWMA: 0 → 0.5·0 + 0.5·a² = a²/2 → 0.5·a²/2 = a²/4
        #expect(abs(v.ewmaVariance - a * a / 4) < 1e-18)
        #expect(v.samples == 4)
        // a jump over 6 grid points (400..900): g=400 carries r = ln(99/110), then 5 zero returns
        v.update(nowNs: 1_000, bid: 98, ask: 100)
        let b = log(99.0 / 110.0)
        #expect(v.samples == 10)
        #expect(abs(v.rollingVariance) < 1e-18)      // the last two returns are both 0 (sliding update: to rounding)
        #expect(abs(v.ewmaVariance - (0.5 * a * a / 4 + 0.5 * b * b) / 32) < 1e-18)
    }

    @Test func anUpdateExactlyOnAGridPointBelongsToIt() {
        var v = RealizedVolatility(intervalNs: 100, window: 2, lambda: 0.5)
        v.update(nowNs: 50, bid: 99, ask: 101)       // first grid point: 100
        v.update(nowNs: 100, bid: 119, ask: 121)     // at g = 100 itself: the sample at 100 is 120
        v.update(nowNs: 100, bid: 99, ask: 101)      // and again at 100: the last one at or before g wins
        v.update(nowNs: 201, bid: 99, ask: 101)      // g = 100: 100, g = 200: 100 (r = 0)
        #expect(v.samples == 2 && v.ewmaVariance == 0)
        v.sampleGrid(before: 301)                    // a timer with no book change: g = 300, r = 0
        #expect(v.samples == 3)
        #expect(v.rollingVariance == 0)
    }

    @Test func sigmaInTicksPerRootSecond() {
        // variance 1e-8 per 100 ms → 1e-7 per second → σ = 3.1623e-4 of the price; at 100.00 (1_000_000
        // in ITCH units) with a cent tick (100): 3.1623e-4 · 1e6 / 100 = 3.1623 ticks/√s
        let s = RealizedVolatility.sigmaTicks(variance: 1e-8, intervalNs: 100_000_000, mid: 1_000_000, tick: 100)
        #expect(abs(s - 1e-7.squareRoot() * 1e4) < 1e-9)
    }
}

@Suite struct TradeFlowImbalanceTests {
    @Test func decaysByTimeWithTheHalfLife() {
        var f = TradeFlowImbalance(halfLifeNs: 1_000)
        #expect(f.update(nowNs: 0, size: 100, buyerInitiated: true) == 1)
        // one half-life later: buys 50, then a 100-share sell: (50 − 100) / 150
        #expect(abs(f.update(nowNs: 1_000, size: 100, buyerInitiated: false) - (-1.0 / 3.0)) < 1e-12)
        // two more half-lives: buys 12.5 + 50 = 62.5, sells 25: 37.5 / 87.5
        #expect(abs(f.update(nowNs: 3_000, size: 50, buyerInitiated: true) - 37.5 / 87.5) < 1e-12)
        #expect(abs(f.buyVolume - 62.5) < 1e-9 && abs(f.sellVolume - 25) < 1e-9)
    }
}

@Suite struct FillIntensityTests {
    /// One-cent buckets (100), a 4-step window of 0.5 s (2 s), touch 100.00 / 100.01 → mid 100.005.
    func steps(_ f: inout FillIntensity, _ trades: [[(UInt32, Bool)]]) {
        for step in trades {
            for (p, buy) in step { f.trade(price: p, buyerInitiated: buy) }
            f.endStep(bid: 1_000_000, ask: 1_000_100)
        }
    }

    @Test func countsFillsByDepthAndFitsLogLambdaByLeastSquares() {
        var f = FillIntensity(bucketWidth: 100, windowSteps: 4, stepSeconds: 0.5)
        steps(&f, [
            [(1_000_300, true)],                      // no previous mid yet: not counted
        ])
        #expect(f.fit() == nil)                       // window not full
        steps(&f, [
            // buy at 100.03: 2.5 ticks deep, fills quotes at 0.5 and 1.5 (2 buckets); sell at 99.99:
            // 1.5 deep, 1 bucket; the step keeps its deepest: 2
            [(1_000_300, true), (999_900, false)],
            [(1_000_500, true)],                      // 4.5 ticks: 4 buckets
            [(999_800, false)],                       // 2.5 ticks: 2 buckets
        ])
        // window: steps crediting 0, 2, 4, 2 buckets → credits per bucket 3, 3, 1, 1 over 2 s
        let lambda = [1.5, 1.5, 0.5, 0.5]
        for i in 0..<4 { #expect(f.intensity(bucket: i) == lambda[i]) }
        #expect(f.intensity(bucket: 4) == 0)
        // Least squares of ln λ on δ = 0.5, 1.5, 2.5, 3.5 (centred form): x̄ = 2, Σ(x−x̄)² = 5,
        // y = ln 1.5, ln 1.5, ln 0.5, ln 0.5: Σ(x−x̄)(y−ȳ) = −2·ln 3, slope = −0.4·ln 3,
        // intercept = ȳ + 0.8·ln 3 = ½·ln 0.75 + 0.8·ln 3
        let fit = try! #require(f.fit())
        #expect(abs(fit.k - 0.4 * log(3)) < 1e-12)
        #expect(abs(fit.A - (0.75.squareRoot() * pow(3, 0.8))) < 1e-12)

        steps(&f, [[], []])                           // two quiet steps push out the oldest two (0 and 2):
        // window now 4, 2, 0, 0 → credits 2, 2, 1, 1
        #expect(f.intensity(bucket: 0) == 1 && f.intensity(bucket: 1) == 1 && f.intensity(bucket: 3) == 0.5)
        steps(&f, [[], []])                           // 0, 0, 0, 0: nothing to fit
        #expect(f.fit() == nil)
    }

    @Test func tradesAtOrInsideTheTouchOrWithoutAReferenceCreditNothing() {
        var f = FillIntensity(bucketWidth: 100, windowSteps: 2, stepSeconds: 1)
        f.endStep(bid: 1_000_000, ask: 1_000_100)
        f.trade(price: 1_000_100, buyerInitiated: true)    // at the ask: 0.5 ticks, not strictly beyond
        f.trade(price: 1_000_000, buyerInitiated: true)    // a buy below the mid
        f.endStep(bid: 0, ask: 1_000_100)                   // one-sided: no reference for the next step
        f.trade(price: 1_009_000, buyerInitiated: true)
        f.endStep(bid: 1_000_000, ask: 1_000_100)
        #expect(f.intensity(bucket: 0) == 0)
    }
}

import Foundation
import OmniStrategy
import Testing

/// The calibration loop of hftbacktest's GLFT example on real data: Binance BTCUSDT spot, 2024-08-08
/// 23:54-24:00 (bookTicker touches and trades), 100 ms steps, a 5-minute window: FillIntensity
/// fits A and k, RealizedVolatility gives σ, GLFTQuoter quotes. A smoke test of the wiring on real
/// flow (the values are printed, and only checked for sanity); the closed forms themselves are
/// checked in GLFTTests. Skipped, naming why, without the data.
@Suite struct RealDataGLFTTests {
    @Test func calibratesAndQuotesOnBinanceFlow() throws {
        let capture = TALibPeerTests.capture
        guard FileManager.default.fileExists(atPath: capture.path) else {
            print("RealDataGLFTTests SKIPPED: no Binance capture at \(capture.path) (set OMNI_DATA)")
            try Test.cancel("no Binance capture at \(capture.path) (set OMNI_DATA)")
        }
        let gz = try TALibPeerTests.run("/bin/sh", ["-c", "gzip -dc '\(capture.path)'"])
        try #require(gz.status == 0, "gzip: \(gz.err)")

        let step: UInt64 = 100_000_000
        var fills = FillIntensity(bucketWidth: 1, windowSteps: 3_000, stepSeconds: 0.1)   // cents; 1-cent buckets
        var vol = RealizedVolatility(intervalNs: step, window: 600)
        var bid: UInt32 = 0, ask: UInt32 = 0
        var nextStep: UInt64 = 0, trades = 0
        func cents(_ s: Any?) -> UInt32? { (s as? String).flatMap { Decimal(string: $0) }.map { UInt32(truncating: ($0 * 100) as NSDecimalNumber) } }
        for line in gz.out.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let ns = UInt64(line[..<space]) else { continue }
            let body = line[line.index(after: space)...]
            let isTicker = body.contains("@bookTicker\""), isTrade = body.contains("@trade\"")
            guard isTicker || isTrade,
                  let obj = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let d = obj["data"] as? [String: Any] else { continue }
            if nextStep == 0 { nextStep = (ns / step + 1) * step }
            while ns >= nextStep { fills.endStep(bid: bid, ask: ask); nextStep += step }
            if isTicker, let b = cents(d["b"]), let a = cents(d["a"]) {
                bid = b; ask = a
                vol.update(nowNs: ns, bid: b, ask: a)
            } else if isTrade, let p = cents(d["p"]), let makerIsBuyer = d["m"] as? Bool {
                fills.trade(price: p, buyerInitiated: !makerIsBuyer); trades += 1
            }
        }
        let fit = try #require(fills.fit(), "no fit after \(fills.steps) steps and \(trades) trades")
        let sigma = RealizedVolatility.sigmaTicks(variance: vol.rollingVariance, intervalNs: step,
                                                  mid: (Double(bid) + Double(ask)) / 2, tick: 1)
        print("RealDataGLFTTests: \(trades) trades, λ(δ) = \(fit.A)·e^(−\(fit.k)·δ) per s (δ in cents), "
              + "λ at 0.5/1.5/2.5 cents: \(fills.intensity(bucket: 0)) \(fills.intensity(bucket: 1)) \(fills.intensity(bucket: 2)), "
              + "σ = \(sigma) cents/√s over the last minute")
        #expect(fit.A.isFinite && fit.A > 0 && fit.k.isFinite && fit.k > 0)
        #expect(sigma.isFinite && sigma > 0)

        var mm = GLFTQuoter(GLFTParameters(gamma: 0.05, A: 1, k: 1, sigma: sigma,
                                           shape: QuoteShape(tick: 1, size: 1, inventoryUnit: 1, maxPosition: 20)))
        mm.calibrate(A: fit.A, k: fit.k)
        let flat = mm.quote(locate: 1, bid: bid, ask: ask, position: 0)
        let long = mm.quote(locate: 1, bid: bid, ask: ask, position: 5)
        print("RealDataGLFTTests: touch \(bid)/\(ask) c1 \(mm.c1) c2 \(mm.c2): flat \(flat.bidPrice)/\(flat.askPrice), long 5 \(long.bidPrice)/\(long.askPrice)")
        #expect(flat.bidPrice > 0 && flat.bidPrice <= bid && flat.askPrice >= ask)
        #expect(long.bidPrice <= flat.bidPrice && long.askPrice <= flat.askPrice)   // long: lean to sell
    }
}

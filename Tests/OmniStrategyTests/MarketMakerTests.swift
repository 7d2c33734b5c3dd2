import Foundation
import OmniStrategy
import Testing

/// The paper's closed forms, written out here from the papers (not by calling the implementation),
/// then put on the grid with the rule `QuoteShape` documents, step by step:
/// floor the bid / ceil the ask (or round to nearest, ties to even), widen to the minimum
/// spread (the odd tick to the ask), keep behind the touch (or off the opposite touch when
/// improving is allowed). Every table row also carries the expected ticks worked out by hand
/// (Python, same formulas) so a change in either shows.
private func onGrid(bid: Double, ask: Double, bestBid: UInt32, bestAsk: UInt32, tick: UInt32,
                    minSpread: Int64 = 1, improve: Bool = false, nearest: Bool = false) -> (Int64, Int64) {
    var b = Int64(nearest ? bid.rounded(.toNearestOrEven) : bid.rounded(.down))
    var a = Int64(nearest ? ask.rounded(.toNearestOrEven) : ask.rounded(.up))
    let short = minSpread - (a - b)
    if short > 0 { b -= short / 2; a += short - short / 2 }
    let bidTouch = Int64(bestBid / tick), askTouch = Int64((bestAsk + tick - 1) / tick)
    if improve { b = min(b, askTouch - 1); a = max(a, bidTouch + 1) } else { b = min(b, bidTouch); a = max(a, askTouch) }
    return (b, a)
}

@Suite struct AvellanedaStoikovTests {
    // γ = 0.1 per tick per 100 shares, k = 1.5 per tick, σ = 2 ticks/√s, T = 10 s; ticks of 100 (one cent).
    static let gamma = 0.1, k = 1.5, sigma = 2.0, T = 10.0

    func quoter(improve: Bool = false, minSpread: UInt32 = 1, maxPosition: Int64 = 1_000) -> AvellanedaStoikovQuoter {
        AvellanedaStoikovQuoter(AvellanedaStoikovParameters(
            gamma: Self.gamma, k: Self.k, sigma: Self.sigma, horizonSeconds: Self.T,
            shape: QuoteShape(tick: 100, size: 100, inventoryUnit: 100, maxPosition: maxPosition,
                              minSpreadTicks: minSpread, mayImproveTouch: improve)))
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var bid: UInt32, ask: UInt32, position: Int64, elapsed: Double
        var improve = false, minSpread: Int64 = 1
        var wantBidTicks: Int64, wantAskTicks: Int64
        var testDescription: String { "touch \(bid)/\(ask) pos \(position) t=\(elapsed)s improve=\(improve) min=\(minSpread)" }
    }

    @Test(arguments: [
        // s = 10002, q = 0, T−t = 10: r = s, δa = δb = γσ²τ/2 + (1/γ)ln(1+γ/k) = 2 + 0.64539 = 2.64539
        Row(bid: 1_000_000, ask: 1_000_400, position: 0, elapsed: 0, wantBidTicks: 9_999, wantAskTicks: 10_005),
        // q = 3: δb = 7·0.4·10/2 + 0.645 = 14.645, δa = −5·2 + 0.645 = −9.355: the ask lands below
        // the best ask and is held at it (10004)
        Row(bid: 1_000_000, ask: 1_000_400, position: 300, elapsed: 0, wantBidTicks: 9_987, wantAskTicks: 10_004),
        // q = −2, T−t = 5: δb = −3·0.4·5/2 + 0.645 = −2.355 (bid through the touch: held at 10000), δa = 5.645
        Row(bid: 1_000_000, ask: 1_000_400, position: -200, elapsed: 5, wantBidTicks: 10_000, wantAskTicks: 10_008),
        // past the horizon: δ = 0.645 each side, behind the touch: the touch itself
        Row(bid: 1_000_000, ask: 1_000_400, position: 0, elapsed: 20, wantBidTicks: 10_000, wantAskTicks: 10_004),
        // ... and inside the spread when improving is allowed: 10001.35 → 10001, 10002.65 → 10003
        Row(bid: 1_000_000, ask: 1_000_400, position: 0, elapsed: 20, improve: true, wantBidTicks: 10_001, wantAskTicks: 10_003),
        // ... widened to a 6-tick minimum spread: 2 short ticks each side
        Row(bid: 1_000_000, ask: 1_000_400, position: 0, elapsed: 20, improve: true, minSpread: 6, wantBidTicks: 9_999, wantAskTicks: 10_005),
        // mid on a half tick (10000.5), q = 1, T−t = 8: δb = 3·0.4·8/2 + 0.645 = 5.445, δa = −0.955
        Row(bid: 1_000_000, ask: 1_000_100, position: 100, elapsed: 2, wantBidTicks: 9_995, wantAskTicks: 10_001),
    ])
    func quotesEqualThePaper(_ row: Row) {
        // Avellaneda & Stoikov (2008), eqs. (29)-(30), as distances from the mid s:
        //   δᵇ = (1 + 2q)·γσ²(T−t)/2 + (1/γ)·ln(1 + γ/k),  δᵃ = (1 − 2q)·γσ²(T−t)/2 + (1/γ)·ln(1 + γ/k)
        // (r = s − qγσ²(T−t) and δᵃ + δᵇ = γσ²(T−t) + (2/γ)ln(1 + γ/k), rearranged).
        let g = Self.gamma, s = (Double(row.bid) + Double(row.ask)) / 200, q = Double(row.position) / 100
        let tau = max(0, Self.T - row.elapsed)
        let liquidity = 1 / g * log(1 + g / Self.k)
        #expect(abs(liquidity - 0.6453852113757117) < 1e-12)
        let deltaB = (1 + 2 * q) * g * Self.sigma * Self.sigma * tau / 2 + liquidity
        let deltaA = (1 - 2 * q) * g * Self.sigma * Self.sigma * tau / 2 + liquidity
        let (b, a) = onGrid(bid: s - deltaB, ask: s + deltaA, bestBid: row.bid, bestAsk: row.ask, tick: 100,
                            minSpread: row.minSpread, improve: row.improve)
        print("A-S \(row.testDescription): s=\(s) q=\(q) T−t=\(tau) δb=\(deltaB) δa=\(deltaA) bid=\(s - deltaB)→\(b) ask=\(s + deltaA)→\(a)")
        #expect((b, a) == (row.wantBidTicks, row.wantAskTicks))

        var mm = quoter(improve: row.improve, minSpread: UInt32(row.minSpread))
        mm.advance(elapsedSeconds: row.elapsed)
        let (r, spread) = mm.model(midTicks: s, q: q)
        #expect(abs(r - (s - q * g * Self.sigma * Self.sigma * tau)) < 1e-9)
        #expect(abs(spread - (deltaA + deltaB)) < 1e-9)
        #expect(mm.quote(locate: 1, bid: row.bid, ask: row.ask, position: row.position)
                == QuoteTarget(bidPrice: UInt32(b * 100), askPrice: UInt32(a * 100), size: 100))
    }

    @Test func stopsOnAOneSidedOrCrossedBook() {
        let mm = quoter()
        #expect(mm.quote(locate: 1, bid: 0, ask: 1_000_400, position: 0) == .none)
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 0, position: 0) == .none)
        #expect(mm.quote(locate: 1, bid: 1_000_400, ask: 1_000_400, position: 0) == .none)
        #expect(mm.quote(locate: 1, bid: 1_000_500, ask: 1_000_400, position: 0) == .none)
    }

    @Test func inventoryLimitsDropTheSideThatWouldPassThem() {
        let mm = quoter(maxPosition: 300)
        let long = mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: 250)
        #expect(long.bidPrice == 0 && long.askPrice > 0)
        let short = mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: -250)
        #expect(short.askPrice == 0 && short.bidPrice > 0)
    }

    @Test func aStableInputGivesAStableTarget() {
        let mm = quoter()
        let first = mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: 100)
        for _ in 0..<100 { #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: 100) == first) }
    }

    @Test func nonsenseVolatilityQuotesNothing() {
        var mm = quoter()
        mm.sigma = .nan
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: 0) == .none)
        mm.sigma = .infinity
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_400, position: 100) == .none)
    }
}

@Suite struct GLFTTests {
    // γ = ξ = 0.05, Δ = 1 (one 100-share order), A = 0.8 fills/s, k = 0.3 per tick, σ = 3 ticks/√s.
    static let gamma = 0.05, A = 0.8, k = 0.3, sigma = 3.0, delta = 1.0

    func quoter(improve: Bool = false, nearest: Bool = false, maxPosition: Int64 = 2_000) -> GLFTQuoter {
        GLFTQuoter(GLFTParameters(gamma: Self.gamma, A: Self.A, k: Self.k, sigma: Self.sigma,
                                  shape: QuoteShape(tick: 100, size: 100, inventoryUnit: 100, maxPosition: maxPosition,
                                                    mayImproveTouch: improve, rounding: nearest ? .nearest : .outward)))
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var bid: UInt32, ask: UInt32, position: Int64
        var improve = false, nearest = false
        var wantBidTicks: Int64, wantAskTicks: Int64
        var testDescription: String { "touch \(bid)/\(ask) pos \(position) improve=\(improve) nearest=\(nearest)" }
    }

    @Test(arguments: [
        // mid 10000.5, q = 0: δ = c1 + Δ/2·c2σ = 3.0830 + 0.8304 = 3.9134 each side
        Row(bid: 1_000_000, ask: 1_000_100, position: 0, wantBidTicks: 9_996, wantAskTicks: 10_005),
        Row(bid: 1_000_000, ask: 1_000_100, position: 0, nearest: true, wantBidTicks: 9_997, wantAskTicks: 10_004),
        // q = 1: δb = 3.9134 + 1.6607 = 5.5741, δa = 2.2526
        Row(bid: 1_000_000, ask: 1_000_100, position: 100, wantBidTicks: 9_994, wantAskTicks: 10_003),
        Row(bid: 1_000_000, ask: 1_000_100, position: 100, nearest: true, wantBidTicks: 9_995, wantAskTicks: 10_003),
        // q = −3: δb = −1.0688 (through the touch: held at the best bid), δa = 8.8956
        Row(bid: 1_000_000, ask: 1_000_100, position: -300, wantBidTicks: 10_000, wantAskTicks: 10_010),
        Row(bid: 1_000_000, ask: 1_000_100, position: -300, nearest: true, wantBidTicks: 10_000, wantAskTicks: 10_009),
        // a 20-tick spread, improving allowed: mid 10010, q = 2: δb = 7.2348, δa = 0.5919
        Row(bid: 1_000_000, ask: 1_002_000, position: 200, improve: true, wantBidTicks: 10_002, wantAskTicks: 10_011),
        // ... and held at the touch when it is not (hftbacktest's min(bid, best_bid) / max(ask, best_ask))
        Row(bid: 1_000_000, ask: 1_002_000, position: 200, wantBidTicks: 10_000, wantAskTicks: 10_020),
    ])
    func quotesEqualTheClosedForm(_ row: Row) {
        // Guéant, Lehalle & Fernandez-Tapia (2013), the asymptotic approximation (their eqs. 4.6-4.7,
        // as hftbacktest's GLFT example writes them), with σ inside the square root:
        //   δᵇ(q) = 1/(ξΔ)·ln(1 + ξΔ/k) + (2q + Δ)/2 · sqrt( γσ²/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )
        //   δᵃ(q) = 1/(ξΔ)·ln(1 + ξΔ/k) − (2q − Δ)/2 · sqrt( γσ²/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )
        let g = Self.gamma, xi = Self.gamma, D = Self.delta, k = Self.k, A = Self.A, sig = Self.sigma
        let s = (Double(row.bid) + Double(row.ask)) / 200, q = Double(row.position) / 100
        let first = 1 / (xi * D) * log(1 + xi * D / k)
        let root = (g * sig * sig / (2 * A * D * k) * pow(1 + xi * D / k, k / (xi * D) + 1)).squareRoot()
        #expect(abs(first - 3.0830135965451673) < 1e-12)       // c1
        #expect(abs(root / sig - 0.5535771394698842) < 1e-12)  // c2
        let deltaB = first + (2 * q + D) / 2 * root
        let deltaA = first - (2 * q - D) / 2 * root
        let (b, a) = onGrid(bid: s - deltaB, ask: s + deltaA, bestBid: row.bid, bestAsk: row.ask, tick: 100,
                            improve: row.improve, nearest: row.nearest)
        print("GLFT \(row.testDescription): s=\(s) q=\(q) c1=\(first) c2σ=\(root) δb=\(deltaB) δa=\(deltaA) bid=\(s - deltaB)→\(b) ask=\(s + deltaA)→\(a)")
        #expect((b, a) == (row.wantBidTicks, row.wantAskTicks))

        let mm = quoter(improve: row.improve, nearest: row.nearest)
        #expect(abs(mm.c1 - first) < 1e-12 && abs(mm.c2 * sig - root) < 1e-12)
        let m = mm.model(q: q)
        #expect(abs(m.bidDepth - deltaB) < 1e-9 && abs(m.askDepth - deltaA) < 1e-9)
        #expect(mm.quote(locate: 1, bid: row.bid, ask: row.ask, position: row.position)
                == QuoteTarget(bidPrice: UInt32(b * 100), askPrice: UInt32(a * 100), size: 100))
    }

    @Test func stopsOnAOneSidedOrCrossedBook() {
        let mm = quoter()
        #expect(mm.quote(locate: 1, bid: 0, ask: 1_000_100, position: 0) == .none)
        #expect(mm.quote(locate: 1, bid: 1_000_100, ask: 1_000_100, position: 0) == .none)
        #expect(mm.quote(locate: 1, bid: 1_000_200, ask: 1_000_100, position: 0) == .none)
    }

    @Test func inventoryLimits() {
        let mm = quoter(maxPosition: 500)
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_100, position: 500).bidPrice == 0)
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_100, position: -500).askPrice == 0)
        #expect(mm.quote(locate: 1, bid: 1_000_000, ask: 1_000_100, position: 400) != .none)
    }

    @Test func calibrationMovesTheCoefficientsAndABadFitIsIgnored() {
        var mm = quoter()
        let before = (mm.c1, mm.c2)
        mm.calibrate(A: .nan, k: 0.3); mm.calibrate(A: 1, k: -1)
        #expect((mm.c1, mm.c2) == before)
        mm.calibrate(A: 2.0, k: 0.5)
        let xd = 0.05
        #expect(abs(mm.c1 - 1 / xd * log(1 + xd / 0.5)) < 1e-12)
        #expect(abs(mm.c2 - (0.05 / (2 * 2.0 * 0.5) * pow(1 + xd / 0.5, 0.5 / xd + 1)).squareRoot()) < 1e-12)
    }
}

@Suite struct PerInstrumentTests {
    @Test func eachLocateHasItsOwnParametersAndAnUnconfiguredOneQuotesNothing() {
        let narrow = GLFTQuoter(GLFTParameters(gamma: 0.05, A: 0.8, k: 0.3, sigma: 0, shape: QuoteShape(mayImproveTouch: true)))
        let wide = GLFTQuoter(GLFTParameters(gamma: 0.05, A: 0.8, k: 0.3, sigma: 10, shape: QuoteShape(mayImproveTouch: true)))
        var book = PerInstrument(locateCapacity: 16, [(locate: UInt16(3), quoter: narrow), (locate: UInt16(7), quoter: wide)])
        let a = book.quote(locate: 3, bid: 1_000_000, ask: 1_002_000, position: 0)
        let b = book.quote(locate: 7, bid: 1_000_000, ask: 1_002_000, position: 0)
        #expect(a != .none && b != .none && b.askPrice - b.bidPrice > a.askPrice - a.bidPrice)
        #expect(book.quote(locate: 4, bid: 1_000_000, ask: 1_002_000, position: 0) == .none)
        #expect(book.quote(locate: 999, bid: 1_000_000, ask: 1_002_000, position: 0) == .none)
        book[7]?.sigma = 0   // in place: now the same as locate 3
        #expect(book.quote(locate: 7, bid: 1_000_000, ask: 1_002_000, position: 0) == a)
    }
}

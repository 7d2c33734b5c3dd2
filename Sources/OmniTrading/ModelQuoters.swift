import CEvent
import OmniStrategy

/// A market maker whose model wants σ (ticks per √second) and, optionally, a fill-intensity fit:
/// what `ModelQuoters` feeds. Avellaneda–Stoikov and GLFT conform.
public protocol VolatilityQuoter: Strategy {
    var sigma: Double { get set }
    /// A valid λ(δ) = A·e^(−kδ) fit (δ in ticks).
    mutating func calibrate(A: Double, k: Double)
    /// Whether the model uses `calibrate` (a FillIntensity is kept only then).
    static var usesFillIntensity: Bool { get }
}

extension GLFTQuoter: VolatilityQuoter {
    public static var usesFillIntensity: Bool { true }
}

extension AvellanedaStoikovQuoter: VolatilityQuoter {
    /// k stays as configured: the fill-intensity fit feeds GLFT only.
    public mutating func calibrate(A: Double, k: Double) {}
    public static var usesFillIntensity: Bool { false }
}

/// One instrument of `ModelQuoters`: the model quoter and the signals it is fed from.
public struct ModelInstrument<Q: VolatilityQuoter> {
    public var quoter: Q
    public var volatility: RealizedVolatility
    /// Our own fills by depth from the mid (GLFT only): λ(δ) of the quotes we actually work.
    public var intensity: FillIntensity?
    public let tick: UInt32
    var bid: UInt32 = 0, ask: UInt32 = 0
    /// Calibrations applied from a valid fit.
    public internal(set) var calibrations = 0
}

/// Every configured instrument quoted by one model (A-S or GLFT), each with its own σ from a
/// `RealizedVolatility` fed the touch on its book changes, and for GLFT its own `FillIntensity`
/// fed our fills, stepped every 100 ms on the loop's clock and refitted every 5 s (the
/// hftbacktest example's cadence), `calibrate(A:k:)` applied when the fit is valid. Sized at
/// init: the per-locate index and the instruments never grow, so quoting allocates nothing.
public struct ModelQuoters<Q: VolatilityQuoter>: Strategy {
    public static var intensityStepNs: UInt64 { 100_000_000 }
    public static var intensityWindowSteps: Int { 6_000 }       // 10 minutes, as the example
    public static var refitEveryNs: UInt64 { 5_000_000_000 }

    var index: [Int32]                          // by locate: into `instruments`, −1 none
    public private(set) var instruments: [ModelInstrument<Q>]
    var nowNs: UInt64 = 0
    var nextStepNs: UInt64 = 0
    var nextFitNs: UInt64 = 0

    /// `byLocate[locate]` is the instrument's configuration; `make` builds its quoter.
    public init(_ byLocate: [UInt16: RunConfig.Instrument], model: RunConfig.Model, make: (RunConfig.Instrument, QuoteShape) -> Q) {
        index = Array(repeating: -1, count: Int(byLocate.keys.max() ?? 0) + 1)
        instruments = []
        instruments.reserveCapacity(byLocate.count)
        for (l, i) in byLocate.sorted(by: { $0.key < $1.key }) {
            let shape = QuoteShape(tick: i.tick, size: i.size, inventoryUnit: Int64(i.size), maxPosition: i.maxPosition)
            index[Int(l)] = Int32(instruments.count)
            instruments.append(ModelInstrument(
                quoter: make(i, shape),
                volatility: RealizedVolatility(intervalNs: model.sigmaIntervalNs, window: model.sigmaWindow),
                intensity: Q.usesFillIntensity ? FillIntensity(bucketWidth: i.tick, windowSteps: Self.intensityWindowSteps,
                                                                stepSeconds: Double(Self.intensityStepNs) / 1e9) : nil,
                tick: i.tick))
        }
    }

    public subscript(locate: UInt16) -> ModelInstrument<Q>? {
        Int(locate) < index.count && index[Int(locate)] >= 0 ? instruments[Int(index[Int(locate)])] : nil
    }

    public mutating func onClock(nowNs now: UInt64) {
        nowNs = now
        guard Q.usesFillIntensity else { return }
        if nextStepNs == 0 { nextStepNs = now + Self.intensityStepNs; nextFitNs = now + Self.refitEveryNs; return }
        if now >= nextStepNs {
            // A stall of many steps closes at most a window's worth (the rest would only be empty steps).
            let elapsed = (now - nextStepNs) / Self.intensityStepNs + 1
            let steps = min(elapsed, UInt64(Self.intensityWindowSteps))
            nextStepNs += elapsed * Self.intensityStepNs
            for j in instruments.indices {
                let (b, a) = (instruments[j].bid, instruments[j].ask)
                for _ in 0..<steps { instruments[j].intensity!.endStep(bid: b, ask: a) }
            }
        }
        if now >= nextFitNs {
            nextFitNs = now + Self.refitEveryNs
            for j in instruments.indices {
                if let f = instruments[j].intensity!.fit(), f.A.isFinite, f.k.isFinite, f.A > 0, f.k > 0 {
                    instruments[j].quoter.calibrate(A: f.A, k: f.k)
                    instruments[j].calibrations += 1
                }
            }
        }
    }

    public mutating func onFill(locate: UInt16, side: UInt8, price: UInt32, quantity: UInt32) {
        guard Int(locate) < index.count, index[Int(locate)] >= 0, Q.usesFillIntensity else { return }
        // Our bid filled: the aggressor sold; our ask filled: the aggressor bought.
        instruments[Int(index[Int(locate)])].intensity!.trade(price: price, buyerInitiated: side == UInt8(OMNI_SIDE_SELL))
    }

    public mutating func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        guard Int(locate) < index.count, index[Int(locate)] >= 0 else { return .none }
        let j = Int(index[Int(locate)])
        instruments[j].bid = bid; instruments[j].ask = ask
        instruments[j].volatility.update(nowNs: nowNs, bid: bid, ask: ask)
        let v = instruments[j].volatility.rollingVariance
        // Warm-up: no quote (and the loop cancels any) until σ's window holds sigma_window returns.
        guard v.isFinite, bid > 0, ask > bid else { return .none }
        instruments[j].quoter.sigma = RealizedVolatility.sigmaTicks(variance: v, intervalNs: instruments[j].volatility.intervalNs,
                                                                    mid: (Double(bid) + Double(ask)) / 2, tick: instruments[j].tick)
        return instruments[j].quoter.quote(locate: locate, bid: bid, ask: ask, position: position)
    }
}

extension ModelQuoters where Q == GLFTQuoter {
    /// GLFT on every instrument: γ, k and A from `model` (A and k until the fill-intensity fit is valid).
    public init(glft byLocate: [UInt16: RunConfig.Instrument], model: RunConfig.Model) {
        self.init(byLocate, model: model) { _, shape in
            GLFTQuoter(GLFTParameters(gamma: model.gamma, A: model.a, k: model.k, sigma: 0, shape: shape))
        }
    }
}

extension ModelQuoters where Q == AvellanedaStoikovQuoter {
    /// Avellaneda–Stoikov on every instrument: γ, k and the (rolling) horizon from `model`.
    public init(avellanedaStoikov byLocate: [UInt16: RunConfig.Instrument], model: RunConfig.Model) {
        self.init(byLocate, model: model) { _, shape in
            AvellanedaStoikovQuoter(AvellanedaStoikovParameters(gamma: model.gamma, k: model.k, sigma: 0,
                                                                horizonSeconds: model.horizonSeconds, shape: shape))
        }
    }
}

import Glibc
import OmniCore

/// Rates and sizes of the zero-intelligence order flow of Cont, Stoikov & Talreja (2010), "A stochastic
/// model for order book dynamics" (Operations Research 58(3)). Per instrument and per side, independent
/// Poisson streams:
///
/// - limit orders at `i` ticks from the opposite best quote (a buy at best ask − i ticks, a sell at best
///   bid + i ticks), i = 1...`depth`, rate λ(i) = `k` / i^`alpha` per second — never marketable, and
///   inside the spread when the spread is wider than i ticks;
/// - market orders, rate `mu` per second;
/// - cancellations: each resting order at `i` ticks from the opposite best is canceled at rate θ(i)
///   per second (so a level's cancel rate is proportional to the orders in it); orders beyond
///   `theta.count` ticks (the quote moved away) use the last θ.
///
/// All rates are per second of venue time and scale with the generator's intensity. The paper's book
/// is in units of one order; here every order (limit or market) has a size drawn in lots, see `sizeUnit`.
///
/// One addition to the paper, `reversionBasisPoints`: a ZI book's mid is a random walk, which over a
/// long day wanders to the price band. With reversion on, the market-order rate stays 2μ per instrument
/// but its split between buys and sells leans against the mid's distance from the reference price.
public struct OrderFlowModel: Sendable {
    /// λ(i) = k / i^alpha, limit orders per second per side at i ticks from the opposite best.
    public var k: Double
    public var alpha: Double
    /// D: the farthest distance (ticks from the opposite best) at which limit orders arrive.
    public var depth: Int
    /// Market orders per second per side.
    public var mu: Double
    /// θ(i) for i = 1...theta.count, per resting order per second; farther orders use the last value.
    public var theta: [Double]
    /// Sizes: `sizeUnit` lots × n, n ≥ 1 geometric with mean `meanSizeUnits`, at most `maxSizeUnits`.
    public var sizeUnit: UInt32
    public var meanSizeUnits: Double
    public var maxSizeUnits: UInt32
    /// Mid-reversion scale in basis points of the reference price; 0 turns it off (the paper's model).
    /// Market buys arrive at rate μ(1 − tanh x), sells at μ(1 + tanh x), x = (mid − reference) / scale.
    public var reversionBasisPoints: Double
    /// Share of cancel events made as a replace instead: the order moves to a fresh distance drawn
    /// from λ (same side, same size), a quote update that real feeds carry as U. 0 is the paper's model.
    public var replaceShare: Double

    public init(k: Double, alpha: Double, depth: Int, mu: Double, theta: [Double], sizeUnit: UInt32 = 100,
                meanSizeUnits: Double = 2, maxSizeUnits: UInt32 = 20, reversionBasisPoints: Double = 50, replaceShare: Double = 0) {
        self.k = k; self.alpha = alpha; self.depth = depth; self.mu = mu; self.theta = theta
        self.sizeUnit = sizeUnit; self.meanSizeUnits = meanSizeUnits; self.maxSizeUnits = maxSizeUnits
        self.reversionBasisPoints = reversionBasisPoints; self.replaceShare = replaceShare
    }

    /// The paper's estimates from Tokyo Stock Exchange data (its Table 2, as recalled here: k = 1.92,
    /// α = 0.52, μ = 0.94, θ(1...5) = 0.71, 0.81, 0.68, 0.56, 0.47), depth 10 with θ = 0.47 beyond 5
    /// ticks (our choice), sizes 100 lots × n, mean n = 2, n ≤ 20, reversion scale 50 bp.
    /// Per instrument: ~20.7 arrivals/s, ~33 resting orders, ~40 ITCH messages/s at intensity 1.
    public static let `default` = OrderFlowModel(k: 1.92, alpha: 0.52, depth: 10, mu: 0.94, theta: [0.71, 0.81, 0.68, 0.56, 0.47])

    /// `default` with 15 % of its cancels made as replaces (quotes moved rather than pulled): about
    /// one U for every six D, U near 6 % of the messages, as in the NASDAQ-like proportions of
    /// OmniFeed's SyntheticDay (replaces ~7 %, deletes ~40 %). What `omni gen itch` and `omni sim` run.
    public static let quoting: OrderFlowModel = {
        var m = OrderFlowModel.default
        m.replaceShare = 0.15
        return m
    }()

    /// λ(i), i = 1...depth.
    public func lambda(_ i: Int) -> Double { k / pow(Double(i), alpha) }
    /// θ(i), i ≥ 1 (clamped to the table).
    public func cancelRate(_ i: Int) -> Double { theta[min(max(i, 1), theta.count) - 1] }
    /// Limit and market arrivals per second per instrument, both sides: 2 Σλ(i) + 2μ.
    public var arrivalsPerSecond: Double { 2 * (1...max(depth, 1)).reduce(0) { $0 + lambda($1) } + 2 * mu }
    /// Resting orders per instrument if each level were only fed and canceled: 2 Σ λ(i)/θ(i).
    public var restingPerInstrument: Double { 2 * (1...max(depth, 1)).reduce(0) { $0 + lambda($1) / cancelRate($1) } }
    /// A rough ITCH message rate per instrument at intensity 1: every limit order is an A and later a D
    /// or E, a market order about one E.
    public var approximateMessagesPerSecond: Double { 2 * (arrivalsPerSecond - 2 * mu) + 2 * mu }
}

/// What the generator did, counted since its start.
public struct OrderFlowStats: Sendable {
    /// Calls into the venue (submits, cancels and replaces, bootstrap included).
    public var operations: UInt64 = 0
    public var bootstrapOrders: UInt64 = 0
    public var limitOrders: UInt64 = 0
    public var marketBuys: UInt64 = 0
    public var marketSells: UInt64 = 0
    public var cancels: UInt64 = 0
    /// Cancel events made as replaces (`OrderFlowModel.replaceShare`), and those whose fresh
    /// distance was the one the order rests at (no venue call).
    public var replaces: UInt64 = 0
    public var movesInPlace: UInt64 = 0
    /// Cancel candidates thinned away (the order's θ(i) below the maximum θ): no venue call.
    public var cancelsThinned: UInt64 = 0
    /// Table entries found filled (or canceled by someone else) when picked: dropped, no venue call.
    public var staleEntries: UInt64 = 0
    /// Limit orders not sent, or moves made as cancels: the price fell outside the venue's band.
    public var outsideBand: UInt64 = 0
    /// Limit orders not sent: the generator's table of resting orders was full.
    public var tableFull: UInt64 = 0
    /// Venue calls that the venue refused (submit returned .none, cancel returned false).
    public var rejected: UInt64 = 0
    public init() {}
    /// rejected / operations.
    public var rejectRate: Double { operations == 0 ? 0 : Double(rejected) / Double(operations) }
}

/// Generates Cont–Stoikov–Talreja order flow (`OrderFlowModel`) into a `Venue` for its listed instruments,
/// as one session. Deterministic: the same instruments, model, intensity and seed give the same venue
/// calls at the same times, so the same ITCH bytes from the same venue.
///
/// The instruments form one Poisson process (the superposition of every instrument's streams): the next
/// event is an arrival (limit or market, instrument uniform: all share one model) with probability
/// I·A / R, else a cancel candidate, R = I·A + θmax·n (I instruments, A = `arrivalsPerSecond`, n resting
/// orders in the table). A candidate picks one resting order uniformly and cancels it with probability
/// θ(i)/θmax (thinning), which gives each order its own rate θ(i) exactly.
///
/// The generator keeps its resting orders in a preallocated table (capacity `capacity`); filled orders are
/// found lazily (`Venue.isLive`) when picked. Nothing is allocated after `init`.
///
/// Own orders never self-match: limit orders carry owner `restingOwner`, market orders `marketOwner`.
/// The venue clock is only moved forward (`venue.now = max(now, event time)`), so ITCH timestamps stay
/// monotonic when other sessions share the venue. A rate-limited venue should exempt this session
/// (`VenueConfig.unlimitedSession`); otherwise its rejects show in `stats.rejected`.
public struct OrderFlowGenerator: Sendable {
    public static let restingOwner: UInt32 = 0xFFFF_FF01
    public static let marketOwner: UInt32 = 0xFFFF_FF02

    public let model: OrderFlowModel
    public let intensity: Double
    public let session: SessionID
    public let instruments: [InstrumentSpec]
    /// Most resting orders the generator tracks, all instruments together: size `VenueConfig.maxOrders` above it.
    public let capacity: Int
    public var stats: OrderFlowStats { counts }
    /// Limit orders sent per distance i (index i, 1...depth), and cancels made per distance (orders farther
    /// than depth counted at depth).
    public var limitsAtDistance: [UInt64] { limitsAt }
    public var cancelsAtDistance: [UInt64] { cancelsAt }

    @usableFromInline var counts = OrderFlowStats()
    @usableFromInline var limitsAt: [UInt64]
    @usableFromInline var cancelsAt: [UInt64]

    @usableFromInline var rng: SeededRandom
    @usableFromInline var started = false
    /// Time of the next event, venue ns (fractional).
    @usableFromInline var next: Double = 0
    /// Per instrument: index into the venue's books; last seen best bid / ask (anchors when a side is empty).
    @usableFromInline var bookSlot: [Int32]
    @usableFromInline var lastBid: [UInt32]
    @usableFromInline var lastAsk: [UInt32]
    @usableFromInline var table: [RestingEntry]
    @usableFromInline var count = 0
    /// Cumulative λ(1...i) / Σλ, for picking a limit order's distance.
    @usableFromInline let lambdaCumulative: [Double]
    /// θ(i) / θmax, i = 0...depth (index 0 unused).
    @usableFromInline let thetaShare: [Double]
    @usableFromInline let thetaMax: Double
    /// Per second: arrivals of one instrument (A), and its market share 2μ / A.
    @usableFromInline let arrivals: Double
    @usableFromInline let marketShare: Double
    /// Size sampling: 1 / ln(1 − p) of the geometric, or 0 for fixed size.
    @usableFromInline let sizeLogInverse: Double

    public init(instruments: [InstrumentSpec], model: OrderFlowModel = .default, intensity: Double = 1, seed: UInt64,
                session: SessionID = 0, capacity: Int? = nil) {
        precondition(model.depth >= 1 && !model.theta.isEmpty && model.theta.allSatisfy { $0 > 0 }, "OrderFlowModel: depth ≥ 1, θ > 0")
        precondition(intensity > 0 && model.k > 0 && model.mu >= 0 && model.sizeUnit > 0 && model.maxSizeUnits > 0)
        self.model = model
        self.intensity = intensity
        self.session = session
        self.instruments = instruments
        let d = model.depth
        // Twice the mean resting count plus slack for fluctuations and not-yet-dropped filled entries.
        self.capacity = capacity ?? Int(2 * model.restingPerInstrument * Double(instruments.count)) + 256
        limitsAt = Array(repeating: 0, count: d + 1)
        cancelsAt = Array(repeating: 0, count: d + 1)
        rng = SeededRandom(seed: seed)
        bookSlot = Array(repeating: -1, count: instruments.count)
        lastBid = instruments.map { $0.referencePrice / max($0.tick, 1) * max($0.tick, 1) }
        lastAsk = lastBid
        table = Array(repeating: RestingEntry(id: .none, instrument: 0, side: .bid), count: self.capacity)
        var cum: [Double] = [], total = 0.0
        for i in 1...d { total += model.lambda(i); cum.append(total) }
        lambdaCumulative = cum.map { $0 / total }
        let thetas = (1...d).map { model.cancelRate($0) }
        let tmax = thetas.max()!
        thetaMax = tmax
        thetaShare = [0] + thetas.map { $0 / tmax }
        arrivals = model.arrivalsPerSecond
        marketShare = 2 * model.mu / arrivals
        let p = 1 / max(model.meanSizeUnits, 1)
        sizeLogInverse = p >= 1 ? 0 : 1 / log(1 - p)
    }

    /// Resting orders the generator believes it has (some may have been filled since; see `staleEntries`).
    public var restingOrders: Int { count }
    /// Venue time (ns) of the next event; `.max` before the first `run`.
    public var nextEventNs: UInt64 { started && next < 0x1p64 ? UInt64(next) : .max }

    /// Submits to `venue` every generated event due at or before `untilNs` (venue clock, ns); sets
    /// venue.now to each event's time (never backwards). The first call lists the book: for every
    /// instrument and side, round(λ(i)/θ(i)) orders (at least one) at i ticks from the reference price,
    /// i = 1...depth, at the venue's current time. Returns the number of venue operations made.
    @inlinable
    public mutating func run<E: VenueEventSink, F: ITCHSink>(until untilNs: UInt64, on venue: Venue<E, F>) -> Int {
        let before = counts.operations
        if !started { bootstrap(venue) }
        while next < Double(untilNs) + 1 {  // i.e. floor(next) <= untilNs, and never for an infinite next
            let t = UInt64(next)
            if t > venue.now { venue.now = t }
            step(venue)
            schedule()
        }
        return Int(counts.operations - before)
    }

    // MARK: internals

    /// `ticks` ticks above or below `base`; nil when that leaves the positive UInt32 prices
    /// (an instrument priced near 429,496.7295 has no room above it).
    @inlinable static func price(_ base: UInt32, ticks: Int, of tick: UInt32, up: Bool) -> UInt32? {
        let (d, o) = UInt32(clamping: ticks).multipliedReportingOverflow(by: tick)
        if o { return nil }
        if up { let (p, o2) = base.addingReportingOverflow(d); return o2 ? nil : p }
        return base > d ? base - d : nil
    }

    @inlinable mutating func bootstrap<E: VenueEventSink, F: ITCHSink>(_ venue: Venue<E, F>) {
        started = true
        for j in 0..<instruments.count {
            let bi = venue.core.pointee.bookIndex[Int(instruments[j].locate)]
            precondition(bi >= 0, "OrderFlowGenerator: locate \(instruments[j].locate) is not listed by the venue")
            bookSlot[j] = bi
            let tick = venue.core.pointee.books[Int(bi)].tick
            let ref = lastBid[j]
            for i in 1...model.depth {
                let n = max(1, Int((model.lambda(i) / model.cancelRate(i)).rounded()))
                for _ in 0..<n {
                    if let p = Self.price(ref, ticks: i, of: tick, up: false) { place(venue, j, .bid, price: p, distance: 0) }
                    if let p = Self.price(ref, ticks: i, of: tick, up: true) { place(venue, j, .ask, price: p, distance: 0) }
                }
            }
            _ = anchors(venue, j)
        }
        next = Double(venue.now)
        schedule()
    }

    /// Draws the time of the next event from the current total rate.
    @inlinable mutating func schedule() {
        let perSecond = (Double(instruments.count) * arrivals + thetaMax * Double(count)) * intensity
        guard perSecond > 0 else { next = .infinity; return }
        next += rng.exponential() * 1e9 / perSecond
    }

    @inlinable mutating func step<E: VenueEventSink, F: ITCHSink>(_ venue: Venue<E, F>) {
        let arrivalRate = Double(instruments.count) * arrivals
        let u = rng.unit() * (arrivalRate + thetaMax * Double(count))
        if u < arrivalRate {
            let j = min(Int(u / arrivals), instruments.count - 1)
            let (bid, ask) = anchors(venue, j)
            let v = rng.unit()
            if v < marketShare {
                var buyShare = 0.5
                if model.reversionBasisPoints > 0 {
                    let ref = Double(instruments[j].referencePrice)
                    buyShare = (1 - tanh(((Double(bid) + Double(ask)) / 2 - ref) / (ref * model.reversionBasisPoints / 10_000))) / 2
                }
                market(venue, j, rng.unit() < buyShare ? .bid : .ask)
            } else {
                let i = distance()
                let tick = venue.core.pointee.books[Int(bookSlot[j])].tick
                let up = rng.unit() >= 0.5
                if let p = Self.price(up ? bid : ask, ticks: i, of: tick, up: up) {
                    place(venue, j, up ? .ask : .bid, price: p, distance: i)
                } else {
                    counts.outsideBand &+= 1
                }
            }
        } else {
            let k = min(Int(rng.unit() * Double(count)), count - 1)
            let e = table[k]
            guard let o = venue.order(e.id) else {
                counts.staleEntries &+= 1
                remove(k)
                return
            }
            let j = Int(e.instrument)
            let (bid, ask) = anchors(venue, j)
            let tick = venue.core.pointee.books[Int(bookSlot[j])].tick
            let gap = e.side == .bid ? (ask > o.price ? ask - o.price : 0) : (o.price > bid ? o.price - bid : 0)
            let i = min(max(Int(gap / tick), 1), model.depth)
            guard rng.unit() < thetaShare[i] else { counts.cancelsThinned &+= 1; return }
            if model.replaceShare > 0 && rng.unit() < model.replaceShare {
                // A fresh distance from the opposite best, as a new arrival would take: never crosses.
                let price = Self.price(e.side == .bid ? ask : bid, ticks: distance(), of: tick, up: e.side == .ask) ?? 0
                let b = venue.core.pointee.books + Int(bookSlot[j])
                if price == o.price { counts.movesInPlace &+= 1; return } // drawn where it rests: nothing to do
                if price >= b.pointee.low && price <= b.pointee.high {
                    counts.operations &+= 1
                    if venue.replace(session: session, order: e.id, price: price, quantity: o.quantity) {
                        counts.replaces &+= 1
                    } else {
                        counts.rejected &+= 1
                    }
                    return
                }
                counts.outsideBand &+= 1 // the fresh distance is past the band: a plain cancel instead
            }
            counts.operations &+= 1
            if venue.cancel(session: session, order: e.id) {
                counts.cancels &+= 1
                cancelsAt[i] &+= 1
            } else {
                counts.rejected &+= 1
            }
            remove(k)
        }
    }

    /// A distance from the opposite best, 1...depth, drawn with probability λ(i) / Σλ.
    @inlinable mutating func distance() -> Int {
        let w = rng.unit()
        var i = 1
        while i < model.depth && w >= lambdaCumulative[i - 1] { i += 1 }
        return i
    }

    /// Best bid and ask of instrument `j`, or when a side is empty the last one seen, kept uncrossed.
    @inlinable mutating func anchors<E: VenueEventSink, F: ITCHSink>(_ venue: Venue<E, F>, _ j: Int) -> (UInt32, UInt32) {
        let b = venue.core.pointee.books + Int(bookSlot[j])
        let hasBid = b.pointee.bestBid >= 0, hasAsk = b.pointee.bestAsk < b.pointee.levelCount
        if hasBid { lastBid[j] = b.pointee.price(b.pointee.bestBid) }
        if hasAsk { lastAsk[j] = b.pointee.price(b.pointee.bestAsk) }
        let tick = b.pointee.tick
        if !hasBid && lastBid[j] >= lastAsk[j] { lastBid[j] = lastAsk[j] > tick ? lastAsk[j] - tick : 0 }
        if !hasAsk && lastAsk[j] <= lastBid[j] { lastAsk[j] = lastBid[j] &+ tick }
        return (lastBid[j], lastAsk[j])
    }

    @inlinable mutating func size(_ j: Int) -> UInt32 {
        var n: UInt32 = 1
        if sizeLogInverse != 0 {
            // Inverse CDF of the geometric on 1, 2, ...: 1 + floor(ln U / ln(1 − p)).
            let extra = (log(1 - rng.unit()) * sizeLogInverse).rounded(.down)
            n = extra >= Double(model.maxSizeUnits - 1) ? model.maxSizeUnits : 1 + UInt32(extra)
        }
        return n * model.sizeUnit * max(instruments[j].lot, 1)
    }

    @inlinable mutating func place<E: VenueEventSink, F: ITCHSink>(_ venue: Venue<E, F>, _ j: Int, _ side: Side, price: UInt32, distance: Int) {
        let b = venue.core.pointee.books + Int(bookSlot[j])
        guard price >= b.pointee.low && price <= b.pointee.high else { counts.outsideBand &+= 1; return }
        guard count < capacity else { counts.tableFull &+= 1; return }
        let qty = size(j)
        counts.operations &+= 1
        if distance == 0 { counts.bootstrapOrders &+= 1 } else { counts.limitOrders &+= 1; limitsAt[distance] &+= 1 }
        let id = venue.submit(session: session, order: NewOrder(locate: instruments[j].locate, side: side, price: price, quantity: qty,
                                                                owner: Self.restingOwner))
        if id == .none { counts.rejected &+= 1; return }
        if venue.isLive(id) {
            table[count] = RestingEntry(id: id, instrument: UInt32(j), side: side)
            count += 1
        }
    }

    @inlinable mutating func market<E: VenueEventSink, F: ITCHSink>(_ venue: Venue<E, F>, _ j: Int, _ side: Side) {
        let qty = size(j)
        counts.operations &+= 1
        if side == .bid { counts.marketBuys &+= 1 } else { counts.marketSells &+= 1 }
        let id = venue.submit(session: session, order: NewOrder(locate: instruments[j].locate, side: side, kind: .market, price: 0,
                                                                quantity: qty, owner: Self.marketOwner))
        if id == .none { counts.rejected &+= 1 }
    }

    @inlinable mutating func remove(_ k: Int) {
        count -= 1
        table[k] = table[count]
    }
}

/// One resting order of the generator.
@usableFromInline struct RestingEntry: Sendable {
    @usableFromInline var id: OrderID
    @usableFromInline var instrument: UInt32
    @usableFromInline var side: Side
    @usableFromInline init(id: OrderID, instrument: UInt32, side: Side) { self.id = id; self.instrument = instrument; self.side = side }
}

extension InstrumentSpec {
    /// `count` synthetic instruments SYN00001, SYN00002, ... (locates 1...count), reference prices
    /// log-uniform from 20.00 to 500.00 drawn from `seed`, tick 0.01, lot 1, band ± `bandBasisPoints`.
    public static func synthetic(count: Int, seed: UInt64, bandBasisPoints: UInt32 = 1000) -> [InstrumentSpec] {
        precondition((1...65535).contains(count), "synthetic instruments: 1...65535")
        var rng = SeededRandom(seed: seed ^ 0x5359_4E00)
        return (1...count).map { i in
            let digits = String(i)
            let name = "SYN" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
            let cents = (2_000 * pow(25, rng.unit())).rounded()
            return InstrumentSpec(locate: Locate(i), symbol: Symbol(name)!, referencePrice: UInt32(cents) * 100, bandBasisPoints: bandBasisPoints)
        }
    }
}

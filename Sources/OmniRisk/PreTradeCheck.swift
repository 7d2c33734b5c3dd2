import CEvent
import CRisk
import OmniCore

// The Swift face of CRisk (CKernels/CRisk/include/crisk.h): typed limits, one `PreTradeCheck`
// per trading loop, verdicts and counters by named reason. The checks themselves are C; this
// file only lays out the memory, converts the configuration and names the results. `check`
// allocates nothing: it hands the caller's event to crisk_check by pointer.

/// What refused an order: CRisk's check ids. `reason` is the `OMNI_REASON_RISK | id` an order
/// event carries.
public enum RiskCheck: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    case malformed = 1, notConfigured, killSwitch, dailyLoss, strategyDisabled, tradingState
    case orderQuantity, orderValue, reference, collar, selfCross, duplicate
    case instrumentExposure, strategyExposure, instrumentRate, strategyRate

    public var reason: UInt16 { UInt16(OMNI_REASON_RISK) | rawValue }

    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .notConfigured: "not configured"
        case .killSwitch: "kill switch"
        case .dailyLoss: "daily loss"
        case .strategyDisabled: "strategy disabled"
        case .tradingState: "trading state"
        case .orderQuantity: "order quantity"
        case .orderValue: "order value"
        case .reference: "no or stale reference"
        case .collar: "price collar"
        case .selfCross: "self cross"
        case .duplicate: "duplicate order"
        case .instrumentExposure: "instrument exposure"
        case .strategyExposure: "strategy exposure"
        case .instrumentRate: "instrument message rate"
        case .strategyRate: "strategy message rate"
        }
    }
}

public enum RiskVerdict: Equatable, Sendable {
    case pass
    case refused(RiskCheck)
    public var passed: Bool { self == .pass }
}

/// An instrument's trading state as the feed reports it; anything but `.trading` refuses.
public enum TradingState: UInt8, Sendable {
    case trading = 0, halted = 1, paused = 2, stale = 3
}

/// Why the kill switch is on.
public enum KillReason: UInt32, Sendable {
    case command = 1, dailyLoss = 2, signal = 3, disconnect = 4, staleFeed = 5
}

/// One instrument's limits. Prices in ITCH units (1/10000 $); values in ITCH units × shares.
/// The size limits have no default: a person states them.
public struct InstrumentLimits: Sendable, Equatable {
    public var maxOrderQuantity: UInt32
    /// price × qty of one order, ITCH units × shares ($1,000,000 = 10_000_000_000).
    public var maxOrderValue: UInt64
    /// Shares: position + working buys may reach `maxLong`, position − working sells `−maxShort`.
    public var maxLong: Int64
    public var maxShort: Int64
    /// Default 100 bp (1 %) beyond the touch: buys up to ask × 1.01, sells down to bid × 0.99.
    public var collarBasisPoints: UInt32
    /// Token bucket over new, replace and cancel messages: default 100 at once, 100 per second.
    public var messageBurst: UInt32
    public var messagesPerSecond: UInt32

    public init(maxOrderQuantity: UInt32, maxOrderValue: UInt64, maxLong: Int64, maxShort: Int64,
                collarBasisPoints: UInt32 = 100, messageBurst: UInt32 = 100, messagesPerSecond: UInt32 = 100) {
        self.maxOrderQuantity = maxOrderQuantity; self.maxOrderValue = maxOrderValue
        self.maxLong = maxLong; self.maxShort = maxShort; self.collarBasisPoints = collarBasisPoints
        self.messageBurst = messageBurst; self.messagesPerSecond = messagesPerSecond
    }
}

/// One strategy's limits: its session's message rate, its net exposure, the repeated-execution throttle.
public struct StrategyLimits: Sendable, Equatable {
    /// The strategy's net shares over all its instruments, working orders counted as if filled.
    public var maxLong: Int64
    public var maxShort: Int64
    /// Default 500 at once, 500 per second.
    public var messageBurst: UInt32
    public var messagesPerSecond: UInt32
    /// More than `maxFills` fills within `fillWindowNanoseconds` disables the strategy until
    /// `enableStrategy`. Default: 100 fills in 1 s.
    public var maxFills: UInt32
    public var fillWindowNanoseconds: UInt64

    public init(maxLong: Int64, maxShort: Int64, messageBurst: UInt32 = 500, messagesPerSecond: UInt32 = 500,
                maxFills: UInt32 = 100, fillWindowNanoseconds: UInt64 = 1_000_000_000) {
        self.maxLong = maxLong; self.maxShort = maxShort; self.messageBurst = messageBurst
        self.messagesPerSecond = messagesPerSecond; self.maxFills = maxFills; self.fillWindowNanoseconds = fillWindowNanoseconds
    }
}

/// Sizes, session-wide limits and the limits of every instrument and strategy allowed to trade.
/// An instrument or strategy absent from the maps refuses every order for it.
public struct RiskConfig: Sendable {
    /// Locates 0 ..< instruments may be configured.
    public var instruments: Int
    public var strategies: Int
    /// Order slots: ids whose low 24 bits (OmniOrders' slot) reach this are refused.
    public var orders: Int
    /// Realised + unrealised (at the mid) below −this kills, ITCH units × shares. No default;
    /// 0 kills on the first loss.
    public var maxDailyLoss: Int64
    /// A BBO older than this refuses. Default 1 s.
    public var maxReferenceAgeNanoseconds: UInt64 = 1_000_000_000
    /// An identical new order (strategy, locate, side, price, qty) within this is refused. Default 1 ms.
    public var duplicateWindowNanoseconds: UInt64 = 1_000_000
    /// New orders remembered per strategy for the duplicate check. Default 32.
    public var duplicateMemory: Int = 32
    /// The largest `maxFills` any strategy may be given (sizes the fill-time rings). Default 1024.
    public var maxFillsLimit: Int = 1024
    public var instrumentLimits: [UInt16: InstrumentLimits] = [:]
    public var strategyLimits: [UInt16: StrategyLimits] = [:]

    public init(instruments: Int, strategies: Int, orders: Int, maxDailyLoss: Int64) {
        self.instruments = instruments; self.strategies = strategies; self.orders = orders; self.maxDailyLoss = maxDailyLoss
    }
}

public enum RiskConfigError: Error, Equatable, Sendable {
    /// Sizes out of range (instruments and strategies 1...65536, orders 1...2^24, duplicate memory
    /// 1...4096, fills limit ≤ 65536) or a negative loss limit.
    case invalidSizes(String)
    case instrumentLimits(locate: UInt16, String)
    case strategyLimits(strategy: UInt16, String)
}

/// Positions and working shares of one instrument as risk counts them.
public struct InstrumentRisk: Sendable, Equatable {
    public var position: Int64
    public var workingBuy: Int64
    public var workingSell: Int64
    public var realised: Int64
    public var unrealised: Int64
    public init(position: Int64, workingBuy: Int64, workingSell: Int64, realised: Int64, unrealised: Int64) {
        self.position = position; self.workingBuy = workingBuy; self.workingSell = workingSell
        self.realised = realised; self.unrealised = unrealised
    }
}

/// What `onEvent` did with an answer or fill.
public enum RiskEventOutcome: Sendable, Equatable {
    case applied
    /// About no working order of ours (counted; a fill still moves the position).
    case unknownOrder
    /// Not an answer, fill or BBO, or out of the configured range.
    case ignored
}

/// The pre-trade gate of one trading loop. Single-threaded: it belongs to the loop's core.
public final class PreTradeCheck {
    @usableFromInline let state: UnsafeMutablePointer<crisk>
    let memory: UnsafeMutableRawPointer
    /// Each instrument's limits as last set (index = locate), for `limits(instrument:)`: CRisk
    /// keeps them in its own form. Sized at init, so a change allocates nothing.
    let instrumentTable: UnsafeMutablePointer<InstrumentLimits?>

    public init(_ config: RiskConfig) throws(RiskConfigError) {
        var c = crisk_config()
        guard config.instruments >= 1, config.instruments <= 65536, config.strategies >= 1, config.strategies <= 65536,
              config.orders >= 1, config.orders <= 1 << 24, config.duplicateMemory >= 1, config.duplicateMemory <= 4096,
              config.maxFillsLimit >= 0, config.maxFillsLimit <= 65536, config.maxDailyLoss >= 0
        else { throw .invalidSizes("instruments \(config.instruments), strategies \(config.strategies), orders \(config.orders), duplicateMemory \(config.duplicateMemory), maxFillsLimit \(config.maxFillsLimit), maxDailyLoss \(config.maxDailyLoss)") }
        c.instruments = UInt32(config.instruments); c.strategies = UInt32(config.strategies); c.orders = UInt32(config.orders)
        c.duplicate_memory = UInt32(config.duplicateMemory); c.max_fills_limit = UInt32(config.maxFillsLimit)
        c.max_bbo_age_ns = config.maxReferenceAgeNanoseconds; c.duplicate_window_ns = config.duplicateWindowNanoseconds
        c.max_daily_loss = config.maxDailyLoss
        let size = crisk_footprint(&c)
        guard size > 0 else { throw .invalidSizes("crisk_footprint refused the sizes") }
        memory = .allocate(byteCount: size, alignment: 64)
        state = .allocate(capacity: 1)
        instrumentTable = .allocate(capacity: config.instruments)
        instrumentTable.initialize(repeating: nil, count: config.instruments)
        // Every stored property is set: a throw from here on runs deinit, which frees both.
        let rc = crisk_init(state, &c, memory, size)
        guard rc == 0 else { throw .invalidSizes("crisk_init: \(rc)") }
        for (locate, l) in config.instrumentLimits.sorted(by: { $0.key < $1.key }) { try setLimits(l, instrument: locate) }
        for (strategy, l) in config.strategyLimits.sorted(by: { $0.key < $1.key }) { try setLimits(l, strategy: strategy) }
    }

    deinit {
        memory.deallocate()
        state.deallocate()
        instrumentTable.deallocate()
    }

    /// Sets (or replaces) one instrument's limits; its message bucket starts full.
    public func setLimits(_ l: InstrumentLimits, instrument locate: UInt16) throws(RiskConfigError) {
        var c = crisk_instrument_limits()
        c.configured = 1
        c.max_order_qty = l.maxOrderQuantity; c.max_order_value = l.maxOrderValue; c.collar_bps = l.collarBasisPoints
        c.rate_burst = l.messageBurst; c.rate_per_second = l.messagesPerSecond; c.max_long = l.maxLong; c.max_short = l.maxShort
        let rc = crisk_set_instrument_limits(state, locate, &c)
        guard rc == 0 else { throw .instrumentLimits(locate: locate, "locate beyond \(state.pointee.config.instruments - 1) or a negative max long / short") }
        instrumentTable[Int(locate)] = l
    }

    /// One instrument's limits as last set, nil when it has none (every order for it refused).
    public func limits(instrument locate: UInt16) -> InstrumentLimits? {
        Int(locate) < Int(state.pointee.config.instruments) ? instrumentTable[Int(locate)] : nil
    }

    public func setLimits(_ l: StrategyLimits, strategy: UInt16) throws(RiskConfigError) {
        var c = crisk_strategy_limits()
        c.configured = 1
        c.rate_burst = l.messageBurst; c.rate_per_second = l.messagesPerSecond; c.max_fills = l.maxFills
        c.fill_window_ns = l.fillWindowNanoseconds; c.max_long = l.maxLong; c.max_short = l.maxShort
        let rc = crisk_set_strategy_limits(state, strategy, &c)
        guard rc == 0 else { throw .strategyLimits(strategy: strategy, "strategy beyond \(state.pointee.config.strategies - 1), a negative max long / short, or maxFills above maxFillsLimit \(state.pointee.config.max_fills_limit)") }
    }

    /// Every instrument's orders refused from now on (fail closed).
    public func removeLimits(instrument locate: UInt16) {
        var c = crisk_instrument_limits()
        if crisk_set_instrument_limits(state, locate, &c) == 0 { instrumentTable[Int(locate)] = nil }
    }

    public func setMaxDailyLoss(_ loss: Int64) throws(RiskConfigError) {
        guard crisk_set_max_daily_loss(state, loss) == 0 else { throw .invalidSizes("maxDailyLoss \(loss)") }
    }

    /// The gate: `.pass` (the caller sends it: it now counts as sent) or the check that refused it.
    @inlinable
    public func check(_ request: omni_event, now: UInt64) -> RiskVerdict {
        let rc = withUnsafePointer(to: request) { crisk_check(state, $0, now) }
        if rc == 0 { return .pass }
        return .refused(RiskCheck(rawValue: UInt16(truncatingIfNeeded: -rc)) ?? .malformed)
    }

    public func onBBO(locate: UInt16, bid: UInt32, ask: UInt32, now: UInt64) {
        _ = crisk_on_bbo(state, locate, bid, ask, now)
    }

    /// The venue's answers, fills and BBO events.
    @discardableResult
    public func onEvent(_ event: omni_event, now: UInt64) -> RiskEventOutcome {
        let rc = withUnsafePointer(to: event) { crisk_on_event(state, $0, now) }
        return rc == 0 ? .applied : rc == -Int32(CRISK_UNKNOWN_ORDER) ? .unknownOrder : .ignored
    }

    public func setTradingState(_ s: TradingState, locate: UInt16) {
        _ = crisk_set_trading_state(state, locate, s.rawValue)
    }

    /// Kill switch on: nothing but cancels passes until `reset`. Cancels nothing itself: the
    /// caller cancels every open order (`workingOrders` lists them).
    public func kill(_ reason: KillReason = .command) { crisk_kill(state, reason.rawValue) }
    /// A person's reset of the kill switch.
    public func reset() { crisk_reset(state) }
    public var killReason: KillReason? { KillReason(rawValue: crisk_kill_reason(state)) }
    public var isKilled: Bool { crisk_kill_reason(state) != 0 }

    public func enableStrategy(_ strategy: UInt16) { _ = crisk_enable_strategy(state, strategy) }
    public func isDisabled(strategy: UInt16) -> Bool { crisk_strategy_disabled(state, strategy) != 0 }

    /// Writes the ids of our working orders into `ids`; nil when there are more than it holds.
    public func workingOrders(into ids: UnsafeMutableBufferPointer<UInt64>) -> Int? {
        let n = crisk_working_orders(state, ids.baseAddress, ids.count)
        return n < 0 ? nil : Int(n)
    }

    /// Requests passed so far.
    public var passed: UInt64 { crisk_counter(state, UInt32(CRISK_PASSED)) }
    /// Requests `check` refused, by `reason`.
    public func refusals(_ reason: RiskCheck) -> UInt64 { crisk_counter(state, UInt32(reason.rawValue)) }
    /// Every reason with a refusal, for a status line or a summary (allocates: off the hot path).
    public var refusalsByReason: [(RiskCheck, UInt64)] {
        RiskCheck.allCases.compactMap { c in let n = refusals(c); return n > 0 ? (c, n) : nil }
    }
    public var unknownAnswers: UInt64 { state.pointee.unknown_answers }

    public func instrument(_ locate: UInt16) -> InstrumentRisk? {
        var v = crisk_instrument_view()
        guard crisk_instrument_state(state, locate, &v) == 0 else { return nil }
        return InstrumentRisk(position: v.position, workingBuy: v.working_buy, workingSell: v.working_sell,
                              realised: v.realised, unrealised: v.unrealised)
    }

    /// Realised + unrealised over every instrument, ITCH units × shares.
    public var pnl: Int64 { crisk_pnl(state) }
}

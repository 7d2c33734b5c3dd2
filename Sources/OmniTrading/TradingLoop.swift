import CEvent
import CSys
import OmniEngine
import Histogram
import OmniBook
import OmniCore
import OmniFeed
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniWire

/// The books' changes as the trading loop wants them: which instruments changed since the last
/// pass and their touch, marked by the feed's BBO sink during a receive step.
// The loop's objects are used by one thread and never accessed overlapping, so their hot
// stored properties are @exclusivity(unchecked): Swift's dynamic exclusivity check costs about
// 40 instructions per access (callgrind), several per pass.
public final class QuoteBoard {
    let bids: UnsafeMutablePointer<UInt32>
    let asks: UnsafeMutablePointer<UInt32>
    let dirty: UnsafeMutablePointer<Bool>
    /// The locates changed since the last pass, each listed once (so never more than `locates`).
    let changed: UnsafeMutablePointer<UInt16>
    @exclusivity(unchecked) var changedCount = 0
    public let locates: Int
    /// Receive TSC of the packet batch that first changed a book since the last pass (0: none):
    /// where the pass's tick-to-trade is measured from.
    @exclusivity(unchecked) public internal(set) var batchTSC: UInt64 = 0

    public init(locates: Int) {
        self.locates = locates
        bids = .allocate(capacity: locates); bids.initialize(repeating: 0, count: locates)
        asks = .allocate(capacity: locates); asks.initialize(repeating: 0, count: locates)
        dirty = .allocate(capacity: locates); dirty.initialize(repeating: false, count: locates)
        changed = .allocate(capacity: locates); changed.initialize(repeating: 0, count: locates)
    }

    deinit { bids.deallocate(); asks.deallocate(); dirty.deallocate(); changed.deallocate() }

    func mark(_ locate: UInt16, _ bbo: BBO) {
        mark(locate, bid: UInt32(clamping: bbo.bidPrice.raw), ask: UInt32(clamping: bbo.askPrice.raw))
    }

    @inline(__always) func mark(_ locate: UInt16, bid: UInt32, ask: UInt32) {
        let l = Int(locate)
        guard l < locates else { return }
        bids[l] = bid
        asks[l] = ask
        if !dirty[l] { dirty[l] = true; changed[changedCount] = locate; changedCount += 1 }
    }

    /// Forgets the first `n` changes (handed on, their dirty marks cleared by the caller); the
    /// stamp goes with the last of them.
    func dropFirstChanges(_ n: Int) {
        let rest = changedCount - n
        for i in 0..<max(rest, 0) { changed[i] = changed[i + n] } // forward: the move is downward
        changedCount = rest
        if rest == 0 { batchTSC = 0 }
    }

    /// Called by the receive step after each batch with the batch's receive TSC: kept when that
    /// batch changed a book and no earlier batch of this pass did.
    @inline(__always) public func stamp(batchTSC tsc: UInt64) {
        if batchTSC == 0 && changedCount > 0 { batchTSC = tsc }
    }

    /// Drops the stamp (changes marked before the loop started, e.g. while waiting for the stock
    /// directory, are not a tick-to-trade).
    public func forgetStamp() { batchTSC = 0 }

    /// Lists `locate` for the next pass at its current touch, as if its book had changed (a
    /// parameter changed: the next decision uses it without waiting for the market).
    public func requote(_ locate: UInt16) {
        let l = Int(locate)
        guard l < locates, bids[l] != 0 || asks[l] != 0 else { return }
        mark(locate, bid: bids[l], ask: asks[l])
    }

    /// Changes still waiting for a pass.
    public var pending: Int { changedCount }

    public func touch(_ locate: UInt16) -> (bid: UInt32, ask: UInt32) {
        Int(locate) < locates ? (bids[Int(locate)], asks[Int(locate)]) : (0, 0)
    }
}

/// The feed's BBO sink for the trading loop: it only marks the board (the strategy runs after
/// the whole receive step, never on a half-applied packet).
public struct BoardSink: BBOSink {
    unowned(unsafe) let board: QuoteBoard // the loop owns the board for the listener's whole life
    public init(board: QuoteBoard) { self.board = board }
    public mutating func bboChanged(_ locate: Locate, _ bbo: BBO) { board.mark(locate, bbo) }
}

/// How the loop turns a strategy's quote into orders (see `TradingLoop`).
public struct QuotingRule: Sendable, Equatable {
    public static let maxLevels = 16
    /// Orders per side, 1...maxLevels.
    public var levels: Int
    /// Ticks between one level and the next.
    public var spacingTicks: UInt32
    /// An order is replaced when its target moved this many ticks, or its size changed.
    public var refreshTicks: UInt32
    /// An order is not moved until it has rested this long since it was sent or last replaced
    /// (monotonic ns); a cancel is never held back.
    public var minRestNs: UInt64
    public init(levels: Int = 1, spacingTicks: UInt32 = 1, refreshTicks: UInt32 = 1, minRestNs: UInt64 = 0) {
        self.levels = levels; self.spacingTicks = spacingTicks; self.refreshTicks = refreshTicks; self.minRestNs = minRestNs
    }
}

/// What the loop has done, for the status line and the summary.
public struct TradingCounters: Sendable {
    public var requests: UInt64 = 0, refusedByRisk: UInt64 = 0, notSent: UInt64 = 0
    public var answers: UInt64 = 0, passes: UInt64 = 0, requotes: UInt64 = 0
    /// Requests sent by a requote with a batch stamp (each recorded in `tickToTrade`).
    public var stamped: UInt64 = 0
    /// Book updates as the loop takes them: an instrument whose touch changed, once per pass.
    public var bookChanges: UInt64 = 0
    public init() {}
}

/// The trading loop on one thread: book change -> strategy -> risk -> orders -> order entry,
/// answers and fills back into the ledger and risk. Run to completion: the caller's receive
/// step updates the books (marking the board), then `pass` quotes every changed instrument,
/// flushes the pass's requests in one send and applies what the venue answered.
///
/// Each instrument keeps `rule.levels` orders per side: level 0 at the strategy's quote, level k
/// k × `rule.spacingTicks` ticks behind it. An order whose target moves by `rule.refreshTicks`
/// or more (or whose size changes) is replaced, once it has rested `rule.minRestNs` (one request
/// pending per order at a time); an order with no target is canceled at once. A level whose fill,
/// with the levels in front of it, would take the position past the instrument's maximum
/// (`setMaxPosition`) is not quoted. A request risk refuses, or the order entry cannot send, is
/// answered locally (REJECTED / CANCEL_REJECTED with the reason), so the ledger never waits for it.
public final class TradingLoop<Entry: OrderEntry, S: Strategy> {
    public let entry: Entry
    public let ledger: OrderLedger
    public let risk: PreTradeCheck
    public let board: QuoteBoard
    @exclusivity(unchecked) public var strategy: S
    public let strategyID: UInt16
    public let rule: QuotingRule
    public let tick: UInt32
    /// The instruments to quote (index = locate).
    let quoting: UnsafeMutablePointer<Bool>
    /// The instruments a person stopped quoting whose orders are still being canceled (index = locate).
    let withdrawing: UnsafeMutablePointer<Bool>
    /// The order working each level (index = locate × levels + level), and when it was sent or
    /// last replaced (monotonic ns, for the minimum resting time).
    let bidOrder: UnsafeMutablePointer<ClientOrderID?>
    let askOrder: UnsafeMutablePointer<ClientOrderID?>
    let bidSent: UnsafeMutablePointer<UInt64>
    let askSent: UnsafeMutablePointer<UInt64>
    /// Shares long or short at most per instrument, for the ladder's depth (index = locate).
    let maxPosition: UnsafeMutablePointer<Int64>
    @exclusivity(unchecked) public private(set) var counters = TradingCounters()
    /// Refusals by risk reason (OMNI_REASON_RISK | check) and by the order entry.
    @exclusivity(unchecked) public private(set) var lastRefusal: UInt16 = 0
    public private(set) var stopping = false
    /// The kill switch as this loop handled it (its orders canceled), nil while it is off.
    public private(set) var killHandled: KillReason?
    /// Tick-to-trade in TSC ticks, one value per request a requote sent: the receive TSC of the
    /// packet batch that changed the book to the TSC right after the pass's flush handed the
    /// requests to the order entry's socket (in process, not the wire). Preallocated: recording
    /// allocates nothing. Convert with `tickToTradeNs`.
    @exclusivity(unchecked) public private(set) var tickToTrade = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40,
                                                            numberOfSignificantValueDigits: .three)
    /// Requests of this pass that a requote sent (and so carry the batch's stamp).
    @exclusivity(unchecked) var stampedThisPass: UInt64 = 0
    /// Per-stage stamps of every request a requote sends (nil: off, the default).
    @exclusivity(unchecked) public var stages: StageStamps?
    /// The order journal (nil: none): every request handed to the order entry, every answer and
    /// fill the ledger took, and every request answered here, copied to the control plane's ring.
    @exclusivity(unchecked) public var journal: EventTap?
    /// The venue's refusals (order rejected, cancel or replace rejected) by reason code
    /// (OMNI_REASON_OUCH | the character, OMNI_REASON_FIX | the code; index = reason & 0xFFF).
    let venueRefusals: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var requoting = false
    @exclusivity(unchecked) var lastCancelRetry: UInt64 = 0
    /// Once stopping (the kill switch, or the end of the run), open orders are canceled again every
    /// 100 ms (a cancel refused or not sent); the runner turns it off while the session is down
    /// (nothing could go out).
    public var retryCancels = true
    /// The one clock, calibrated once at start (20 ms), to turn TSC ticks into ns off the hot path.
    let clock: csys_clock

    public init(entry: Entry, ledger: OrderLedger, risk: PreTradeCheck, board: QuoteBoard, strategy: S, strategyID: UInt16 = 1,
                tick: UInt32 = 100, rule: QuotingRule = QuotingRule()) {
        precondition(rule.levels >= 1 && rule.levels <= QuotingRule.maxLevels, "QuotingRule.levels 1...\(QuotingRule.maxLevels)")
        self.entry = entry; self.ledger = ledger; self.risk = risk; self.board = board; self.strategy = strategy
        self.strategyID = strategyID; self.tick = tick; self.rule = rule
        let n = board.locates * rule.levels
        venueRefusals = .allocate(capacity: 0x1000); venueRefusals.initialize(repeating: 0, count: 0x1000)
        quoting = .allocate(capacity: board.locates); quoting.initialize(repeating: false, count: board.locates)
        withdrawing = .allocate(capacity: board.locates); withdrawing.initialize(repeating: false, count: board.locates)
        bidOrder = .allocate(capacity: n); bidOrder.initialize(repeating: nil, count: n)
        askOrder = .allocate(capacity: n); askOrder.initialize(repeating: nil, count: n)
        bidSent = .allocate(capacity: n); bidSent.initialize(repeating: 0, count: n)
        askSent = .allocate(capacity: n); askSent.initialize(repeating: 0, count: n)
        maxPosition = .allocate(capacity: board.locates); maxPosition.initialize(repeating: Int64.max, count: board.locates)
        var c = csys_clock()
        _ = csys_clock_init(&c, CSYS_CLOCK_TSC, 20)
        clock = c
    }

    deinit {
        venueRefusals.deallocate(); quoting.deallocate(); withdrawing.deallocate(); bidOrder.deallocate(); askOrder.deallocate(); bidSent.deallocate(); askSent.deallocate()
        maxPosition.deallocate()
    }

    /// Quote `locate` from now on (its touch comes from the feed).
    public func quote(_ locate: UInt16) {
        guard Int(locate) < board.locates else { return }
        quoting[Int(locate)] = true
        withdrawing[Int(locate)] = false
        board.requote(locate)
    }

    public func isQuoting(_ locate: UInt16) -> Bool { Int(locate) < board.locates && quoting[Int(locate)] }

    /// Stops quoting `locate` (a person's quote off) and cancels its orders now; an order with a
    /// request in flight is canceled once answered (on the instrument's next book change).
    public func stopQuoting(_ locate: UInt16, now: UInt64) {
        guard Int(locate) < board.locates else { return }
        quoting[Int(locate)] = false
        withdrawing[Int(locate)] = true
        withdraw(locate, now: now)
        entry.flush()
    }

    /// Cancels every level of `locate` (one request in flight per order at a time).
    func withdraw(_ locate: UInt16, now: UInt64) {
        let first = Int(locate) * rule.levels
        var left = false
        for i in first..<(first + rule.levels) {
            bidOrder[i] = side(locate, UInt8(OMNI_SIDE_BUY), current: bidOrder[i], sent: &bidSent[i], price: 0, size: 0, now: now)
            askOrder[i] = side(locate, UInt8(OMNI_SIDE_SELL), current: askOrder[i], sent: &askSent[i], price: 0, size: 0, now: now)
            left = left || bidOrder[i] != nil || askOrder[i] != nil
        }
        if !left { withdrawing[Int(locate)] = false }
    }

    /// Our best quote in `locate`: level 0's order on each side, its price and the shares it has
    /// left (0, 0 for a side with no order working). Reads the ledger's table; allocates nothing.
    public func bestQuote(_ locate: UInt16) -> (bid: UInt32, bidShares: UInt32, ask: UInt32, askShares: UInt32) {
        guard Int(locate) < board.locates else { return (0, 0, 0, 0) }
        let first = Int(locate) * rule.levels
        let b = bidOrder[first].flatMap { ledger.order($0) }, a = askOrder[first].flatMap { ledger.order($0) }
        return (b?.price ?? 0, b?.leaves ?? 0, a?.price ?? 0, a?.leaves ?? 0)
    }

    /// The ladder's position limit of `locate` (`setMaxPosition`).
    public func maxPosition(locate: UInt16) -> Int64 { Int(locate) < board.locates ? maxPosition[Int(locate)] : 0 }

    /// The ladder quotes no level whose fill (with the levels in front of it) would take the
    /// position in `locate` past `shares` long or short. Default: no limit here (risk's stands).
    public func setMaxPosition(_ shares: Int64, locate: UInt16) {
        if Int(locate) < board.locates { maxPosition[Int(locate)] = max(shares, 0) }
    }

    /// One pass: quotes every instrument whose book changed, sends the pass's requests, applies
    /// the answers. `now` is monotonic ns (risk's clock).
    public func pass(now: UInt64) {
        stages?.startPass()
        counters.passes += 1
        strategy.onClock(nowNs: now)
        requoting = true
        counters.bookChanges &+= UInt64(board.changedCount)
        for i in 0..<board.changedCount {
            let locate = board.changed[i]
            board.dirty[Int(locate)] = false
            let (bid, ask) = board.touch(locate)
            risk.onBBO(locate: locate, bid: bid, ask: ask, now: now)
            if quoting[Int(locate)] && !stopping { requote(locate, bid: bid, ask: ask, now: now) }
            else if withdrawing[Int(locate)] { withdraw(locate, now: now) }
        }
        requoting = false
        board.changedCount = 0
        entry.flush()
        if stampedThisPass > 0 {
            let b = board.batchTSC
            if b != 0 { // a change marked with no batch stamp (a test, a replay) is not measured
                let t = csys_rdtsc()
                _ = tickToTrade.record(t > b ? min(t - b, 1 << 40) : 0, count: stampedThisPass)
                counters.stamped &+= stampedThisPass
                stages?.finishPass(rx: b, tx: t)
            }
            stampedThisPass = 0
        }
        board.batchTSC = 0
        poll(now: now)
        if risk.isKilled && killHandled == nil { handleKill(now: now) }
        if stopping && retryCancels && now &- lastCancelRetry >= 100_000_000 && ledger.table.open > 0 {
            cancelAll(now: now) // a cancel refused or not sent (disconnected) is tried again, every 100 ms
        }
    }

    /// Trips the kill switch (RTS 6 Art. 12): risk refuses everything but cancels from now on,
    /// the loop stops quoting and asks the venue to cancel every open order. Returns false when
    /// the switch was already on (the first reason stays).
    @discardableResult
    public func kill(_ reason: KillReason, now: UInt64) -> Bool {
        let first = !risk.isKilled
        if first { risk.kill(reason) }
        handleKill(now: now)
        return first
    }

    /// A person's reset of the kill switch (RTS 6 Art. 12: only a person lets orders out again):
    /// risk passes orders again and every instrument still quoted is quoted on the next pass.
    /// False when the switch is off.
    @discardableResult
    public func resetKill() -> Bool {
        guard risk.isKilled || killHandled != nil else { return false }
        risk.reset()
        killHandled = nil
        stopping = false
        for l in 0..<board.locates where quoting[l] { board.requote(UInt16(l)) }
        return true
    }

    func handleKill(now: UInt64) {
        killHandled = risk.killReason ?? .command
        cancelAll(now: now)
    }

    /// The venue's refusals so far by reason code, the most frequent first (off the hot path).
    public func venueRefusalsByReason() -> [(reason: UInt16, count: UInt64)] {
        (0..<0x1000).compactMap { venueRefusals[$0] > 0 ? (UInt16($0), venueRefusals[$0]) : nil }.sorted { $0.count > $1.count }
    }

    /// The per-stage figures in ns (off the hot path): per stage its p50, p99 and exact mean, and
    /// the tick-to-trade histogram's mean (the stages' means add up to it, within the histogram's
    /// three significant digits); nil when stamps are off.
    public func stageFiguresNs() -> (stages: [(name: String, p50: UInt64, p99: UInt64, mean: Double)], totalMean: Double, requests: UInt64)? {
        guard let s = stages, s.requests > 0 else { return nil }
        return withUnsafePointer(to: clock) { c in
            let perTick = Double(csys_clock_ns(c, 1_000_000)) / 1e6
            let rows = StageStamps.names.indices.map { i in
                (StageStamps.names[i], csys_clock_ns(c, s.histograms[i].valueAtPercentile(50)), csys_clock_ns(c, s.histograms[i].valueAtPercentile(99)),
                 Double(s.sums[i]) / Double(s.requests) * perTick)
            }
            return (rows, tickToTrade.mean * perTick, s.requests)
        }
    }

    /// Tick-to-trade percentiles in ns (the TSC calibrated here, off the hot path) and the count.
    public func tickToTradeNs(percentiles: [Double]) -> (values: [UInt64], count: UInt64) {
        withUnsafePointer(to: clock) { c in
            (percentiles.map { csys_clock_ns(c, tickToTrade.valueAtPercentile($0)) }, tickToTrade.totalCount)
        }
    }

    /// One tick-to-trade percentile in ns (0: none recorded); allocates nothing, for the loop's
    /// published snapshot.
    public func tickToTradeNs(percentile: Double) -> UInt64 {
        tickToTrade.totalCount == 0 ? 0 : withUnsafePointer(to: clock) { csys_clock_ns($0, tickToTrade.valueAtPercentile(percentile)) }
    }

    /// The tick-to-trade histogram in ns (each recorded TSC value converted with this loop's
    /// calibration): for `--hdr-out` and `--plot` at the end of a run, off the hot path.
    public func tickToTradeHistogramNs() -> Histogram<UInt64> {
        var ns = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        withUnsafePointer(to: clock) { c in
            for v in tickToTrade.recordedValues() {
                _ = ns.record(Swift.min(csys_clock_ns(c, v.value), 1 << 40), count: UInt64(v.count))
            }
        }
        return ns
    }

    /// Applies every answer and fill waiting at the order entry.
    public func poll(now: UInt64) {
        entry.poll { e in
            counters.answers += 1
            // A fill the venue sends again (after a reconnect) was counted the first time: the
            // ledger de-duplicates by execution id, and risk and the strategy must not see it twice.
            guard ledger.apply(e) != .duplicateFill else { return }
            if journal != nil { _ = journal!.handle(&e) }
            if e.type == UInt8(OMNI_EV_FILL.rawValue) {
                strategy.onFill(locate: e.locate, side: e.fill.side, price: e.fill.last_px, quantity: e.fill.last_qty)
            } else if e.type == UInt8(OMNI_EV_ORDER_REJECTED.rawValue) || e.type == UInt8(OMNI_EV_CANCEL_REJECTED.rawValue) {
                venueRefusals[Int(e.order.reason & 0xFFF)] &+= 1
            }
            _ = risk.onEvent(e, now: now)
            forget(e)
        }
    }

    /// Drops the loop's handle on an order that is done.
    func forget(_ e: omni_event) {
        let id = e.type == UInt8(OMNI_EV_FILL.rawValue) ? e.fill.client_order_id : e.order.client_order_id
        let l = Int(e.locate)
        guard l < board.locates else { return }
        let cid = ClientOrderID(raw: id)
        guard ledger.table.record(cid) == nil else { return }
        let first = l * rule.levels
        for i in first..<(first + rule.levels) {
            if bidOrder[i] == cid { bidOrder[i] = nil; return }
            if askOrder[i] == cid { askOrder[i] = nil; return }
        }
    }

    func requote(_ locate: UInt16, bid: UInt32, ask: UInt32, now: UInt64) {
        let position = ledger.position(strategy: strategyID, locate: locate).shares
        let t = strategy.quote(locate: locate, bid: bid, ask: ask, position: position)
        stages?.strategyDecided()
        counters.requotes += 1
        let first = Int(locate) * rule.levels
        let limit = maxPosition[Int(locate)]
        let step = rule.spacingTicks &* tick
        for k in 0..<rule.levels {
            // Level k rests k steps behind level 0; it is quoted only while k + 1 fills stay within the limit.
            let depth = Int64(k + 1) * Int64(t.size)
            let away = UInt32(k) &* step
            let bidPrice = t.bidPrice > away && position + depth <= limit ? t.bidPrice - away : 0
            let askPrice = t.askPrice > 0 && t.askPrice <= UInt32.max - away && position - depth >= -limit ? t.askPrice + away : 0
            let i = first + k
            bidOrder[i] = side(locate, UInt8(OMNI_SIDE_BUY), current: bidOrder[i], sent: &bidSent[i], price: bidPrice, size: t.size, now: now)
            askOrder[i] = side(locate, UInt8(OMNI_SIDE_SELL), current: askOrder[i], sent: &askSent[i], price: askPrice, size: t.size, now: now)
        }
    }

    /// Brings one level of one side to its target; returns the order now working it (or nil).
    /// `sent`: when that order was sent or last replaced.
    func side(_ locate: UInt16, _ side: UInt8, current: ClientOrderID?, sent: inout UInt64, price: UInt32, size: UInt32,
              now: UInt64) -> ClientOrderID? {
        var req = omni_event()
        if let id = current, let o = ledger.order(id) {
            if o.pendingCancel || o.pendingReplace || o.state == .pendingNew { return id } // one request in flight at a time
            if price == 0 {
                if ledger.cancel(id, request: &req) == nil { send(req, now: now) }
                return id
            }
            let moved = o.price > price ? o.price - price : price - o.price
            if (moved >= rule.refreshTicks &* tick || o.leaves != size) && now &- sent >= rule.minRestNs {
                if ledger.replace(id, price: price, qty: size, request: &req) == nil { send(req, now: now); sent = now }
            }
            return id
        }
        guard price > 0 else { return nil }
        guard case .success(let id) = ledger.enter(locate: locate, strategy: strategyID, side: side, price: price, qty: size,
                                                   request: &req) else { return nil }
        send(req, now: now)
        sent = now
        return ledger.order(id) == nil ? nil : id
    }

    /// Risk, then the order entry; a refusal at either is answered to the ledger at once. The
    /// loop's own requests go this way; so can a request made with the ledger by hand.
    public func send(_ req: omni_event, now: UInt64) {
        counters.requests += 1
        let verdict = risk.check(req, now: now)
        if case .refused(let check) = verdict {
            counters.refusedByRisk += 1
            refuseLocally(req, reason: check.reason, riskCounted: false)
            return
        }
        let riskPassed = stages == nil ? 0 : csys_rdtsc()
        if !entry.submit(req) {
            counters.notSent += 1
            refuseLocally(req, reason: UInt16(OMNI_REASON_NOT_CONNECTED), riskCounted: true)
            return
        }
        if requoting {
            stampedThisPass &+= 1
            stages?.sent(riskPassed: riskPassed)
        }
        if journal != nil {
            var copy = req
            _ = journal!.handle(&copy)
        }
    }

    /// Answers a request that never reached the venue; risk hears it too when it had passed
    /// the request (and so counted it as working).
    func refuseLocally(_ req: omni_event, reason: UInt16, riskCounted: Bool) {
        lastRefusal = reason
        var e = req
        e.type = UInt8(req.type == UInt8(OMNI_EV_ORDER_NEW.rawValue) ? OMNI_EV_ORDER_REJECTED.rawValue : OMNI_EV_CANCEL_REJECTED.rawValue)
        e.order.reason = reason
        _ = ledger.apply(e)
        if journal != nil { _ = journal!.handle(&e) }
        if riskCounted { _ = risk.onEvent(e, now: 0) }
    }

    /// After a reconnect's recovery (the venue has answered everything it received): a request
    /// still unanswered was lost with the connection. A new order is answered here as rejected,
    /// a cancel or replace as cancel-rejected (the order stands as the venue last said; the kill
    /// switch's retries cancel it again), each with OMNI_REASON_NOT_CONNECTED, and the ledger
    /// and risk take it as from the venue. Returns how many requests were lost.
    @discardableResult
    public func resolveLostRequests() -> Int {
        var lost: [omni_event] = [] // once per reconnect, off the hot path
        ledger.table.forEachOpen { o in
            // The request as it was sent (what risk passed): the order, the cancel, the replace's target.
            let (type, price, qty) = o.state == .pendingNew ? (OMNI_EV_ORDER_NEW, o.price, o.qty)
                : o.pendingCancel ? (OMNI_EV_ORDER_CANCEL, o.price, 0)
                : o.pendingReplace ? (OMNI_EV_ORDER_REPLACE, o.replacePrice, o.replaceQty) : (OMNI_EV_NONE, 0, 0)
            guard type != OMNI_EV_NONE else { return }
            lost.append(omni_order_event(UInt8(type.rawValue), o.locate, o.id.raw, o.side, price, qty, o.strategy, o.flags))
        }
        for r in lost { refuseLocally(r, reason: UInt16(OMNI_REASON_NOT_CONNECTED), riskCounted: true) }
        return lost.count
    }

    /// Stops quoting and asks the venue to cancel every open order (the kill switch's and
    /// SIGINT's first step); the caller then polls until none is open or its patience ends.
    public func cancelAll(now: UInt64) {
        stopping = true
        lastCancelRetry = now
        // In the walk itself, no list: a cancel only marks its record pending, it frees nothing.
        ledger.table.forEachOpen { o in
            guard !o.pendingCancel else { return }
            var req = omni_event()
            if ledger.cancel(o.id, request: &req) == nil { send(req, now: now) }
        }
        entry.flush()
    }
}

import CEvent
import CRing
import CSys
import OmniEngine
import OmniRisk
import OmniStrategy
import OmniWire
import Synchronization

// The trading loop's side of the control plane (issue 14): commands come in as CEvent commands on
// one SPSC ring, each is applied between passes and acknowledged on a second SPSC ring with the
// configuration version after it; the loop's state goes out as a snapshot behind a seqlock at most
// every `publishEveryNs` (its tick-to-trade percentiles at most once a second). On the loop's side
// nothing here locks or allocates: the rings and the snapshot's memory are sized at init.

/// The loop as a whole at one publication. Money in ITCH units × shares ($1 = 10_000).
public struct LoopSummary: Sendable, Equatable {
    /// The configuration version: 1 at start, one more for each command applied.
    public var configVersion: UInt64 = 0
    /// Monotonic ns of the publication (0: nothing published yet).
    public var publishedNs: UInt64 = 0
    public var passes: UInt64 = 0, requests: UInt64 = 0, refusedByRisk: UInt64 = 0, notSent: UInt64 = 0
    public var venueRejected: UInt64 = 0, fills: UInt64 = 0, openOrders: UInt64 = 0, riskPassed: UInt64 = 0
    /// Orders the venue accepted; book updates the loop took (TradingCounters.bookChanges).
    public var venueAccepted: UInt64 = 0, bookChanges: UInt64 = 0
    public var tickToTradeP50Ns: UInt64 = 0, tickToTradeP99Ns: UInt64 = 0, tickToTradeCount: UInt64 = 0
    /// KillReason's raw value, 0 while the switch is off.
    public var killReason: UInt32 = 0
    /// The feed (TradingFeed.health) and whether its session is stale; the order entry's session.
    public var feed = FeedHealth()
    public var feedStale = false
    public var gatewayUp = false
    /// Commands read, and those refused (unknown instrument, parameter, a bad value).
    public var commands: UInt64 = 0, commandsRefused: UInt64 = 0
    public var instruments = 0
    public init() {}
}

/// One instrument at one publication.
public struct InstrumentSummary: Sendable, Equatable {
    public var locate: UInt16 = 0
    public var quoting = false
    /// The strategy's parameters (nil: its strategy has none of them).
    public var parameters: QuoteParameters?
    /// The quote ladder's position limit (TradingLoop.setMaxPosition).
    public var ladderMaxPosition: Int64 = 0
    /// Risk's limits (nil: none, every order refused).
    public var limits: InstrumentLimits?
    public var position: Int64 = 0, realised: Int64 = 0, unrealised: Int64 = 0, fees: Int64 = 0
    public var fills: UInt64 = 0, boughtShares: UInt64 = 0, soldShares: UInt64 = 0
    /// Shares of our working orders, as risk counts them.
    public var workingBuy: Int64 = 0, workingSell: Int64 = 0
    /// The touch (ITCH units; 0: that side empty). The loop sees the best prices only, no depth.
    public var bid: UInt32 = 0, ask: UInt32 = 0
    /// Our best quote (TradingLoop.bestQuote): price (ITCH units; 0: no order on that side) and shares left.
    public var ourBid: UInt32 = 0, ourBidShares: UInt32 = 0, ourAsk: UInt32 = 0, ourAskShares: UInt32 = 0
    public init() {}
}

/// What a reader of the snapshot gets: a consistent copy.
public struct LoopSnapshot: Sendable, Equatable {
    public var summary: LoopSummary
    public var instruments: [InstrumentSummary]
    /// Refusals by risk check (index = RiskCheck.rawValue − 1).
    public var refusals: [UInt64]

    public init(summary: LoopSummary, instruments: [InstrumentSummary], refusals: [UInt64]) {
        self.summary = summary; self.instruments = instruments; self.refusals = refusals
    }
}

/// The snapshot's memory behind a seqlock: one writer (the loop), any number of readers, no lock.
/// The writer makes the sequence odd, writes, makes it even; a reader copies between two equal,
/// even readings of it.
public final class SnapshotBuffer: @unchecked Sendable {
    let sequence = Atomic<UInt64>(0)
    let summary: UnsafeMutablePointer<LoopSummary>
    let instruments: UnsafeMutablePointer<InstrumentSummary>
    let refusals: UnsafeMutablePointer<UInt64>
    public let capacity: Int
    static let checks = RiskCheck.allCases.count

    public init(instruments capacity: Int) {
        self.capacity = capacity
        summary = .allocate(capacity: 1); summary.initialize(to: LoopSummary())
        instruments = .allocate(capacity: max(capacity, 1)); instruments.initialize(repeating: InstrumentSummary(), count: max(capacity, 1))
        refusals = .allocate(capacity: Self.checks); refusals.initialize(repeating: 0, count: Self.checks)
    }

    deinit { summary.deallocate(); instruments.deallocate(); refusals.deallocate() }

    /// Writer only: the sequence odd (readers retry) until `endWrite`.
    @inline(__always) func beginWrite() {
        let s = sequence.load(ordering: .relaxed)
        sequence.store(s &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing) // the odd value is visible before any of the writes that follow
    }

    @inline(__always) func endWrite() {
        let s = sequence.load(ordering: .relaxed)
        sequence.store(s &+ 1, ordering: .releasing) // release: every write above before the even value
    }

    /// A consistent copy (retries while the writer is in the middle of a publication).
    public func read() -> LoopSnapshot {
        while true {
            let s1 = sequence.load(ordering: .acquiring) // acquire: the copy below reads what was written before s1
            if s1 & 1 == 1 { continue }
            let sum = summary.pointee
            let n = min(sum.instruments, capacity)
            let list = Array(UnsafeBufferPointer(start: instruments, count: n))
            let r = Array(UnsafeBufferPointer(start: refusals, count: Self.checks))
            atomicMemoryFence(ordering: .acquiring) // the copy's reads complete before the second reading
            if sequence.load(ordering: .relaxed) == s1 { return LoopSnapshot(summary: sum, instruments: list, refusals: r) }
        }
    }
}

/// The loop's end of the control plane: the command ring (control plane -> loop), the
/// acknowledgement ring (loop -> control plane), the snapshot. `drain` and `publish` run on the
/// loop's thread between passes; the control plane pushes to `commands` from one thread at a time
/// and pops `acks` likewise (OmniControl's CommandLink), keeping at most `capacity` commands
/// unacknowledged so an acknowledgement always finds room.
public final class ControlPort: @unchecked Sendable {
    public let commands: EventRing
    public let acks: EventRing
    public let snapshot: SnapshotBuffer
    /// The order journal (loop -> control plane): every request sent, every answer and fill, as
    /// the loop's `journal` tap copies them; the control plane drains it to the store.
    public let journal: EventRing
    public let journalCounts = TapCounts()
    public let capacity: Int
    public let publishEveryNs: UInt64
    /// The configuration version: 1 is the run's configuration, each applied command adds one.
    @exclusivity(unchecked) public private(set) var version: UInt64 = 1
    @exclusivity(unchecked) var commandsRead: UInt64 = 0
    @exclusivity(unchecked) var commandsRefused: UInt64 = 0
    @exclusivity(unchecked) var nextPublishNs: UInt64 = 0
    /// Tick-to-trade percentiles, recomputed at most once a second: each is a scan of the whole
    /// histogram (tens of µs of the loop's time), as omni run's status line does once a second.
    @exclusivity(unchecked) var nextPercentilesNs: UInt64 = 0
    @exclusivity(unchecked) var tickToTrade: (p50: UInt64, p99: UInt64, count: UInt64) = (0, 0, 0)
    /// The traded locates in the configuration's order of instruments (bound when the loop starts).
    let locates: UnsafeMutablePointer<UInt16>
    @exclusivity(unchecked) var bound = 0

    /// `instruments`: how many the run trades (the snapshot's size).
    /// `journalCapacity`: order events held between two drains (the control plane drains every
    /// 100 ms: 65,536 is 655,360 order events a second before one is dropped).
    public init(instruments: Int, capacity: Int = 256, journalCapacity: Int = 1 << 16, publishEveryNs: UInt64 = 100_000_000) throws(EngineError) {
        commands = try EventRing(capacity: capacity)
        acks = try EventRing(capacity: capacity)
        journal = try EventRing(capacity: journalCapacity)
        snapshot = SnapshotBuffer(instruments: instruments)
        self.capacity = capacity
        self.publishEveryNs = publishEveryNs
        locates = .allocate(capacity: max(instruments, 1))
    }

    deinit { locates.deallocate() }

    /// The loop's end of the order journal (set as `TradingLoop.journal`; one loop at a time).
    public func journalTap() -> EventTap { EventTap(ring: journal, counts: journalCounts) }

    /// The traded instruments' locates, in the order of the configuration's instruments (the
    /// snapshot's order); once, before the loop's first pass.
    public func bind(locates list: [UInt16]) {
        precondition(list.count <= snapshot.capacity, "ControlPort: \(list.count) instruments, sized for \(snapshot.capacity)")
        for (i, l) in list.enumerated() { locates[i] = l }
        bound = list.count
    }

    func trades(_ locate: UInt16) -> Bool { instrumentIndex(locate) != nil }

    /// `locate`'s place in the configuration's instruments (nil: not traded). Another thread may
    /// ask once it has read one of the loop's events (the ring's acquire makes `bind` visible).
    public func instrumentIndex(_ locate: UInt16) -> Int? {
        for i in 0..<bound where locates[i] == locate { return i }
        return nil
    }

    /// Applies every command waiting, each acknowledged with the version after it; returns how many.
    @discardableResult
    public func drain<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>, now: UInt64) -> Int {
        var n = 0
        var cmd = omni_event()
        let size = UInt32(MemoryLayout<omni_event>.stride)
        while cring_spsc_try_pop(commands.raw, &cmd, size) == 1 {
            let result = apply(cmd, to: loop, now: now)
            commandsRead &+= 1
            if result == UInt64(OMNI_CMDR_APPLIED) { version &+= 1 } else { commandsRefused &+= 1 }
            var ack = omni_event()
            ack.type = UInt8(OMNI_EV_COMMAND.rawValue)
            ack.locate = cmd.locate
            ack.seq = cmd.seq
            ack.rx_tsc = cmd.rx_tsc
            ack.command.code = UInt32(OMNI_CMD_ACK)
            ack.command.target = cmd.command.code
            ack.command.arg.0 = version
            ack.command.arg.1 = result
            omni_event_stamp(&ack, 0, csys_rdtsc())
            // Never full: the control plane keeps at most `capacity` commands unacknowledged.
            _ = cring_spsc_try_push(acks.raw, &ack, size)
            n += 1
        }
        if n > 0 { nextPublishNs = 0 } // the snapshot shows the change at once
        return n
    }

    /// One command; returns its OMNI_CMDR_* result.
    func apply<E: OrderEntry, S: Strategy>(_ cmd: omni_event, to loop: TradingLoop<E, S>, now: UInt64) -> UInt64 {
        guard cmd.type == UInt8(OMNI_EV_COMMAND.rawValue) else { return UInt64(OMNI_CMDR_UNKNOWN_COMMAND) }
        let l = cmd.locate
        let (a0, a1) = cmd.command.arg
        switch Int(cmd.command.code) {
        case Int(OMNI_CMD_KILL):
            loop.kill(.command, now: now)
        case Int(OMNI_CMD_KILL_RESET):
            guard loop.resetKill() else { return UInt64(OMNI_CMDR_NOT_KILLED) }
        case Int(OMNI_CMD_QUOTING):
            guard trades(l) else { return UInt64(OMNI_CMDR_UNKNOWN_INSTRUMENT) }
            guard a0 <= 1 else { return UInt64(OMNI_CMDR_BAD_VALUE) }
            if a0 == 1 { loop.quote(l) } else { loop.stopQuoting(l, now: now) }
        case Int(OMNI_CMD_SET_PARAM):
            guard trades(l) else { return UInt64(OMNI_CMDR_UNKNOWN_INSTRUMENT) }
            guard a0 <= UInt64(UInt32.max), let p = QuoteParameter(rawValue: UInt32(a0)) else { return UInt64(OMNI_CMDR_UNKNOWN_PARAMETER) }
            let value = Int64(bitPattern: a1)
            guard p.range.contains(value) else { return UInt64(OMNI_CMDR_BAD_VALUE) }
            if p == .maxPosition {
                loop.setMaxPosition(value, locate: l) // every strategy's ladder; the strategy's own limit too where it has one
                _ = loop.strategy.set(p, to: value, locate: l)
            } else {
                guard loop.strategy.set(p, to: value, locate: l) else { return UInt64(OMNI_CMDR_UNKNOWN_PARAMETER) }
            }
            loop.board.requote(l)
        case Int(OMNI_CMD_SET_LIMITS):
            guard trades(l), var limits = loop.risk.limits(instrument: l) else { return UInt64(OMNI_CMDR_UNKNOWN_INSTRUMENT) }
            guard a0 >= 1, a0 <= UInt64(UInt32.max), a1 <= UInt64(Int64.max) else { return UInt64(OMNI_CMDR_BAD_VALUE) }
            limits.maxOrderQuantity = UInt32(a0)
            limits.maxLong = Int64(a1); limits.maxShort = Int64(a1)
            do { try loop.risk.setLimits(limits, instrument: l) } catch { return UInt64(OMNI_CMDR_BAD_VALUE) }
        default:
            return UInt64(OMNI_CMDR_UNKNOWN_COMMAND)
        }
        return UInt64(OMNI_CMDR_APPLIED)
    }

    /// Publishes the snapshot when `publishEveryNs` has passed since the last (or a command was applied).
    /// `feed`, `stale` and `gatewayUp` are read only when it publishes.
    public func publish<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>, now: UInt64, feed: @autoclosure () -> FeedHealth,
                                                    stale: @autoclosure () -> Bool, gatewayUp: @autoclosure () -> Bool) {
        guard now >= nextPublishNs else { return }
        nextPublishNs = now &+ publishEveryNs
        let b = snapshot
        b.beginWrite()
        let c = loop.ledger.counters
        var s = LoopSummary()
        s.configVersion = version; s.publishedNs = now
        s.passes = loop.counters.passes; s.requests = loop.counters.requests; s.refusedByRisk = loop.counters.refusedByRisk
        s.notSent = loop.counters.notSent; s.venueRejected = c.rejected; s.fills = c.fills
        s.openOrders = UInt64(loop.ledger.table.open); s.riskPassed = loop.risk.passed
        s.venueAccepted = c.accepted; s.bookChanges = loop.counters.bookChanges
        if now >= nextPercentilesNs {
            nextPercentilesNs = now &+ 1_000_000_000
            tickToTrade = (loop.tickToTradeNs(percentile: 50), loop.tickToTradeNs(percentile: 99), loop.tickToTrade.totalCount)
        }
        s.tickToTradeP50Ns = tickToTrade.p50; s.tickToTradeP99Ns = tickToTrade.p99; s.tickToTradeCount = tickToTrade.count
        s.killReason = loop.risk.killReason?.rawValue ?? 0
        s.feed = feed(); s.feedStale = stale(); s.gatewayUp = gatewayUp()
        s.commands = commandsRead; s.commandsRefused = commandsRefused
        s.instruments = bound
        b.summary.pointee = s
        for i in 0..<bound {
            let l = locates[i]
            var x = InstrumentSummary()
            x.locate = l
            x.quoting = loop.isQuoting(l)
            x.parameters = loop.strategy.parameters(locate: l)
            x.ladderMaxPosition = loop.maxPosition(locate: l)
            x.limits = loop.risk.limits(instrument: l)
            let p = loop.ledger.position(strategy: loop.strategyID, locate: l)
            let (bid, ask) = loop.board.touch(l)
            x.position = p.shares
            x.realised = Int64(clamping: p.realised); x.fees = Int64(clamping: p.fees)
            x.unrealised = Int64(clamping: p.unrealised(bid: bid, ask: ask) ?? 0)
            x.fills = p.fills; x.boughtShares = p.boughtShares; x.soldShares = p.soldShares
            if let r = loop.risk.instrument(l) { x.workingBuy = r.workingBuy; x.workingSell = r.workingSell }
            x.bid = bid; x.ask = ask
            (x.ourBid, x.ourBidShares, x.ourAsk, x.ourAskShares) = loop.bestQuote(l)
            b.instruments[i] = x
        }
        for j in 0..<SnapshotBuffer.checks { b.refusals[j] = loop.risk.refusals(RiskCheck(rawValue: UInt16(j + 1))!) } // no allCases array here
        b.endWrite()
    }
}

import CSys
import Histogram
import OmniCore

/// Tick-to-trade measured by the venue, the way Onload's `trade_sim` exchange does it: the sim
/// publishes trigger market data at scheduled times (open loop: each trigger is due at
/// start + k / rate whatever happened before, so a slow answer never delays the next trigger and
/// the measurement is free of coordinated omission), and stamps the receipt of the order that
/// answers each one. One stamp clock (the TSC) on the venue's own thread takes both ends.
public struct SimTriggerConfig: Sendable, Equatable {
    /// Triggers per second.
    public var rate: Double
    /// Triggers in all; the session goes on until --seconds.
    public var count: Int
    /// The instrument (index into the sim's instruments) whose best offer each trigger moves.
    public var instrument = 0
    /// The client the answers are expected from (an OUCH login name), so no other order counts.
    public var trader = "OMNIMM"
    /// The answer: a buy at the new best offer less this many ticks (`omni run --strategy trigger`);
    /// more than the ladder's height, so an offer walking down never reaches a bid left behind.
    public var answerTicksBelow: UInt32 = 80
    public init(rate: Double, count: Int) { self.rate = rate; self.count = count }
}

/// What the triggers measured, for the summary and `omni bench tick-to-trade`.
public struct SimTriggerReport: Sendable {
    public var sent = 0, answered = 0
    /// Triggers whose answer never came (the trader coalesced it with a later one, or was late past
    /// the ladder's wrap), and answers that matched no outstanding trigger.
    public var unanswered = 0, strayAnswers = 0
    /// Scheduled trigger time -> the venue's loop reading the order that answers it, ns.
    public var tickToTrade: Histogram<UInt64>
    /// Scheduled time -> the trigger's packet handed to the socket, ns (the venue's own lateness).
    public var sendLag: Histogram<UInt64>
}

/// The trigger source inside the sim's loop, armed by the trader's OUCH login. The best offer of one instrument walks a ladder of
/// `levels` prices one tick apart, up then down (consecutive triggers always differ by a tick, so
/// each is a book change, and the offer never drops onto the trader's bid 80 ticks below); each
/// trigger is one venue replace of the sim's own offer (one ITCH Order Replace). An answer is the
/// trader's buy at (offer - answerTicksBelow): its price names the ladder step, the most recent
/// outstanding trigger at that step is the one answered.
final class SimTriggers {
    let config: SimTriggerConfig
    let clock: csys_clock
    let intervalTicks: Double
    var startTSC: UInt64 = 0
    var next = 0
    var order: OrderID = .none
    let locate: Locate
    let base: UInt32, tick: UInt32
    static let levels = 64
    /// Per ladder step: the scheduled TSC of its most recent outstanding trigger (0: none).
    var outstanding = [UInt64](repeating: 0, count: levels)
    var report: SimTriggerReport

    init(_ config: SimTriggerConfig, instrument: InstrumentSpec) {
        self.config = config
        var c = csys_clock()
        _ = csys_clock_init(&c, CSYS_CLOCK_TSC, 20)
        clock = c
        intervalTicks = Double(c.hz) / config.rate
        locate = instrument.locate
        tick = instrument.tick
        base = instrument.referencePrice + 20 * instrument.tick // above any bid near the reference
        let h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        report = SimTriggerReport(tickToTrade: h, sendLag: h)
    }

    var done: Bool { next >= config.count }

    /// The trader logged in: the first trigger is due `settleNs` later (its feed joins, its
    /// first quotes settle), the rest on schedule after it. Only the first login arms.
    static let settleNs: UInt64 = 500_000_000
    /// The trader's OUCH user, known from its login (answers are matched by it, not by name).
    var trader: SoupUser?
    func arm(_ user: SoupUser) {
        trader = user
        guard startTSC == 0 else { return }
        startTSC = csys_rdtsc() &+ UInt64(Double(clock.hz) * Double(Self.settleNs) / 1e9)
    }

    /// The ladder step of trigger k: 0, 1, ..., levels - 1, levels - 2, ..., 1, 0, 1, ...
    static func step(_ k: Int) -> Int {
        let period = 2 * (levels - 1)
        let r = k % period
        return r < levels ? r : period - r
    }

    /// The trigger due now, if any: the venue replaces the sim's offer (`replace` / `submit` do
    /// the venue call and publish the feed); returns true when one went out.
    func fire(submit: (UInt32) -> OrderID, replace: (OrderID, UInt32) -> Bool, publish: () -> Void) -> Bool {
        guard !done, startTSC != 0 else { return false }
        let now = csys_rdtsc()
        let due = startTSC &+ UInt64(Double(next) * intervalTicks)
        guard now >= due else { return false }
        let s = Self.step(next)
        let price = base + UInt32(s) * tick
        if order == .none || !replace(order, price) { order = submit(price) }
        publish()
        let sent = csys_rdtsc()
        if outstanding[s] != 0 { report.unanswered += 1 } // the step's previous trigger was never answered
        outstanding[s] = due
        withUnsafePointer(to: clock) { c in _ = report.sendLag.record(min(csys_clock_ns(c, sent &- due), 1 << 40)) }
        report.sent += 1
        next += 1
        return true
    }

    /// An order from the trader for the trigger instrument: a buy at `price` answers the
    /// outstanding trigger of the step it names.
    func answer(price: UInt32) {
        let target = price &+ config.answerTicksBelow * tick
        guard target >= base, (target - base) % tick == 0, Int((target - base) / tick) < Self.levels,
              outstanding[Int((target - base) / tick)] != 0 else { report.strayAnswers += 1; return }
        let s = Int((target - base) / tick)
        let t = csys_rdtsc()
        withUnsafePointer(to: clock) { c in _ = report.tickToTrade.record(min(csys_clock_ns(c, t &- outstanding[s]), 1 << 40)) }
        outstanding[s] = 0
        report.answered += 1
    }

    /// At the end: triggers still waiting count as unanswered.
    func close() {
        report.unanswered += outstanding.filter { $0 != 0 }.count
        outstanding = [UInt64](repeating: 0, count: Self.levels)
    }
}

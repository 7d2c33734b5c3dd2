import OmniOrders
import OmniRisk
import OmniStrategy
import OmniWire

/// What tripped the kill switch (MiFID II RTS 6 Art. 12).
public enum KillTrigger: Equatable, Sendable, CustomStringConvertible {
    /// A person: SIGUSR1 (or a control-plane command).
    case signal
    /// Realised + unrealised loss beyond `risk.max_daily_loss` (PreTradeCheck trips it itself).
    case dailyLoss
    /// The order entry's session ended (OUCH disconnected, FIX not logged on).
    case disconnect(String)
    /// No packet nor heartbeat on the feed for `silentNs` (≥ `stale_after`).
    case feedSilent(silentNs: UInt64)
    /// The MoldUDP64 session is stale: a gap declared lost, the books no longer match the market.
    case feedStale
    /// `PreTradeCheck.kill` called directly (a command).
    case command

    public var reason: KillReason {
        switch self {
        case .signal: .signal
        case .dailyLoss: .dailyLoss
        case .disconnect: .disconnect
        case .feedSilent, .feedStale: .staleFeed
        case .command: .command
        }
    }

    public var description: String {
        switch self {
        case .signal: "SIGUSR1"
        case .dailyLoss: "daily loss limit"
        case .disconnect(let why): "gateway disconnect (\(why))"
        case .feedSilent(let ns): "stale feed (no packet or heartbeat for \(ns / 1_000_000) ms)"
        case .feedStale: "stale feed (MoldUDP64 session stale: a gap declared lost)"
        case .command: "command"
        }
    }
}

/// The kill switch's triggers besides a person's reset, checked once per pass by whoever runs the
/// loop (`omni run`): each trips `loop.kill` (risk refuses everything, every open order canceled)
/// once, and says which trigger did it; the loop goes on running, quoting nothing.
public struct KillSwitchWatch: Sendable {
    /// No packet nor heartbeat for this long is a stale feed.
    public let staleAfterNs: UInt64
    /// The trigger that tripped the switch, nil while it is off.
    public private(set) var trigger: KillTrigger?

    public init(staleAfterNs: UInt64 = 3_000_000_000) { self.staleAfterNs = staleAfterNs }

    /// After a person's reset of the kill switch (`TradingLoop.resetKill`): every trigger is
    /// watched again.
    public mutating func rearm() { trigger = nil }

    /// The trigger that tripped the switch now (once), or nil. `lastPacketNs`: monotonic ns of the
    /// feed's last packet or heartbeat (0: none yet, not judged); `now`: the same clock.
    public mutating func check<Entry: OrderEntry, S: Strategy>(
        _ loop: TradingLoop<Entry, S>, signal: Bool, connected: @autoclosure () -> Bool, disconnectReason: @autoclosure () -> String = "closed",
        lastPacketNs: UInt64, sessionStale: Bool, now: UInt64) -> KillTrigger? {
        guard trigger == nil else { return nil }
        var t: KillTrigger?
        if signal { t = .signal }
        else if loop.risk.killReason == .dailyLoss { t = .dailyLoss }
        else if !connected() { t = .disconnect(disconnectReason()) }
        else if sessionStale { t = .feedStale }
        else if lastPacketNs != 0 && now > lastPacketNs && now - lastPacketNs >= staleAfterNs { t = .feedSilent(silentNs: now - lastPacketNs) }
        else if loop.risk.isKilled { t = .command }
        guard let trigger = t else { return nil }
        loop.kill(trigger.reason, now: now)
        self.trigger = trigger
        return trigger
    }
}

import CEvent
import CSys
import Foundation
import Logging
import OmniRisk
import OmniTrading

/// A raised limit that reverts by itself: a risk officer's raise carries `expires_in_s` (at most
/// 8 h); at expiry the control plane sends the limits back through the command ring, as "system",
/// acknowledged and audited like any change. Each limit goes back to its value before the raise,
/// or stays where a later change lowered it below that (never up: a revert only lowers). A second
/// raise before expiry moves the expiry and keeps the values to revert to.
struct LimitOverride: Sendable {
    static let longestSeconds: Int64 = 8 * 3_600
    var locate: UInt16
    /// The limits before the first raise.
    var maxOrderQty: UInt32, maxPosition: Int64
    var expiresNs: UInt64, expiresAt: Date
    var by: String

    var body: LimitOverrideBody {
        LimitOverrideBody(expiresAt: timestamp(expiresAt), expiresInS: max(0, Int64(expiresAt.timeIntervalSinceNow.rounded(.up))),
                          revertsToMaxOrderQty: maxOrderQty, revertsToMaxPosition: maxPosition, by: by)
    }
}

extension ControlServer {
    /// Keeps the raise of `symbol`'s limits (from `previous`) to revert in `seconds`.
    func override(_ symbol: String, locate: UInt16, from previous: InstrumentLimits, forSeconds seconds: Int64, by: String) {
        overrides.withLock { o in
            let kept = o[symbol]
            o[symbol] = LimitOverride(locate: locate, maxOrderQty: kept?.maxOrderQty ?? previous.maxOrderQuantity,
                                      maxPosition: kept?.maxPosition ?? max(previous.maxLong, previous.maxShort),
                                      expiresNs: csys_monotonic_ns() + UInt64(seconds) * 1_000_000_000,
                                      expiresAt: Date(timeIntervalSinceNow: TimeInterval(seconds)), by: by)
        }
    }

    /// Reverts every override whose expiry has passed; one that gets no answer from the loop (busy,
    /// not acknowledged) is tried again at the next reading.
    func revertExpired(now: UInt64) async {
        let due = overrides.withLock { $0.filter { $0.value.expiresNs <= now } }
        for (symbol, o) in due.sorted(by: { $0.key < $1.key }) {
            let before = port.snapshot.read()
            guard let i = symbols.firstIndex(of: symbol), i < before.instruments.count, let current = before.instruments[i].limits else { continue }
            let qty = min(current.maxOrderQuantity, o.maxOrderQty)
            let position = min(max(current.maxLong, current.maxShort), o.maxPosition)
            if qty == current.maxOrderQuantity && position == max(current.maxLong, current.maxShort) {
                overrides.withLock { $0[symbol] = nil }
                await forgetOverride(symbol)
                await audit(who: "system", role: "system", action: "revert limit override", endpoint: "(override expired)", before: before, after: before,
                            symbol: symbol, outcome: "200 the override by \(o.by) expired: \(symbol)'s limits are already at or below it, nothing sent")
                continue
            }
            let outcome: String
            do {
                let ack = try await command(Int32(OMNI_CMD_SET_LIMITS), locate: o.locate, UInt64(qty), UInt64(position), what: "\(symbol) limits (override expired)")
                outcome = "200 the override by \(o.by) expired: \(symbol) max_order_qty \(qty), max_position \(position)"
                overrides.withLock { $0[symbol] = nil }
                await forgetOverride(symbol)
                log.notice("\(outcome.dropFirst(4)) (version \(ack.version))", metadata: ["symbol": "\(symbol)"])
                await audit(who: "system", role: "system", action: "revert limit override", endpoint: "(override expired)", before: before,
                            after: await snapshot(atLeast: ack.version), symbol: symbol, outcome: outcome)
            } catch let e as APIError where e.status == .serviceUnavailable || e.status == .gatewayTimeout {
                log.warning("\(symbol): the expired override NOT reverted yet (tried again): \(e.message)", metadata: ["symbol": "\(symbol)"])
            } catch {
                // The loop refused the values (it no longer has limits for the instrument): nothing to retry.
                overrides.withLock { $0[symbol] = nil }
                await forgetOverride(symbol)
                let e = error as? APIError
                log.error("\(symbol): the expired override NOT reverted: \(error)", metadata: ["symbol": "\(symbol)"])
                await audit(who: "system", role: "system", action: "revert limit override", endpoint: "(override expired)", before: before,
                            after: port.snapshot.read(), symbol: symbol, outcome: "\(e?.status.code ?? 500) \(error)")
            }
        }
    }
}

import CEvent
import CSys
import Foundation
import OmniRisk
import OmniTrading

// What a restart must not forget (migration v3): the kill switch's state and the raised limits not
// yet expired. The kill switch "lets nothing out until a person resets it" (RTS 6 Art. 12), so a
// new run on the same store starts killed when the last run left it on; a raise still unexpired is
// re-applied with its remaining time, one expired meanwhile is dropped, audited as system.

/// Writes the kill switch's turns to the store one at a time, so a trigger seen by the control
/// plane's reading and a person's reset a moment later are kept in the order the loop applied them.
actor KillSwitchKeeper {
    /// The kill reason of the last snapshot read (0: off).
    var seen: UInt32 = 0

    /// Appends `record`, unless `stillOn` says the loop's switch has been reset since it was seen
    /// (then the reset's own row follows, and this one would be stale).
    func write(_ record: KillSwitchRecord, to store: any ControlStore, stillOn: () -> Bool = { true }) async throws {
        guard !record.engaged || stillOn() else { return }
        try await store.recordKillSwitch(record)
    }

    /// A reading of the loop's kill reason: returns it when it turned on by a trigger of the loop's
    /// own that a restart must keep (the command's turns are written by the request that sent it).
    /// SIGUSR1 is a person's act and the daily loss is money lost: both hold until a person resets
    /// them. A gateway disconnect or a stale feed is this run's connection gone: a new run, which
    /// connects again, starts without them (a fresh run's own watch trips them again if they persist).
    func turnedOnByTrigger(_ reason: UInt32) -> KillReason? {
        defer { seen = reason }
        guard reason != seen, reason != 0, let r = KillReason(rawValue: reason), r == .signal || r == .dailyLoss else { return nil }
        return r
    }
}

extension ControlServer {
    /// At start, before the loop's first pass: when the store's last turn of the kill switch is on,
    /// a kill command goes on the ring, which the loop applies before its first pass (nothing is
    /// sent until a risk officer resets it); audited as `omni run`. A store that cannot say fails
    /// closed: the run starts killed. Returns what it did (nil without a store).
    func resumeKillSwitch() async -> String? {
        guard let store else { return nil }
        let why: String
        do {
            guard let last = try await store.lastKillSwitch() else { return "kill switch never turned on this store: starts off" }
            guard last.engaged else { return "kill switch off (reset by \(last.who) at \(timestamp(last.at))): starts off" }
            why = "on since \(timestamp(last.at)) (\(last.reason), by \(last.who), run \(last.run))"
        } catch {
            why = "its state NOT readable (\(error)): fails closed"
        }
        do { try await link.post(Int32(OMNI_CMD_KILL)) } catch {
            return "kill switch \(why), NOT resumed: \(error)"
        }
        let outcome = "200 kill switch \(why): the loop starts killed; nothing is sent until a risk officer resets it (POST /v1/kill/reset)"
        do {
            try await store.appendAudit(AuditEntry(at: Date(), who: "omni run", role: "system", action: "resume kill switch", endpoint: "(start)",
                                                   before: #"{"killed":true}"#, after: #"{"killed":true}"#, outcome: outcome))
        } catch { log.error("store: the audit row of the kill switch's resume NOT written: \(error)") }
        return String(outcome.dropFirst(4))
    }

    /// One reading of the snapshot: a kill by SIGUSR1 or the daily loss (`turnedOnByTrigger`) is
    /// written to the store as `omni run (REASON)`.
    func noteKillSwitch(_ s: LoopSnapshot) async {
        guard let store, s.summary.publishedNs != 0, let reason = await killKeeper.turnedOnByTrigger(s.summary.killReason) else { return }
        let record = KillSwitchRecord(run: run, at: Date(), engaged: true, reason: reason.name, who: "omni run (\(reason.name))")
        do {
            try await killKeeper.write(record, to: store) { self.port.snapshot.read().summary.killReason != 0 }
        } catch { log.error("store: the kill switch's turn on (\(reason.name)) NOT written: \(error)") }
    }

    /// A person's kill or reset, applied by the loop at `version`: written before the request is
    /// answered; a failure to write is the request's 500 (the loop has applied it: the answer says so).
    func recordKillSwitch(engaged: Bool, who: String, version: UInt64) async throws {
        guard let store else { return }
        do {
            try await killKeeper.write(KillSwitchRecord(run: run, at: Date(), engaged: engaged, reason: engaged ? KillReason.command.name : "", who: who),
                                       to: store)
        } catch {
            throw APIError(.internalServerError, "the kill switch is \(engaged ? "on" : "off") at version \(version), but the store did NOT keep it "
                           + "(a restart resumes the last state kept): \(error)")
        }
    }

    /// Keeps `symbol`'s override (as the server now holds it, with the limits `raised` to) in the store.
    func saveOverride(_ symbol: String, raisedQty: UInt32, raisedPosition: Int64) async {
        guard let store, let o = overrides.withLock({ $0[symbol] }) else { return }
        do {
            try await store.saveLimitOverride(StoredLimitOverride(symbol: symbol, maxOrderQty: raisedQty, maxPosition: raisedPosition,
                                                                  revertsToMaxOrderQty: o.maxOrderQty, revertsToMaxPosition: o.maxPosition,
                                                                  expiresAt: o.expiresAt, by: o.by, run: run, at: Date()))
        } catch { log.error("store: \(symbol)'s limit override NOT kept (a restart will not resume it): \(error)", metadata: ["symbol": "\(symbol)"]) }
    }

    /// Forgets `symbol`'s override in the store (reverted, or dropped).
    func forgetOverride(_ symbol: String) async {
        guard let store else { return }
        do { try await store.removeLimitOverride(symbol: symbol) } catch { log.error("store: \(symbol)'s reverted override NOT removed: \(error)", metadata: ["symbol": "\(symbol)"]) }
    }

    /// An override kept by an earlier run, held again until `expiresAt` (the time left of it).
    func restoreOverride(_ symbol: String, locate: UInt16, revertsToQty: UInt32, revertsToPosition: Int64, expiresAt: Date, by: String) {
        let left = max(expiresAt.timeIntervalSinceNow, 0)
        overrides.withLock {
            $0[symbol] = LimitOverride(locate: locate, maxOrderQty: revertsToQty, maxPosition: revertsToPosition,
                                       expiresNs: csys_monotonic_ns() + UInt64(left * 1e9), expiresAt: expiresAt, by: by)
        }
    }
}

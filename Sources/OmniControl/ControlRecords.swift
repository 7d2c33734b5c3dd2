import CEvent
import Foundation
import Hummingbird
import Logging
import OmniStrategy
import OmniTrading
import ServiceLifecycle
import Synchronization

// What the control server writes to its store: the configuration the loop applied (after every
// change, and at start), an audit row for every mutating request, the order journal's events and
// the day's PnL as the snapshot shows it; and the resume of the last configuration when a run starts.

extension InstrumentConfig {
    /// The stored value of a quoting parameter (nil: the strategy has none).
    func value(_ p: QuoteParameter) -> Int64? {
        switch p {
        case .spreadTicks: spreadTicks.map(Int64.init)
        case .size: size.map(Int64.init)
        case .skewShares: skewShares
        case .maxPosition: maxPosition
        }
    }
}

extension DailyPnL {
    /// The day's PnL rows of `run` as the snapshot `s` shows them, one per instrument (none before
    /// the loop's first publication).
    public static func rows(_ s: LoopSnapshot, symbols: [String], run: String, at: Date) -> [DailyPnL] {
        guard s.summary.publishedNs != 0 else { return [] }
        let day = DailyPnL.day(at)
        return s.instruments.enumerated().filter { $0.offset < symbols.count }.map { i, x in
            DailyPnL(day: day, run: run, symbol: symbols[i], realised: x.realised, unrealised: x.unrealised, fees: x.fees, position: x.position,
                     fills: x.fills, at: at)
        }
    }
}

/// The loop's state around an audited change: its configuration version, the kill switch and the
/// instrument the change was about (none for the kill switch).
struct AuditedState: Encodable {
    var configVersion: UInt64
    var killed: Bool
    var instruments: [InstrumentConfig]
}

extension ControlServer {
    /// Every traded instrument's configuration in `s`.
    public func configuration(_ s: LoopSnapshot) -> [InstrumentConfig] {
        s.instruments.indices.map { i in
            let x = s.instruments[i]
            return InstrumentConfig(symbol: symbols[i], quoting: x.quoting, spreadTicks: x.parameters?.spreadTicks, size: x.parameters?.size,
                                    skewShares: x.parameters?.skewShares, maxPosition: x.ladderMaxPosition, maxOrderQty: x.limits?.maxOrderQuantity,
                                    limitPosition: x.limits.map { max($0.maxLong, $0.maxShort) })
        }
    }

    func auditedState(_ s: LoopSnapshot, symbol: String?) -> String {
        Self.jsonText(AuditedState(configVersion: s.summary.configVersion, killed: s.summary.killReason != 0,
                                   instruments: symbol.map { sym in configuration(s).filter { $0.symbol == sym } } ?? []))
    }

    /// A mutating request: the caller identified (401 is not audited: there is no one to name),
    /// the role checked, `body` run; then, whatever the outcome (403 and every refusal included),
    /// one audit row: who, the action, the endpoint, the loop's state before and after (the
    /// instrument `body` names through its argument), the status and message. A change the loop
    /// applied is recorded as a configuration version too.
    func mutation(_ request: Request, _ action: ControlAction, _ body: (AccessToken, inout String?) async throws -> Response) async throws -> Response {
        let who = try identify(request)
        let before = port.snapshot.read()
        var symbol: String?
        var outcome = "200"
        var failure: (any Error)?
        var response: Response?
        do {
            guard who.role.may(action) else { throw APIError(.forbidden, "\(who.name) (\(who.role.rawValue)) may not \(action.rawValue)") }
            response = try await body(who, &symbol)
        } catch let e as APIError {
            outcome = "\(e.status.code) \(e.message)"
            failure = e
        } catch {
            outcome = "500 \(error)"
            failure = error
        }
        await audit(who: who.name, role: who.role.rawValue, action: action.rawValue, endpoint: "\(request.method) \(request.uri.path)",
                    before: before, after: port.snapshot.read(), symbol: symbol, outcome: outcome)
        if let failure { throw failure }
        return response!
    }

    /// One audit row: who, the action, the endpoint, the loop's state `before` and `after` (the
    /// instrument `symbol` names), the outcome; and a configuration version when the loop's moved.
    func audit(who: String, role: String, action: String, endpoint: String, before: LoopSnapshot, after: LoopSnapshot, symbol: String?,
               outcome: String) async {
        guard let store else { return }
        let now = Date()
        var outcome = outcome
        do {
            if after.summary.configVersion != before.summary.configVersion && after.summary.publishedNs != 0 {
                outcome += outcome.hasPrefix("200") ? " applied at version \(after.summary.configVersion)" : " (version \(after.summary.configVersion) after it)"
                try await store.recordConfig(AppliedConfig(run: run, loopVersion: after.summary.configVersion, at: now, who: "\(who) (\(role))",
                                                           instruments: configuration(after)))
            }
            try await store.appendAudit(AuditEntry(at: now, who: who, role: role, action: action, endpoint: endpoint,
                                                   before: auditedState(before, symbol: symbol), after: auditedState(after, symbol: symbol), outcome: outcome))
        } catch {
            log.error("store: the audit row of \(endpoint) by \(who) (\(role)) NOT written: \(error)", metadata: ["endpoint": "\(endpoint)", "who": "\(who)"])
        }
    }

    /// At start: once the loop has published its first snapshot, the store's last configuration is
    /// applied through the command ring (limits first, at most the run's own unless a raise kept
    /// in the store is still unexpired: then as raised, held again with its remaining time; then
    /// the quoting parameters, then quoting on or off: only what differs from the run's own
    /// configuration), and the configuration the run then has is recorded with an audit row. A
    /// kept raise that expired while no run held it is dropped, audited as system. Returns what it did.
    func resume() async -> String {
        guard let store else { return "no store" }
        while port.snapshot.read().summary.publishedNs == 0 {
            if Task.isCancelled || Task.isShuttingDownGracefully { return "not resumed: the server stopped before the loop started" }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        let start = port.snapshot.read()
        var done: [String] = [], refused: [String] = [], notes: [String] = [] // notes: what sent no command
        let last: AppliedConfig?
        do { last = try await store.lastConfig() } catch { return "not resumed: \(error)" }
        let opened = Date()
        var kept: [String: StoredLimitOverride] = [:]
        do { for o in try await store.limitOverrides() { kept[o.symbol] = o } } catch {
            refused.append("limit overrides NOT read (none resumed: limits at most the run's own): \(error)")
        }
        for o in kept.values.sorted(by: { $0.symbol < $1.symbol }) where o.expiresAt <= opened {
            kept[o.symbol] = nil
            await forgetOverride(o.symbol)
            notes.append("\(o.symbol) override by \(o.by) expired at \(timestamp(o.expiresAt)): dropped")
            let outcome = "200 the override by \(o.by) (max_order_qty \(o.maxOrderQty), max_position \(o.maxPosition)) expired at \(timestamp(o.expiresAt)) "
                + "while no run held it: not resumed; \(o.symbol)'s limits at most the run's own"
            do {
                try await store.appendAudit(AuditEntry(at: Date(), who: "system", role: "system", action: "revert limit override", endpoint: "(start)",
                                                       before: "{}", after: "{}", outcome: outcome))
            } catch { refused.append("the audit row of \(o.symbol)'s expired override NOT written: \(error)") }
        }
        if let last {
            for (i, x) in start.instruments.enumerated() where i < symbols.count {
                guard let c = last.instruments.first(where: { $0.symbol == symbols[i] }) else { continue }
                let now = configuration(start)[i]
                func send(_ code: Int32, _ a0: UInt64, _ a1: UInt64, _ what: String) async {
                    do { _ = try await command(code, locate: x.locate, a0, a1, what: "\(symbols[i]) \(what)"); done.append("\(symbols[i]) \(what)") } catch {
                        refused.append("\(error)")
                    }
                }
                // Never above the run's own limits: every raise expires, and one the stop cut short ends with it.
                if let storedQty = c.maxOrderQty, let storedPosition = c.limitPosition, let runQty = now.maxOrderQty, let runPosition = now.limitPosition {
                    if let o = kept[symbols[i]] {
                        // A raise still unexpired: as it was last (at most as raised), reverting to at most the run's own.
                        let q = min(storedQty, o.maxOrderQty), p = min(storedPosition, o.maxPosition)
                        let left = Int64(o.expiresAt.timeIntervalSinceNow.rounded(.up))
                        let what = "limits \(q)/\(p) (override by \(o.by) until \(timestamp(o.expiresAt)), \(left) s left)"
                        if q != runQty || p != runPosition { await send(Int32(OMNI_CMD_SET_LIMITS), UInt64(q), UInt64(max(p, 0)), what) }
                        else { notes.append("\(symbols[i]) \(what)") }
                        restoreOverride(symbols[i], locate: x.locate, revertsToQty: min(o.revertsToMaxOrderQty, runQty),
                                        revertsToPosition: min(o.revertsToMaxPosition, runPosition), expiresAt: o.expiresAt, by: o.by)
                    } else {
                        let q = min(storedQty, runQty), p = min(storedPosition, runPosition)
                        if q != runQty || p != runPosition { await send(Int32(OMNI_CMD_SET_LIMITS), UInt64(q), UInt64(max(p, 0)), "limits \(q)/\(p)") }
                    }
                }
                for p in QuoteParameter.allCases {
                    guard let v = c.value(p), now.value(p) != nil, v != now.value(p) else { continue }
                    await send(Int32(OMNI_CMD_SET_PARAM), UInt64(p.rawValue), UInt64(bitPattern: v), "\(p.name)=\(v)")
                }
                if c.quoting != now.quoting { await send(Int32(OMNI_CMD_QUOTING), c.quoting ? 1 : 0, 0, "quoting \(c.quoting ? "on" : "off")") }
            }
        }
        let after = await snapshot(atLeast: start.summary.configVersion + UInt64(done.count))
        let applied: String = done.isEmpty ? "the run's configuration already is it" : done.joined(separator: ", ")
        let noted: String = notes.isEmpty ? "" : "; " + notes.joined(separator: ", ")
        let notApplied: String = refused.isEmpty ? "" : "; NOT applied: " + refused.joined(separator: "; ")
        var what = "nothing to resume (an empty store): the run's configuration recorded" + noted + notApplied
        if let l = last {
            what = "configuration version \(l.id) (run \(l.run), loop version \(l.loopVersion), by \(l.who)) resumed: " + applied + noted + notApplied
        }
        do {
            let now = Date()
            try await store.recordConfig(AppliedConfig(run: run, loopVersion: after.summary.configVersion, at: now,
                                                       who: last == nil || done.isEmpty ? "omni run (start)" : "omni run (resume)", instruments: configuration(after)))
            try await store.appendAudit(AuditEntry(at: now, who: "omni run", role: "system", action: "resume configuration", endpoint: "(start)",
                                                   before: Self.jsonText(configuration(start)), after: Self.jsonText(configuration(after)),
                                                   outcome: what))
        } catch { return what + "; NOT recorded: \(error)" }
        return what
    }

    /// The store's side of a run (the record keeper, a service of the server's group): the resume,
    /// then every `everyNs` the order events the journal gave since the last time and the day's PnL
    /// as the snapshot shows it, and a last round at the group's graceful shutdown (`stop`), once the
    /// HTTP server and the watcher have stopped.
    func keepRecords(everyNs: UInt64) async {
        guard let store else { return }
        let note = await resume()
        resumed.withLock { $0 = note }
        log.log(level: note.contains("NOT") || note.hasPrefix("not ") ? .warning : .info, "store \(store.location): \(note)")
        var failing = false
        func write() async {
            let events = blotter.takeUnstored()
            let pnl = DailyPnL.rows(port.snapshot.read(), symbols: symbols, run: run, at: Date())
            do {
                try await store.recordOrderEvents(events)
                try await store.recordDailyPnL(pnl)
                failing = false
            } catch {
                blotter.lost(events.count)
                if !failing { log.error("store: \(events.count) order events and the PnL NOT recorded: \(error)") } // once, until it works again
                failing = true
            }
        }
        while !Task.isCancelled {
            // Slices of at most 100 ms: the group's graceful shutdown (stop) is seen within one.
            var waited: UInt64 = 0
            while waited < everyNs && !Task.isShuttingDownGracefully && !Task.isCancelled {
                let step = min(everyNs - waited, 100_000_000)
                try? await Task.sleep(nanoseconds: step)
                waited += step
            }
            if Task.isShuttingDownGracefully { break }
            await write()
        }
        drainJournal() // what the loop journaled after the watcher's last reading
        await write()
    }
}

import CWire

// Gap recovery of a MoldSession, driven by the caller's clock: `poll(now:)` asks
// the re-request server for what is still missing once a gap has been open for
// `requestDelay` (the A/B arbitration window: the other line gets the first
// chance), asks again after `requestTimeout` without progress, and after
// `maxRetries` such rounds declares the gap lost: the session turns stale. A lost
// gap stays lost until its messages arrive after all (late answer, a line) or the
// operator skips it with `skipGap` / `skipLostGaps`; nothing is ever skipped silently.

extension MoldSession {
    /// Runs the retransmission timers at `now` (the unit of the receive times). Writes the
    /// requests due into `requests`, CW_MOLD_REQUEST_LEN bytes each, back to back, each one
    /// datagram for the caller to send to the re-request server; returns how many. Requests
    /// that do not fit wait for the next call. Declares gaps lost, telling `consumer`.
    public mutating func poll<C: MoldConsumer>(now: UInt64, requests: UnsafeMutableRawBufferPointer,
                                               into consumer: inout C) -> Int {
        var written = 0
        var k = 0
        while k < gapCount {
            let i = gapSlot(k)
            k += 1
            var g = store.gaps[i]
            if g.missing == 0 || g.lost { continue }
            // Answers for a gap out of the reorder window's reach could not be held: it waits,
            // timers untouched, until `expected` comes close enough.
            if max(g.from, expected) - expected > store.slotMask { continue }
            var retry = false
            if g.attempts == 0 {
                let wait = g.overflowed ? 0 : config.requestDelay // an overflowed gap cannot wait for the other line
                if now < g.openedAt || now - g.openedAt < wait { continue }
            } else {
                if now < g.lastRequestAt || now - g.lastRequestAt < config.requestTimeout { continue }
                if g.missing < g.missingAtRequest {
                    g.attempts = 0 // answers came, if not all: a fresh round, not a retry
                } else if g.attempts > config.maxRetries {
                    g.lost = true
                    store.gaps[i] = g
                    lostGaps += 1
                    _counters.gapsLost &+= 1
                    continue
                } else {
                    retry = true
                }
            }
            let n = writeRequests(for: g, into: requests, at: written)
            if n == 0 { break } // no room left: due gaps wait for the next poll
            written += n
            _counters.requestsSent &+= UInt64(n)
            if retry { _counters.retries &+= 1 }
            g.attempts += 1
            g.lastRequestAt = now
            g.missingAtRequest = g.missing
            store.gaps[i] = g
        }
        if settle() { consumer.stateChanged(to: state) }
        return written
    }

    /// Writes the requests of one round for gap `g` at request index `at`; how many, or 0 when
    /// not even the first fits. Held messages at either end of the gap are not asked for. The
    /// range may reach past the reorder window: answers that start at `expected` are delivered
    /// as they come, without being held.
    @usableFromInline
    func writeRequests(for g: MoldGap, into out: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        let size = Int(CW_MOLD_REQUEST_LEN)
        guard let base = out.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var start = max(g.from, expected)
        while start < g.to && isHeld(start) { start += 1 }
        var end = g.to
        while end > start && isHeld(end - 1) { end -= 1 }
        var n = 0
        let per = UInt64(config.maxMessagesPerRequest)
        while start < end && n < config.maxRequestsPerRound && (at + n + 1) * size <= out.count {
            let count = min(per, end - start)
            _ = cw_mold_put_request(base + (at + n) * size, size, store.session, start, UInt16(count))
            start += count
            n += 1
        }
        return n
    }

    /// Operator action: gives up on the gap `expected` waits on (lost or not). Held messages
    /// inside it are delivered; the missing ones are reported to `consumer.skipped` and counted
    /// in `skippedMessages`. Returns the messages skipped (0 when no gap is open).
    @discardableResult
    public mutating func skipGap<C: MoldConsumer>(into consumer: inout C) -> UInt64 {
        _ = settle()
        guard gapCount > 0 else { return 0 }
        let i = gapFront
        let to = store.gaps[i].to
        var skipped: UInt64 = 0
        var run: UInt64? = nil // start of the current run of missing numbers
        // A held message is delivered once the next delivery is found (or the loop ends), so
        // that the last one released, here or by the drain below, can say it ends the release.
        var pending: UInt64? = nil
        while expected < to {
            if buffered == (pending == nil ? 0 : 1) { // nothing held beyond the pending message
                if run == nil { run = expected }
                skipped += to - expected
                _expected = to
                break
            }
            if store.slots[Int(expected & store.slotMask)].sequence == expected {
                if let p = pending { deliverHeld(p, lastInPacket: false, into: &consumer) }
                if let r = run { consumer.skipped(r..<expected); run = nil }
                pending = expected
            } else {
                if run == nil { run = expected }
                skipped += 1
            }
            _expected += 1
        }
        // The drain below continues from `to` when the message there is held.
        if let p = pending { deliverHeld(p, lastInPacket: !isHeld(to), into: &consumer) }
        if let r = run { consumer.skipped(r..<expected) }
        store.gaps[i].missing = 0
        openGaps -= 1
        if store.gaps[i].lost { store.gaps[i].lost = false; lostGaps -= 1 }
        _counters.gapsSkipped &+= 1
        _counters.skippedMessages &+= skipped
        drain(into: &consumer)
        if settle() { consumer.stateChanged(to: state) }
        return skipped
    }

    /// Delivers held message `seq` and releases its slot.
    @usableFromInline
    mutating func deliverHeld<C: MoldConsumer>(_ seq: UInt64, lastInPacket: Bool, into consumer: inout C) {
        let slot = store.slots[Int(seq & store.slotMask)]
        consumer.message(UnsafeRawBufferPointer(start: store.arena + Int(slot.offset), count: Int(slot.length)),
                         sequence: seq, lastInPacket: lastInPacket)
        release(seq)
        _counters.delivered &+= 1
    }

    /// Operator action: skips every lost gap at the front (see `skipGap`); returns the messages skipped.
    @discardableResult
    public mutating func skipLostGaps<C: MoldConsumer>(into consumer: inout C) -> UInt64 {
        var total: UInt64 = 0
        while true {
            _ = settle()
            guard gapCount > 0, store.gaps[gapFront].lost else { return total }
            total += skipGap(into: &consumer)
        }
    }
}

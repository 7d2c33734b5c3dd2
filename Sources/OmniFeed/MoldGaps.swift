import CWire

// Gap bookkeeping of a MoldSession. A gap is a range [from, to) that was missing
// when a packet or heartbeat ran ahead of the high water; `missing` counts its
// messages not yet arrived (held messages count as arrived). Gaps open only at
// the high water, so the table is a ring in sequence order: the front gap is the
// one `expected` waits on. A gap closes when its last message arrives.

extension MoldSession {
    @usableFromInline
    func gapSlot(_ k: Int) -> Int { (gapFront + k) % store.gapCapacity }

    @usableFromInline
    mutating func malformed(_ li: Int) {
        store.lines[li].malformed &+= 1
        _counters.malformed &+= 1
    }

    /// Locks the session to the 10 bytes at `name`.
    @usableFromInline
    mutating func lock(_ name: UnsafeRawPointer) {
        store.session.update(from: name.assumingMemoryBound(to: UInt8.self), count: Int(CW_MOLD_SESSION_LEN))
        sessionWord0 = name.loadUnaligned(as: UInt64.self)
        sessionWord1 = name.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        locked = true
    }

    /// Whether the far packet starting at `first` is the second near a far sequence number;
    /// if not, it becomes the one the next far packet is compared with.
    @usableFromInline
    mutating func confirmed(_ first: UInt64) -> Bool {
        let near = unconfirmedJump != 0 && (first >= unconfirmedJump ? first - unconfirmedJump : unconfirmedJump - first) <= config.confirmJump
        unconfirmedJump = near ? 0 : first
        return near
    }

    @usableFromInline
    mutating func start(at first: UInt64) {
        started = true
        if config.firstSequence == nil { _expected = first; _highWater = first }
    }

    /// A heartbeat or end of session: `first` is the sequence number the server will send next.
    @usableFromInline
    mutating func arrivedEmpty(first: UInt64, isEnd: Bool, line: MoldLine, at rxTime: UInt64) {
        if isEnd {
            if endSequence == nil { endSequence = max(first, highWater) }
        } else {
            store.lines[line.rawValue].heartbeats &+= 1
            _counters.heartbeats &+= 1
        }
        let end = min(first, endSequence ?? .max)
        if end > highWater {
            openGap(from: highWater, to: end, missing: end - highWater, line: line, at: rxTime, overflowed: false)
            _highWater = end
        }
    }

    /// A packet carried messages up to `end` beyond the old high water: whatever between
    /// the old high water and `first` never came is a new gap, and so are messages of the
    /// packet above the old high water that the reorder buffer had no room for.
    @usableFromInline
    mutating func advanceHighWater(first: UInt64, end: UInt64, droppedAbove: UInt64, line: MoldLine, at rxTime: UInt64) {
        let skippedOver = first > highWater ? first - highWater : 0
        let missing = skippedOver + droppedAbove
        if missing > 0 {
            openGap(from: highWater, to: droppedAbove > 0 ? end : first, missing: missing, line: line, at: rxTime,
                    overflowed: droppedAbove > 0)
        }
        _highWater = end
    }

    /// The reorder buffer had no room for a packet: waiting for the other line is no use any
    /// more (what it sends may not fit either), so every open gap is asked for at the next poll.
    @usableFromInline
    mutating func overflowed() {
        _counters.reorderOverflows &+= 1
        for k in 0..<gapCount { store.gaps[gapSlot(k)].overflowed = true }
    }

    @usableFromInline
    mutating func openGap(from: UInt64, to: UInt64, missing: UInt64, line: MoldLine, at rxTime: UInt64, overflowed: Bool) {
        _counters.gapsOpened &+= 1
        store.lines[line.rawValue].gapsFirstSeen &+= 1
        if gapCount == store.gapCapacity {
            // Table full: widen the last gap. Missing counts stay exact, requests just cover more.
            _counters.gapsMerged &+= 1
            let i = gapSlot(gapCount - 1)
            var g = store.gaps[i]
            if g.missing == 0 || g.lost {
                // A closed or given-up gap takes on a new life with the new messages.
                if g.missing == 0 { openGaps += 1 }
                if g.lost { lostGaps -= 1; g.lost = false }
                g.openedAt = rxTime; g.openedBy = line; g.attempts = 0
            }
            g.to = to
            g.missing += missing
            g.overflowed = g.overflowed || overflowed
            store.gaps[i] = g
            return
        }
        var g = MoldGap(from: from, to: to, missing: missing, openedAt: rxTime, openedBy: line)
        g.overflowed = overflowed
        store.gaps[gapSlot(gapCount)] = g
        gapCount += 1
        openGaps += 1
    }

    /// Message `seq`, below the high water and new, arrived from `line`: one less missing in its gap.
    @usableFromInline
    mutating func filled(_ seq: UInt64, by line: MoldLine) {
        for k in 0..<gapCount {
            let i = gapSlot(k)
            let g = store.gaps[i]
            if seq < g.from { return } // in no gap: cannot happen while the missing counts are exact
            if seq < g.to && g.missing > 0 {
                store.gaps[i].missing -= 1
                if g.missing == 1 { closed(i, by: line) }
                return
            }
        }
    }

    @usableFromInline
    mutating func closed(_ i: Int, by line: MoldLine) {
        openGaps -= 1
        if store.gaps[i].lost {
            store.gaps[i].lost = false
            lostGaps -= 1
            _counters.gapsRecovered &+= 1
        }
        if line == .retransmission {
            _counters.gapsFilledByRetransmission &+= 1
        } else if line != store.gaps[i].openedBy {
            _counters.gapsFilledByOtherLine &+= 1
        } else {
            _counters.gapsFilledLate &+= 1
        }
    }

    /// Pops closed gaps off the front and recomputes the state; true when it changed.
    @usableFromInline
    mutating func settle() -> Bool {
        while gapCount > 0 && store.gaps[gapFront].missing == 0 {
            gapFront = (gapFront + 1) % store.gapCapacity
            gapCount -= 1
        }
        let now: MoldSessionState
        if lostGaps > 0 || _counters.beyondEnd > 0 || sessionInDoubt { now = .stale }
        else if let end = endSequence, expected >= end { now = .finished }
        else if openGaps > 0 { now = .gapOpen }
        else { now = .live }
        guard now != state else { return false }
        state = now
        stateEpoch &+= 1
        return true
    }

    /// The open gaps, front first, as (missing range, messages missing, lost): for reports and tests.
    public var gaps: [(range: Range<UInt64>, missing: UInt64, lost: Bool)] {
        (0..<gapCount).compactMap { k in
            let g = store.gaps[gapSlot(k)]
            return g.missing == 0 ? nil : (max(g.from, expected)..<g.to, g.missing, g.lost)
        }
    }
}

import CWire
import OmniCore

@usableFromInline struct SessionState {
    /// First live order of the session (list through OrderSlot.snext), -1 when none.
    @usableFromInline var head: Int32 = -1
    /// Token bucket, in nanoseconds of refill time.
    @usableFromInline var credit: UInt64 = 0
    @usableFromInline var last: UInt64 = 0
    @usableFromInline init() {}
}

/// The exchange simulator's matching engine: instruments by locate, price-time priority,
/// every state change reported to `events` and published as ITCH 5.0 into `feed`.
///
/// Single-threaded: one thread drives a venue. All memory (order pool, ladders, sessions) is
/// allocated at init; submit / cancel / replace / massCancel never allocate. Set `now`
/// (nanoseconds since midnight, the ITCH timestamp; also the rate limiter's clock) before calls.
///
/// State lives behind one pointer so the hot path pays no class exclusivity checks.
///
/// Typical use (an order-entry server, the sim CLI):
///
///     var out = DayFileBuffer(capacity: 64 << 20)           // or your own ITCHSink (MoldUDP64 publisher)
///     let venue = Venue(events: MyEvents(), feed: out)      // InstrumentSpec.defaults, VenueConfig()
///     venue.now = nanosecondsSinceMidnight
///     venue.open()                                          // S O, R + H per instrument, S S, S Q
///     let id = venue.submit(session: 3, order: NewOrder(locate: 1, side: .bid, price: 2_000_000, quantity: 100))
///     venue.replace(session: 3, order: id, price: 2_000_100, quantity: 100)
///     venue.cancel(session: 3, order: id)
///     venue.massCancel(session: 3)                          // e.g. on session logout
///     venue.close()                                         // S M, S E, S C
///
/// Events arrive in `events` synchronously, in the order of the state changes, before the call
/// returns; the ITCH for the same changes is already in `feed` by then. A publisher drains its
/// sink between calls (e.g. `DayFileBuffer.bytes` then `reset()`).
public final class Venue<Events: VenueEventSink, Feed: ITCHSink> {
    @usableFromInline let core: UnsafeMutablePointer<VenueCore<Events, Feed>>

    public init(instruments: [InstrumentSpec] = InstrumentSpec.defaults, config: VenueConfig = VenueConfig(), events: Events, feed: Feed) {
        core = .allocate(capacity: 1)
        core.initialize(to: VenueCore(instruments: instruments, config: config, events: events, feed: feed))
    }
    deinit {
        core.pointee.deallocate()
        core.deinitialize(count: 1)
        core.deallocate()
    }

    public var events: Events {
        get { core.pointee.events }
        _modify { yield &core.pointee.events }
    }
    public var feed: Feed {
        get { core.pointee.feed }
        _modify { yield &core.pointee.feed }
    }
    /// The caller's clock: nanoseconds since midnight.
    @inlinable public var now: UInt64 {
        get { core.pointee.now }
        set { core.pointee.now = newValue }
    }
    public var config: VenueConfig { core.pointee.config }
    public var isOpen: Bool { core.pointee.isOpen }
    /// Orders in the pool (resting, all instruments).
    public var liveOrders: Int { core.pointee.live }
    /// ITCH order reference the next resting order or replace will get.
    public var nextOrderRef: UInt64 { core.pointee.nextRef }
    public var nextMatchNumber: UInt64 { core.pointee.nextMatch }
    /// Rejects so far for one reason.
    public func rejects(_ r: RejectReason) -> UInt64 { core.pointee.rejectCounts[Int(r.rawValue)] }
    /// ITCH messages not published because an encoder refused them (see `VenueCore.itchRefused`).
    public var itchRefused: UInt64 { core.pointee.itchRefused }

    /// Start of day: S 'O', then R (directory) and H 'T' (trading) per instrument, S 'S', S 'Q'. Opens order entry.
    public func open() { core.pointee.open() }
    /// End of day: S 'M' (order entry closes), S 'E', S 'C'.
    public func close() { core.pointee.close() }

    /// Enters a new order. Returns its id, or `.none` if rejected (the sink got `rejected`).
    @inlinable @discardableResult
    public func submit(session: SessionID, order: NewOrder) -> OrderID { core.pointee.submit(session: session, order: order) }

    /// Cancels the whole remainder. False (and `rejected`) if unknown or another session's.
    @inlinable @discardableResult
    public func cancel(session: SessionID, order: OrderID) -> Bool { core.pointee.cancel(session: session, order: order) }

    /// New price and open quantity. Same price and quantity not above the open one keeps priority
    /// (ITCH X for the reduction); anything else re-enters the book as an aggressor at the new price
    /// (ITCH U with a new order ref if a remainder rests, D if it fully traded).
    @inlinable @discardableResult
    public func replace(session: SessionID, order: OrderID, price: UInt32, quantity: UInt32) -> Bool {
        core.pointee.replace(session: session, order: order, price: price, quantity: quantity)
    }

    /// Cancels every live order of the session (only `locate`'s if given). Returns how many.
    @discardableResult
    public func massCancel(session: SessionID, locate: Locate? = nil) -> Int { core.pointee.massCancel(session: session, locate: locate) }

    /// The book of one instrument, nil if not listed.
    public func book(_ locate: Locate) -> MatchingBook? {
        let i = core.pointee.bookIndex[Int(locate)]
        return i >= 0 ? core.pointee.books[Int(i)] : nil
    }
    public var instruments: [InstrumentSpec] { (0..<core.pointee.bookCount).map { core.pointee.books[$0].spec } }

    /// Order ids resting at one price, oldest (first to fill) first.
    public func queue(_ locate: Locate, _ side: Side, price: UInt32) -> [OrderID] {
        guard let b = book(locate), price >= b.low, price <= b.high, (price - b.low) % b.tick == 0 else { return [] }
        var out: [OrderID] = []
        var h = b.levels[Int(b.index(price))].head
        while h >= 0 {
            let p = core.pointee.pool[Int(h)]
            if p.side == side { out.append(OrderID(slot: h, generation: p.generation)) }
            h = p.next
        }
        return out
    }

    /// The session that entered a live order (or last held the slot).
    @inlinable public func session(of id: OrderID) -> SessionID { core.pointee.pool[id.poolIndex].session }
    @inlinable public func side(of id: OrderID) -> Side { core.pointee.pool[id.poolIndex].side }

    /// Whether the order is resting (live) now.
    @inlinable public func isLive(_ id: OrderID) -> Bool { core.pointee.resolve(id) != nil }

    /// Open quantity and ITCH order ref of a live order; nil if not live.
    @inlinable public func order(_ id: OrderID) -> (quantity: UInt32, price: UInt32, ref: UInt64)? {
        guard let p = core.pointee.resolve(id) else { return nil }
        let s = core.pointee.pool[Int(p)]
        return (s.qty, core.pointee.books[Int(s.book)].price(s.level), s.ref)
    }
}

/// The engine's state and logic; `Venue` is its owner and public face.
public struct VenueCore<Events: VenueEventSink, Feed: ITCHSink> {
    public var events: Events
    public var feed: Feed
    public var now: UInt64 = 0
    public let config: VenueConfig
    @usableFromInline let pool: UnsafeMutablePointer<OrderSlot>
    @usableFromInline var freeHead: Int32
    @usableFromInline var live: Int = 0
    @usableFromInline let books: UnsafeMutablePointer<MatchingBook>
    @usableFromInline let bookCount: Int
    /// Locate -> index into `books`, -1 when not listed.
    @usableFromInline let bookIndex: UnsafeMutablePointer<Int32>
    @usableFromInline let sessions: UnsafeMutablePointer<SessionState>
    /// One ITCH message is encoded here (`scratchCapacity` bytes), then handed to `feed`.
    @usableFromInline let scratch: UnsafeMutablePointer<UInt8>
    @usableFromInline static var scratchCapacity: Int { 64 } // > CW_ITCH_MAX_LEN: every ITCH 5.0 message fits
    /// ITCH messages an encoder refused (0 bytes: `scratch` too small); never sent. Stays 0 unless the scratch shrinks.
    public var itchRefused: UInt64 = 0
    @usableFromInline let rejectCounts: UnsafeMutablePointer<UInt64>
    @usableFromInline var nextRef: UInt64 = 1
    @usableFromInline var nextMatch: UInt64 = 1
    @usableFromInline var isOpen = false
    @usableFromInline let nsPerOrder: UInt64
    @usableFromInline let bucketCap: UInt64
    @usableFromInline let selfMatch: SelfMatchMode

    init(instruments: [InstrumentSpec], config: VenueConfig, events: Events, feed: Feed) {
        self.events = events
        self.feed = feed
        self.config = config
        selfMatch = config.selfMatch
        let n = max(config.maxOrders, 1)
        pool = .allocate(capacity: n)
        pool.initialize(repeating: OrderSlot(), count: n)
        for i in 0..<n { pool[i].next = i + 1 < n ? Int32(i + 1) : -1 }
        freeHead = 0
        bookIndex = .allocate(capacity: 65_536)
        bookIndex.initialize(repeating: -1, count: 65_536)
        let specs = instruments.filter { $0.locate != 0 }
        books = .allocate(capacity: max(specs.count, 1))
        var count = 0
        for s in specs where bookIndex[Int(s.locate)] < 0 {
            (books + count).initialize(to: MatchingBook(s))
            bookIndex[Int(s.locate)] = Int32(count)
            count += 1
        }
        bookCount = count
        nsPerOrder = config.ordersPerSecond > 0 ? max(1_000_000_000 / config.ordersPerSecond, 1) : 0
        bucketCap = nsPerOrder * max(config.burst, 1)
        sessions = .allocate(capacity: max(config.maxSessions, 1))
        var s0 = SessionState()
        s0.credit = bucketCap
        sessions.initialize(repeating: s0, count: max(config.maxSessions, 1))
        scratch = .allocate(capacity: Self.scratchCapacity)
        rejectCounts = .allocate(capacity: 256)
        rejectCounts.initialize(repeating: 0, count: 256)
    }

    func deallocate() {
        for i in 0..<bookCount { books[i].deallocate() }
        books.deallocate(); pool.deallocate(); bookIndex.deallocate(); sessions.deallocate()
        scratch.deallocate(); rejectCounts.deallocate()
    }

    // MARK: ITCH emission

    @inlinable @inline(__always) var ts: UInt64 { now & 0xFFFF_FFFF_FFFF }
    /// Hands the `n` bytes just encoded in `scratch` to the feed; an encoder's 0 (did not fit) is counted, not sent.
    @inlinable @inline(__always) mutating func emit(_ n: Int) {
        guard n > 0 else { itchRefused &+= 1; return }
        feed.itch(UnsafePointer(scratch), n)
    }

    mutating func open() {
        emit(cw_itch_put_system_event(scratch, Self.scratchCapacity, ts, CChar(UInt8(ascii: "O"))))
        for i in 0..<bookCount {
            var sym = books[i].spec.symbol.word
            let loc = books[i].spec.locate
            withUnsafeBytes(of: &sym) { p in
                let s = p.baseAddress!.assumingMemoryBound(to: CChar.self)
                emit(cw_itch_put_directory(scratch, Self.scratchCapacity, loc, ts, s, CChar(UInt8(ascii: "Q"))))
            }
            withUnsafeBytes(of: &sym) { p in
                emit(cw_itch_put_trading_action(scratch, Self.scratchCapacity, loc, ts, p.baseAddress!.assumingMemoryBound(to: CChar.self), CChar(UInt8(ascii: "T"))))
            }
        }
        emit(cw_itch_put_system_event(scratch, Self.scratchCapacity, ts, CChar(UInt8(ascii: "S"))))
        emit(cw_itch_put_system_event(scratch, Self.scratchCapacity, ts, CChar(UInt8(ascii: "Q"))))
        isOpen = true
    }

    mutating func close() {
        isOpen = false
        for c in ["M", "E", "C"] as [Unicode.Scalar] { emit(cw_itch_put_system_event(scratch, Self.scratchCapacity, ts, CChar(UInt8(ascii: c)))) }
    }

    @inlinable @inline(__always) mutating func emitAdd(_ b: UnsafeMutablePointer<MatchingBook>, _ p: UnsafeMutablePointer<OrderSlot>) {
        var sym = b.pointee.spec.symbol.word
        let side = CChar(p.pointee.side == .bid ? 66 : 83)
        let n = withUnsafeBytes(of: &sym) { s in
            let stock = s.baseAddress!.assumingMemoryBound(to: CChar.self)
            let price = b.pointee.price(p.pointee.level)
            if p.pointee.mpid == 0 {
                return cw_itch_put_add(scratch, Self.scratchCapacity, b.pointee.spec.locate, ts, p.pointee.ref, side, p.pointee.qty, stock, price)
            }
            var mpid = p.pointee.mpid
            return withUnsafeBytes(of: &mpid) { m in
                cw_itch_put_add_mpid(scratch, Self.scratchCapacity, b.pointee.spec.locate, ts, p.pointee.ref, side, p.pointee.qty, stock, price,
                                     m.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
        }
        emit(n)
    }

    // MARK: pool and lists

    @inlinable @inline(__always) func resolve(_ id: OrderID) -> Int32? {
        let s = id.slot
        guard s >= 0, Int(s) < config.maxOrders, pool[Int(s)].generation == id.generation, pool[Int(s)].level >= 0 else { return nil }
        return s
    }

    @inlinable @inline(__always) mutating func release(_ h: Int32) {
        let p = pool + Int(h)
        p.pointee.generation &+= 1
        p.pointee.level = -1
        p.pointee.next = freeHead
        freeHead = h
        live -= 1
    }

    /// Appends slot `h` at the tail of level `lv` and at the head of its session's list.
    @inlinable @inline(__always) mutating func link(_ b: UnsafeMutablePointer<MatchingBook>, _ h: Int32, _ lv: Int32) {
        let p = pool + Int(h)
        let l = b.pointee.levels + Int(lv)
        p.pointee.level = lv
        p.pointee.next = -1
        p.pointee.prev = l.pointee.tail
        if l.pointee.tail >= 0 { pool[Int(l.pointee.tail)].next = h } else { l.pointee.head = h }
        l.pointee.tail = h
        l.pointee.count += 1
        l.pointee.qty += UInt64(p.pointee.qty)
        let s = sessions + Int(p.pointee.session)
        p.pointee.sprev = -1
        p.pointee.snext = s.pointee.head
        if s.pointee.head >= 0 { pool[Int(s.pointee.head)].sprev = h }
        s.pointee.head = h
        if p.pointee.side == .bid {
            if lv > b.pointee.bestBid { b.pointee.bestBid = lv }
        } else if lv < b.pointee.bestAsk { b.pointee.bestAsk = lv }
        b.pointee.resting += 1
    }

    /// Takes resting slot `h` out of its level and session list (its remaining qty off the level); keeps the slot.
    @inlinable @inline(__always) mutating func unlink(_ b: UnsafeMutablePointer<MatchingBook>, _ h: Int32) {
        let p = pool + Int(h)
        let lv = p.pointee.level
        let l = b.pointee.levels + Int(lv)
        if p.pointee.prev >= 0 { pool[Int(p.pointee.prev)].next = p.pointee.next } else { l.pointee.head = p.pointee.next }
        if p.pointee.next >= 0 { pool[Int(p.pointee.next)].prev = p.pointee.prev } else { l.pointee.tail = p.pointee.prev }
        l.pointee.count -= 1
        l.pointee.qty -= UInt64(p.pointee.qty)
        if p.pointee.sprev >= 0 { pool[Int(p.pointee.sprev)].snext = p.pointee.snext } else { sessions[Int(p.pointee.session)].head = p.pointee.snext }
        if p.pointee.snext >= 0 { pool[Int(p.pointee.snext)].sprev = p.pointee.sprev }
        p.pointee.level = -1
        b.pointee.resting -= 1
        if l.pointee.count == 0 {
            // The best level emptied: scan outward to the next occupied one.
            let levels = b.pointee.levels
            if p.pointee.side == .bid {
                if lv == b.pointee.bestBid {
                    var i = lv - 1
                    while i >= 0 && levels[Int(i)].count == 0 { i -= 1 }
                    b.pointee.bestBid = i
                }
            } else if lv == b.pointee.bestAsk {
                let n = b.pointee.levelCount
                var i = lv + 1
                while i < n && levels[Int(i)].count == 0 { i += 1 }
                b.pointee.bestAsk = i
            }
        }
    }

    @inlinable mutating func reject(_ session: SessionID, _ tag: UInt64, _ order: OrderID, _ r: RejectReason) {
        rejectCounts[Int(r.rawValue)] &+= 1
        events.rejected(session: session, tag: tag, order: order, reason: r)
    }

    @inlinable @inline(__always) mutating func takeToken(_ session: SessionID) -> Bool {
        guard nsPerOrder > 0, Int(session) != config.unlimitedSession else { return true }
        let s = sessions + Int(session)
        let elapsed = now > s.pointee.last ? now - s.pointee.last : 0
        s.pointee.last = max(s.pointee.last, now)
        s.pointee.credit = min(bucketCap, s.pointee.credit &+ elapsed)
        guard s.pointee.credit >= nsPerOrder else { return false }
        s.pointee.credit -= nsPerOrder
        return true
    }

    /// Checks tick, lot and band; returns the ladder index or the reason.
    @inlinable @inline(__always) func check(_ b: UnsafeMutablePointer<MatchingBook>, price: UInt32, quantity: UInt32) -> (Int32, RejectReason?) {
        if let r = checkSize(b, quantity: quantity, valuedAt: price) { return (0, r) }
        guard price % b.pointee.tick == 0 else { return (0, .badTick) }
        guard price >= b.pointee.low, price <= b.pointee.high else { return (0, .outsidePriceBand) }
        return (b.pointee.index(price), nil)
    }

    /// Checks quantity, lot, maximum size and maximum value (price × quantity, in 64 bits: both are UInt32).
    @inlinable @inline(__always) func checkSize(_ b: UnsafeMutablePointer<MatchingBook>, quantity: UInt32, valuedAt price: UInt32) -> RejectReason? {
        guard quantity > 0 else { return .zeroQuantity }
        guard quantity % b.pointee.spec.lot == 0 else { return .badLot }
        guard quantity <= b.pointee.spec.maxOrderShares else { return .orderTooLarge }
        guard UInt64(quantity) * UInt64(price) <= b.pointee.spec.maxOrderValue else { return .orderValueTooLarge }
        return nil
    }

    // MARK: matching

    /// Matches slot `a` (not resting) against the other side up to ladder index `limit`.
    /// Returns the open quantity left and whether self-match prevention stopped it (cancel newest).
    @inlinable mutating func match(_ b: UnsafeMutablePointer<MatchingBook>, _ a: Int32, limit: Int32) -> (UInt32, Bool) {
        let ap = pool + Int(a)
        var left = ap.pointee.qty
        let buy = ap.pointee.side == .bid
        let owner = ap.pointee.owner
        let locate = b.pointee.spec.locate
        var stopped = false
        outer: while left > 0 {
            let lv = buy ? b.pointee.bestAsk : b.pointee.bestBid
            if buy ? lv > limit : lv < limit || lv < 0 { break }
            let l = b.pointee.levels + Int(lv)
            let px = b.pointee.price(lv)
            var h = l.pointee.head
            while h >= 0 && left > 0 {
                let p = pool + Int(h)
                let next = p.pointee.next
                if p.pointee.owner == owner {
                    if selfMatch == .cancelNewest { stopped = true; break outer }
                    let q = p.pointee.qty
                    emit(cw_itch_put_delete(scratch, Self.scratchCapacity, locate, ts, p.pointee.ref))
                    events.canceled(OrderID(slot: h, generation: p.pointee.generation), session: p.pointee.session, tag: p.pointee.tag,
                                    quantity: q, reason: .selfMatch)
                    unlink(b, h)
                    release(h)
                    h = next
                    continue
                }
                let fill = min(left, p.pointee.qty)
                let m = nextMatch
                nextMatch &+= 1
                emit(cw_itch_put_executed(scratch, Self.scratchCapacity, locate, ts, p.pointee.ref, fill, m))
                p.pointee.qty -= fill
                l.pointee.qty -= UInt64(fill)
                left -= fill
                events.executed(Execution(locate: locate, price: px, quantity: fill, matchNumber: m, aggressorSide: ap.pointee.side,
                                          passive: OrderID(slot: h, generation: p.pointee.generation), passiveSession: p.pointee.session,
                                          passiveTag: p.pointee.tag, passiveLeaves: p.pointee.qty,
                                          aggressor: OrderID(slot: a, generation: ap.pointee.generation), aggressorSession: ap.pointee.session,
                                          aggressorTag: ap.pointee.tag, aggressorLeaves: left))
                if p.pointee.qty == 0 {
                    unlink(b, h)
                    release(h)
                }
                h = next
            }
        }
        ap.pointee.qty = left
        return (left, stopped)
    }

    /// What a fill-or-kill could take up to `limit`, stopping early once `want` is reached.
    @inlinable func fillable(_ b: UnsafeMutablePointer<MatchingBook>, buy: Bool, limit: Int32, owner: UInt32, want: UInt32) -> Bool {
        var got: UInt64 = 0
        var lv = buy ? b.pointee.bestAsk : b.pointee.bestBid
        let n = b.pointee.levelCount
        while buy ? lv <= limit && lv < n : lv >= limit && lv >= 0 {
            var h = b.pointee.levels[Int(lv)].head
            while h >= 0 {
                let p = pool[Int(h)]
                if p.owner == owner {
                    if selfMatch == .cancelNewest { return false }
                } else {
                    got += UInt64(p.qty)
                    if got >= UInt64(want) { return true }
                }
                h = p.next
            }
            lv += buy ? 1 : -1
        }
        return false
    }

    @inlinable mutating func submit(session: SessionID, order o: NewOrder) -> OrderID {
        guard Int(session) < config.maxSessions else { reject(session, o.tag, .none, .unknownSession); return .none }
        let bi = bookIndex[Int(o.locate)]
        guard bi >= 0 else { reject(session, o.tag, .none, .unknownInstrument); return .none }
        guard isOpen else { reject(session, o.tag, .none, .marketClosed); return .none }
        let b = books + Int(bi)
        let buy = o.side == .bid
        var limit: Int32
        if o.kind == .market {
            // A market order may trade anywhere in the band: valued at its far end.
            if let r = checkSize(b, quantity: o.quantity, valuedAt: buy ? b.pointee.high : b.pointee.low) {
                reject(session, o.tag, .none, r); return .none
            }
            limit = buy ? b.pointee.levelCount - 1 : 0
        } else {
            let (i, r) = check(b, price: o.price, quantity: o.quantity)
            if let r { reject(session, o.tag, .none, r); return .none }
            limit = i
        }
        guard takeToken(session) else { reject(session, o.tag, .none, .rateLimited); return .none }
        let owner = o.owner != 0 ? o.owner : 0x8000_0000 | UInt32(session)
        if o.kind == .postOnly && (buy ? b.pointee.bestAsk <= limit : b.pointee.bestBid >= limit) {
            reject(session, o.tag, .none, .postOnlyWouldCross); return .none
        }
        if o.kind == .fillOrKill && !fillable(b, buy: buy, limit: limit, owner: owner, want: o.quantity) {
            reject(session, o.tag, .none, .fillOrKillUnfillable); return .none
        }
        guard freeHead >= 0 else { reject(session, o.tag, .none, .poolExhausted); return .none }
        let h = freeHead
        let p = pool + Int(h)
        freeHead = p.pointee.next
        live += 1
        p.pointee.qty = o.quantity
        p.pointee.owner = owner
        p.pointee.session = session
        p.pointee.book = UInt16(bi)
        p.pointee.side = o.side
        p.pointee.tag = o.tag
        p.pointee.mpid = o.attribution
        p.pointee.level = -1
        p.pointee.ref = nextRef
        nextRef &+= 1
        let id = OrderID(slot: h, generation: p.pointee.generation)
        events.accepted(id, session: session, tag: o.tag, ref: p.pointee.ref, o)
        let (left, stopped) = match(b, h, limit: limit)
        if left == 0 { release(h); return id }
        if stopped || o.kind == .market || o.kind == .immediateOrCancel {
            events.canceled(id, session: session, tag: o.tag, quantity: left, reason: stopped ? .selfMatch : .unfilledRemainder)
            release(h)
            return id
        }
        link(b, h, limit)
        emitAdd(b, p)
        return id
    }

    @inlinable mutating func cancel(session: SessionID, order: OrderID) -> Bool {
        guard let h = resolve(order) else { reject(session, 0, order, .unknownOrder); return false }
        let p = pool + Int(h)
        guard p.pointee.session == session else { reject(session, p.pointee.tag, order, .notYourOrder); return false }
        remove(h, reason: .requested)
        return true
    }

    /// Cancels resting slot `h` entirely: D on the feed, `canceled` to the sink, slot freed.
    @inlinable mutating func remove(_ h: Int32, reason: CancelReason) {
        let p = pool + Int(h)
        let b = books + Int(p.pointee.book)
        emit(cw_itch_put_delete(scratch, Self.scratchCapacity, b.pointee.spec.locate, ts, p.pointee.ref))
        events.canceled(OrderID(slot: h, generation: p.pointee.generation), session: p.pointee.session, tag: p.pointee.tag,
                        quantity: p.pointee.qty, reason: reason)
        unlink(b, h)
        release(h)
    }

    @inlinable mutating func replace(session: SessionID, order: OrderID, price: UInt32, quantity: UInt32) -> Bool {
        guard let h = resolve(order) else { reject(session, 0, order, .unknownOrder); return false }
        let p = pool + Int(h)
        let tag = p.pointee.tag
        guard p.pointee.session == session else { reject(session, tag, order, .notYourOrder); return false }
        let b = books + Int(p.pointee.book)
        let (lv, r) = check(b, price: price, quantity: quantity)
        if let r { reject(session, tag, order, r); return false }
        guard takeToken(session) else { reject(session, tag, order, .rateLimited); return false }
        let locate = b.pointee.spec.locate
        if lv == p.pointee.level && quantity <= p.pointee.qty {
            // Same price, not larger: stays in place.
            let cut = p.pointee.qty - quantity
            if cut > 0 {
                emit(cw_itch_put_cancel(scratch, Self.scratchCapacity, locate, ts, p.pointee.ref, cut))
                p.pointee.qty = quantity
                b.pointee.levels[Int(lv)].qty -= UInt64(cut)
            }
            events.replaced(order, session: session, tag: tag, ref: p.pointee.ref, price: price, quantity: quantity, priorityKept: true)
            return true
        }
        let oldRef = p.pointee.ref
        unlink(b, h)
        p.pointee.qty = quantity
        p.pointee.ref = nextRef
        nextRef &+= 1
        events.replaced(order, session: session, tag: tag, ref: p.pointee.ref, price: price, quantity: quantity, priorityKept: false)
        let (left, stopped) = match(b, h, limit: lv)
        if left == 0 || stopped {
            emit(cw_itch_put_delete(scratch, Self.scratchCapacity, locate, ts, oldRef))
            if left > 0 { events.canceled(order, session: session, tag: tag, quantity: left, reason: .selfMatch) }
            release(h)
            return true
        }
        link(b, h, lv)
        emit(cw_itch_put_replace(scratch, Self.scratchCapacity, locate, ts, oldRef, p.pointee.ref, left, price))
        return true
    }

    mutating func massCancel(session: SessionID, locate: Locate?) -> Int {
        guard Int(session) < config.maxSessions else { reject(session, 0, .none, .unknownSession); return 0 }
        var n = 0
        var h = sessions[Int(session)].head
        while h >= 0 {
            let next = pool[Int(h)].snext
            if locate == nil || books[Int(pool[Int(h)].book)].spec.locate == locate! {
                remove(h, reason: .massCancel)
                n += 1
            }
            h = next
        }
        return n
    }
}

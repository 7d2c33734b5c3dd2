/// The execution ids (the venue's match numbers, per order) already applied, so a fill the
/// venue sends twice (a resend after a reconnect, a duplicate on another session) counts once.
/// A fixed open-addressing set of the last `capacity` ids, oldest forgotten first: memory is
/// taken at start and a fill costs one probe sequence, no allocation.
public final class SeenExecutions {
    let keys: UnsafeMutablePointer<UInt64>   // 0: empty slot
    let arrivals: UnsafeMutablePointer<UInt64> // FIFO of the keys held, to forget the oldest
    let mask: Int
    let limit: Int
    var head = 0, count = 0

    /// Remembers at least `capacity` executions (the table is twice that, rounded to a power of two).
    public init(capacity: Int) {
        precondition(capacity > 0)
        var slots = 2
        while slots < capacity * 2 { slots <<= 1 }
        keys = .allocate(capacity: slots)
        keys.initialize(repeating: 0, count: slots)
        arrivals = .allocate(capacity: capacity)
        mask = slots - 1
        limit = capacity
    }

    deinit { keys.deallocate(); arrivals.deallocate() }

    /// One key for (order, execution): the venue numbers executions per venue, not per order,
    /// but a match has two sides; mixing in our order id keeps both of a self-cross apart.
    static func key(order: UInt64, execution: UInt64) -> UInt64 {
        var h = execution &* 0x9E37_79B9_7F4A_7C15 ^ order
        h ^= h >> 29; h &*= 0xBF58_476D_1CE4_E5B9; h ^= h >> 32
        return h == 0 ? 1 : h
    }

    func find(_ k: UInt64) -> Int? {
        var i = Int(truncatingIfNeeded: k) & mask
        while keys[i] != 0 {
            if keys[i] == k { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Records the execution; false when it was seen already.
    public func insert(order: UInt64, execution: UInt64) -> Bool {
        let k = Self.key(order: order, execution: execution)
        if find(k) != nil { return false }
        if count == limit { remove(arrivals[head]); head = (head + 1) % limit; count -= 1 }
        var i = Int(truncatingIfNeeded: k) & mask
        while keys[i] != 0 { i = (i + 1) & mask }
        keys[i] = k
        arrivals[(head + count) % limit] = k
        count += 1
        return true
    }

    /// Removes `k` by backward-shift deletion (linear probing keeps every later key reachable).
    func remove(_ k: UInt64) {
        guard var hole = find(k) else { return }
        keys[hole] = 0
        var i = (hole + 1) & mask
        while keys[i] != 0 {
            let home = Int(truncatingIfNeeded: keys[i]) & mask
            // Move the key into the hole unless its home lies cyclically in (hole, i].
            let between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !between {
                keys[hole] = keys[i]
                keys[i] = 0
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    /// Executions remembered now.
    public var remembered: Int { count }
}

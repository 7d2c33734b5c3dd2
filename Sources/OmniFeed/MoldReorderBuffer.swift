import CWire

// The session's reorder buffer: message blocks of packets that arrived ahead of
// `expected`, copied into a byte ring of records, each message found through a
// slot indexed by its sequence number. A record is freed when its last held
// message is delivered; the ring's tail advances over freed records only, so a
// record still held at the tail keeps the space behind it (bounded by reorderBytes).

extension MoldSession {
    /// Whether sequence `seq` is held.
    @inlinable
    func isHeld(_ seq: UInt64) -> Bool {
        buffered != 0 && store.slots[Int(seq & store.slotMask)].sequence == seq
    }

    /// A record with room for `n` bytes after its 8-byte header; its arena offset, or nil when full.
    @usableFromInline
    mutating func allocate(_ n: Int) -> Int? {
        let cap = store.arenaBytes
        let need = (8 + n + 7) & ~7
        guard need <= cap else { return nil }
        var phys = arenaHead % cap
        // A record never wraps: the end of the ring is padded with a dead record instead.
        let pad = phys + need > cap ? cap - phys : 0
        guard arenaHead - arenaTail + pad + need <= cap else { return nil }
        if pad > 0 {
            setRecord(phys, size: pad, live: 0)
            arenaHead += pad
            phys = 0
        }
        setRecord(phys, size: need, live: 0)
        arenaHead += need
        return phys
    }

    @usableFromInline
    func setRecord(_ at: Int, size: Int, live: UInt32) {
        store.arena.storeBytes(of: UInt32(size), toByteOffset: at, as: UInt32.self)
        store.arena.storeBytes(of: live, toByteOffset: at + 4, as: UInt32.self)
    }

    /// Frees the slot of held message `seq` and, when it was its record's last, the record.
    @usableFromInline
    mutating func release(_ seq: UInt64) {
        let i = Int(seq & store.slotMask)
        let record = Int(store.slots[i].record)
        store.slots[i].sequence = .max
        buffered -= 1
        let live = store.arena.load(fromByteOffset: record + 4, as: UInt32.self) - 1
        store.arena.storeBytes(of: live, toByteOffset: record + 4, as: UInt32.self)
        if live == 0 { reclaim() }
    }

    /// Advances the ring's tail over records with nothing held.
    @usableFromInline
    mutating func reclaim() {
        let cap = store.arenaBytes
        while arenaTail < arenaHead {
            let at = arenaTail % cap
            guard store.arena.load(fromByteOffset: at + 4, as: UInt32.self) == 0 else { return }
            arenaTail += Int(store.arena.load(fromByteOffset: at, as: UInt32.self))
        }
        arenaHead = 0 // empty: start again at offset 0, the whole ring contiguous
        arenaTail = 0
    }

    /// Bytes of the reorder ring in use (records still holding messages, and those behind them).
    public var bufferedBytes: Int { arenaHead - arenaTail }
}

import CEvent
import CRing
import Synchronization

// A side channel off a hot stage: each event is copied into an SPSC ring without ever waiting
// (the telemetry recorder's ring, the trading loop's order journal); a full ring drops the copy,
// counted, so the reader falling behind can never stall the stage.

/// What a tap has copied and dropped; written by the tapping stage's thread.
public final class TapCounts: Sendable {
    @usableFromInline let tappedCell = Atomic<UInt64>(0)
    @usableFromInline let droppedCell = Atomic<UInt64>(0)
    public init() {}
    public var tapped: UInt64 { tappedCell.load(ordering: .relaxed) }
    /// Copies lost because the ring was full: its reader fell behind.
    public var dropped: UInt64 { droppedCell.load(ordering: .relaxed) }
}

/// Copies each event into `ring` and passes it on. Never waits: when the ring is
/// full the copy is dropped and counted, so the side channel cannot stall the stage.
public struct EventTap: EventHandler, @unchecked Sendable {
    @usableFromInline let ring: UnsafeMutablePointer<cring_spsc>
    @usableFromInline let counts: TapCounts
    @usableFromInline var tapped: UInt64 = 0
    @usableFromInline var dropped: UInt64 = 0
    /// Keeps the ring's memory alive while the tap runs.
    let owner: EventRing

    public init(ring: EventRing, counts: TapCounts) {
        owner = ring
        self.ring = ring.raw
        self.counts = counts
    }

    @inlinable public mutating func handle(_ event: inout omni_event) -> Bool {
        if cring_spsc_try_push(ring, &event, UInt32(MemoryLayout<omni_event>.stride)) != 0 {
            tapped &+= 1
            counts.tappedCell.store(tapped, ordering: .relaxed) // only this thread writes it
        } else {
            dropped &+= 1
            counts.droppedCell.store(dropped, ordering: .relaxed)
        }
        return true
    }
}

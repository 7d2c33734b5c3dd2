import CWire

/// ITCH messages into a preallocated byte buffer in day-file framing (`[u16 BE length][message]`),
/// the format OmniFeed.ITCHReplay.runDayFile reads. Never grows: a message that does not fit is
/// counted in `overflowed` and dropped, so the matching loop never allocates.
public struct DayFileBuffer: ITCHSink {
    public let base: UnsafeMutablePointer<UInt8>
    public let capacity: Int
    public var count = 0
    public var messages: UInt64 = 0
    public var overflowed: UInt64 = 0

    /// Owns `capacity` bytes until `deallocate()`.
    public init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }
    public func deallocate() { base.deallocate() }

    /// Forgets what was written (e.g. after a publisher took it).
    public mutating func reset() { count = 0 }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inlinable public mutating func itch(_ m: UnsafePointer<UInt8>, _ length: Int) {
        guard count + 2 + length <= capacity else { overflowed &+= 1; return }
        cw_put16(base + count, UInt16(truncatingIfNeeded: length)) // ITCH messages are at most CW_ITCH_MAX_LEN bytes
        (base + count + 2).update(from: m, count: length)
        count += 2 + length
        messages &+= 1
    }
}

/// Counts ITCH messages and drops them (benchmarks).
public struct CountingITCHSink: ITCHSink {
    public var messages: UInt64 = 0
    public var bytes: UInt64 = 0
    public init() {}
    @inlinable public mutating func itch(_ m: UnsafePointer<UInt8>, _ length: Int) {
        messages &+= 1; bytes &+= UInt64(length)
    }
}

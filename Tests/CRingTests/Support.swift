import CEvent
import CRing
import CSys
import Glibc
import SharedTestData
import Testing

/// Every test of this target runs alone: the concurrent ring tests spin two to
/// four threads on a machine that may have two cores. Each file adds its suite to this one.
@Suite("CRing rings", .serialized)
enum Kernels {}

/// Memory for a ring: `bytes` aligned to CRING_ALIGN, released when the value is dropped.
final class RingMemory<Ring> {
    let raw: UnsafeMutableRawPointer
    var ring: UnsafeMutablePointer<Ring> { raw.assumingMemoryBound(to: Ring.self) }
    init(bytes: Int) {
        precondition(bytes > 0, "geometry rejected")
        raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Int(CRING_ALIGN))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }
    deinit { raw.deallocate() }
}

/// How a test side waits on a full or empty ring: spin a little, then sleep.
/// Not sched_yield: when other processes keep both cores busy, a yield hands the
/// core to them for a whole time slice per event, while a thread waking from a
/// short sleep is scheduled again promptly.
struct Backoff {
    private var misses: UInt32 = 0
    @inline(__always) mutating func progressed() { misses = 0 }
    @inline(__always) mutating func wait() {
        misses &+= 1
        if misses > 64 { usleep(10) }
    }
}

/// A concurrent run that has not finished by then has lost events.
func deadline(seconds: UInt64) -> UInt64 { csys_monotonic_ns() + seconds * 1_000_000_000 }

/// A value a test sends through a ring: built from a 64-bit number, with enough
/// redundancy that a torn or stale slot decodes as nil.
protocol RingValue {
    init(encoding v: UInt64)
    var decoded: UInt64? { get }
}

extension UInt64: RingValue {
    init(encoding v: UInt64) { self = v }
    var decoded: UInt64? { self }
}

extension omni_event: RingValue {
    init(encoding v: UInt64) {
        self.init()
        type = UInt8(OMNI_EV_FILL.rawValue)
        locate = UInt16(truncatingIfNeeded: v)
        source = UInt16(truncatingIfNeeded: v >> 56)
        seq = v
        rx_tsc = ~v
        fill.client_order_id = v &+ 1
        fill.venue_ns = v &* 0x9E37_79B9_7F4A_7C15
        fill.last_qty = UInt32(truncatingIfNeeded: v >> 32) ^ 0xA5A5_A5A5
        fill.liquidity = UInt8(truncatingIfNeeded: v)
        hop.4 = UInt16(truncatingIfNeeded: v)
    }

    var decoded: UInt64? {
        let v = seq
        let ok = type == UInt8(OMNI_EV_FILL.rawValue) && locate == UInt16(truncatingIfNeeded: v)
            && source == UInt16(truncatingIfNeeded: v >> 56) && rx_tsc == ~v && fill.client_order_id == v &+ 1
            && fill.venue_ns == v &* 0x9E37_79B9_7F4A_7C15 && fill.last_qty == UInt32(truncatingIfNeeded: v >> 32) ^ 0xA5A5_A5A5
            && fill.liquidity == UInt8(truncatingIfNeeded: v)
            && hop.4 == UInt16(truncatingIfNeeded: v) && hop.0 == 0 && fill.last_px == 0
        return ok ? v : nil
    }
}

/// What a consumer saw: values in order, the first one out of place, and whether it finished in time.
struct Received {
    var count: UInt64 = 0
    var wrong: UInt64 = 0
    var firstWrong: (index: UInt64, got: UInt64?)? = nil
    var timedOut = false

    mutating func check(_ got: UInt64?, expected: UInt64) {
        if got != expected {
            if firstWrong == nil { firstWrong = (count, got) }
            wrong += 1
        }
        count += 1
    }
}

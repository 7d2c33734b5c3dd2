import CEvent
import CRing
import CSys
import Histogram

// Latency telemetry off the hot path: the last stage taps each event into a
// telemetry ring without ever waiting, and a recorder stage on another thread
// turns the event's hop stamps into HdrHistograms.

/// Per-hop and end-to-end latency histograms in nanoseconds, from the hop stamps
/// of the events a recorder reads. Hop i's latency is hop[i] - hop[i-1] (hop 0:
/// from rx_tsc); end to end is the last named hop's stamp. Filled by one recorder
/// thread; read after that thread has stopped.
public final class HopLatencies: @unchecked Sendable {
    public let hopNames: [String]
    public private(set) var hops: [Histogram<UInt64>]
    public private(set) var endToEnd: Histogram<UInt64>
    /// Events with a named hop left unstamped: not recorded.
    public private(set) var unstamped: UInt64 = 0
    /// Hops whose stamp came before the previous hop's (TSCs of two cores a few ticks
    /// apart): recorded as 0 ns.
    public private(set) var reordered: UInt64 = 0
    private var clock: csys_clock

    /// `hopNames[i]` names omni_event.hop[i]; at most OMNI_EVENT_HOPS of them.
    public init(hopNames: [String], clock: csys_clock) {
        precondition(!hopNames.isEmpty && hopNames.count <= Int(OMNI_EVENT_HOPS), "1...\(OMNI_EVENT_HOPS) hops")
        self.hopNames = hopNames
        self.clock = clock
        hops = hopNames.map { _ in HopLatencies.histogram() }
        endToEnd = HopLatencies.histogram()
    }

    /// 1 ns to 60 s at three significant digits.
    public static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    public func record(_ event: omni_event) {
        var e = event
        let n = hopNames.count
        // Hop codes decode to ticks since rx (12 significant bits; saturated codes read
        // OMNI_HOP_MAX_TICKS, so a hop past it reads as at least that).
        func stamp(_ i: Int) -> UInt64 { omni_event_hop_ticks(&e, UInt32(i)) }
        for i in 0..<n where stamp(i) == 0 {
            unstamped &+= 1
            return
        }
        var previous: UInt64 = 0
        for i in 0..<n {
            let s = stamp(i)
            if s < previous { reordered &+= 1 }
            hops[i].record(ns(s >= previous ? s - previous : 0))
            previous = s
        }
        endToEnd.record(ns(stamp(n - 1)))
    }

    /// Adds another recorder's histograms (same hop names) to these.
    public func add(_ other: HopLatencies) {
        precondition(other.hopNames == hopNames, "hop names differ")
        for i in hops.indices { hops[i].add(other.hops[i]) }
        endToEnd.add(other.endToEnd)
        unstamped &+= other.unstamped
        reordered &+= other.reordered
    }

    private func ns(_ ticks: UInt64) -> UInt64 { min(csys_clock_ns(&clock, ticks), endToEnd.highestTrackableValue) }
}

/// The recorder's handler: records every event it reads into `latencies`.
public struct HopRecorder: EventHandler {
    public let latencies: HopLatencies
    public init(_ latencies: HopLatencies) { self.latencies = latencies }
    public func handle(_ event: inout omni_event) -> Bool {
        latencies.record(event)
        return false
    }
}

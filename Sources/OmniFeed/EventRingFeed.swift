import CEvent
import CRing
import CSys

#if canImport(Glibc)
import Glibc
#endif

/// ITCH messages decoded outside this process, in place of the feed's own MoldUDP64 decode:
/// the FPGA decoder kernel's Verilator model today (Hardware/), a card's DMA ring tomorrow.
/// The producer writes omni_event records into a shared-memory SPSC ring (CRing's cring_shm):
/// one OMNI_EV_ITCH per message, naming it by `itch.offset` and `itch.length` in the payload
/// buffer (the packets as received, back to back), and OMNI_EV_COMMAND / OMNI_CMD_STOP last.
public struct EventRingFeed: ~Copyable {
    /// ITCH events whose message was applied to the books.
    public private(set) var events: UInt64 = 0
    /// ITCH events naming bytes outside the payload: counted, skipped.
    public private(set) var outOfRange: UInt64 = 0
    /// Events of any other type: counted, skipped.
    public private(set) var others: UInt64 = 0
    private var shm = cring_shm()

    /// Opens the ring `name` (cring_shm naming), waiting up to `timeoutSeconds` for its
    /// producer to create it.
    public init(ring name: String, timeoutSeconds: Double) throws(FeedError) {
        let deadline = csys_monotonic_ns() + UInt64(timeoutSeconds * 1e9)
        while true {
            let st = cring_shm_open(&shm, name, 0, UInt32(MemoryLayout<omni_event>.size))
            if st == CRING_OK.rawValue { return }
            let waiting = st == CRING_ENOTREADY.rawValue || (st == CRING_ESYS.rawValue && errno == ENOENT)
            guard waiting, csys_monotonic_ns() < deadline else {
                let why = String(cString: cring_status_name(st))
                throw .cannotOpen(path: name, reason: waiting ? "no producer created the ring within \(timeoutSeconds) s" : why)
            }
            usleep(1_000)
        }
    }

    deinit { var s = shm; cring_shm_close(&s) } // unmaps; the file stays (its creator removes it)

    /// Applies every ITCH event to `replay` until the producer's stop event.
    public mutating func run<Sink: BBOSink>(payload: UnsafeRawBufferPointer, into replay: ITCHReplay, sink: inout Sink) {
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let size = UInt64(payload.count)
        var slots: UnsafeRawPointer?
        while true {
            let n = cring_spsc_peek(shm.ring, 256, &slots)
            guard n > 0, let first = slots else { sched_yield(); continue } // the producer shares the cores
            let batch = first.assumingMemoryBound(to: omni_event.self)
            for i in 0..<Int(n) {
                let e = batch[i]
                if e.type == UInt8(OMNI_EV_ITCH.rawValue) {
                    let off = e.itch.offset, len = UInt64(e.itch.length)
                    guard off <= size, len <= size - off else { outOfRange &+= 1; continue }
                    replay.handle(base + Int(off), e.itch.length, into: &sink)
                    events &+= 1
                } else if e.type == UInt8(OMNI_EV_COMMAND.rawValue) && e.command.code == UInt32(OMNI_CMD_STOP) {
                    cring_spsc_release(shm.ring, UInt32(i + 1))
                    return
                } else {
                    others &+= 1
                }
            }
            cring_spsc_release(shm.ring, n)
        }
    }
}

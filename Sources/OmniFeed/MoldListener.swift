import CNet
import CSys
import CWire
import Glibc
import Histogram
import OmniNet

// The receiving side: datagrams of line A and B (any receive backend) go to one
// MoldSession; its retransmission planner's requests go out on a unicast socket,
// whose answers come back into the same session; delivered messages go through
// MoldITCHConsumer into the books. Step-driven and generic over the backends,
// so the loop specialises per backend with no existential.

public struct MoldListenerConfig: Sendable {
    public var session = MoldSessionConfig()
    /// The retransmission server; nil sends no requests (gaps are then declared lost).
    public var retransmit: IPv4Endpoint?
    /// Address the request socket binds (the interface's IPv4 address).
    public var localAddress = "127.0.0.1"
    public var batch = 64
    public init() {}
}

/// The session's consumer plus receive-to-book latency: TSC at batch receive to TSC after
/// the book update, in ticks (converted off the hot path, see `MoldListener.latencyNs`).
public struct LatencyConsumer<Sink: BBOSink>: MoldConsumer {
    public var itch: MoldITCHConsumer<Sink>
    public var latencyTicks: Histogram<UInt64>
    @usableFromInline package var batchTSC: UInt64 = 0

    public init(itch: MoldITCHConsumer<Sink>) {
        self.itch = itch
        latencyTicks = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
    }

    @inlinable public mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        itch.message(bytes, sequence: sequence, lastInPacket: lastInPacket)
        if batchTSC != 0 {
            let now = csys_rdtsc()
            latencyTicks.record(now > batchTSC ? min(now - batchTSC, 1 << 40) : 0)
        }
    }
    public mutating func skipped(_ sequences: Range<UInt64>) { itch.skipped(sequences) }
    public mutating func stateChanged(to state: MoldSessionState) { itch.stateChanged(to: state) }
}

/// Receives nothing: stands in for line B when there is none.
public struct NoReceive: ReceiveBackend, ~Copyable {
    public let label: MulticastGroup
    public init(label: MulticastGroup) { self.label = label }
    public mutating func receive(into batch: inout DatagramBatch) throws(NetError) -> Int { 0 }
    public mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool { false }
}

public struct MoldListenerCounters: Sendable, Equatable {
    public var batches: UInt64 = 0
    /// Receive batches that came back full: more was waiting, the loop was behind the feed.
    public var fullBatches: UInt64 = 0
    public var datagrams: [UInt64] = [0, 0, 0]
    public var truncated: UInt64 = 0
    public var requestSendErrors: UInt64 = 0
    /// Monotonic ns of the first and the last batch received (any line): the span packets/s is taken over.
    public var firstBatchNs: UInt64 = 0
    public var lastBatchNs: UInt64 = 0
    /// Receive TSC of the last batch (any line): where a trading loop measures tick-to-trade from.
    public var lastBatchTSC: UInt64 = 0
    public init() {}
}

public struct MoldListener<Sink: BBOSink>: ~Copyable {
    public let config: MoldListenerConfig
    public var session: MoldSession
    public var consumer: LatencyConsumer<Sink>
    public package(set) var counters = MoldListenerCounters()
    @usableFromInline var unicast: UnicastSocket
    @usableFromInline var batch: DatagramBatch
    let requestBuffer: UnsafeMutableRawBufferPointer

    public init(_ config: MoldListenerConfig, replay: ITCHReplay, sink: Sink) throws(NetError) {
        self.config = config
        session = MoldSession(config.session)
        consumer = LatencyConsumer(itch: MoldITCHConsumer(replay: replay, sink: sink))
        unicast = try UnicastSocket(address: config.localAddress, port: 0)
        batch = DatagramBatch(capacity: config.batch)
        requestBuffer = .allocate(byteCount: Int(CW_MOLD_REQUEST_LEN) * 64, alignment: 8)
    }

    deinit { requestBuffer.deallocate() }

    public var replay: ITCHReplay { consumer.itch.replay }
    public var finished: Bool { session.state == .finished }

    /// Receives one batch from `backend` as `line` and feeds it to the session; datagrams read.
    @inlinable
    public mutating func drain<B: ReceiveBackend & ~Copyable>(_ backend: inout B, line: MoldLine) throws(NetError) -> Int {
        let n = try backend.receive(into: &batch)
        if n > 0 { feed(n, line: line) }
        return n
    }

    @usableFromInline mutating func feed(_ n: Int, line: MoldLine) {
        counters.batches &+= 1
        if n == batch.capacity { counters.fullBatches &+= 1 }
        counters.datagrams[line.rawValue] &+= UInt64(n)
        consumer.batchTSC = batch.tsc
        counters.lastBatchTSC = batch.tsc
        let now = csys_monotonic_ns()
        if counters.firstBatchNs == 0 { counters.firstBatchNs = now }
        counters.lastBatchNs = now
        for i in 0..<n {
            let d = batch[i]
            if d.truncated { counters.truncated &+= 1 }
            session.receive(d.bytes, line: line, at: now, into: &consumer)
        }
        consumer.batchTSC = 0
    }

    /// Reads retransmission answers waiting on the unicast socket; datagrams read.
    public mutating func drainRetransmissions() throws(NetError) -> Int {
        let n = try unicast.receive(into: &batch)
        if n > 0 { feed(n, line: .retransmission) }
        return n
    }

    /// Runs the retransmission planner and sends what it asks for; requests sent.
    @discardableResult
    public mutating func poll(now: UInt64 = csys_monotonic_ns()) -> Int {
        let n = session.poll(now: now, requests: requestBuffer, into: &consumer)
        guard n > 0, let to = config.retransmit else { return n }
        let size = Int(CW_MOLD_REQUEST_LEN)
        for i in 0..<n {
            do {
                try unicast.send(UnsafeRawBufferPointer(start: requestBuffer.baseAddress! + i * size, count: size), to: to)
            } catch {
                counters.requestSendErrors &+= 1
            }
        }
        return n
    }

    /// One round: every line drained once, answers read, the planner polled; datagrams read.
    @inlinable
    public mutating func step<A: ReceiveBackend & ~Copyable, B: ReceiveBackend & ~Copyable>(
        _ a: inout A, _ b: inout B) throws(NetError) -> Int {
        var n = try drain(&a, line: .a)
        n += try drain(&b, line: .b)
        n += try drainRetransmissions()
        poll()
        return n
    }

    /// Runs until the session finishes (when `untilEnd`), `deadlineNs` (monotonic) passes, or
    /// `stop` says so. Spins while data flows, then waits on line A in short slices.
    public mutating func run<A: ReceiveBackend & ~Copyable, B: ReceiveBackend & ~Copyable>(
        _ a: inout A, _ b: inout B, untilEnd: Bool, deadlineNs: UInt64?, stop: () -> Bool) throws(NetError) {
        var idle = 0
        while true {
            let n = try step(&a, &b)
            if untilEnd && finished { return }
            if n > 0 { idle = 0; continue }
            idle += 1
            if idle & 1023 == 0 {
                if stop() { return }
                if let d = deadlineNs, csys_monotonic_ns() >= d { return }
                _ = try a.wait(timeoutNanoseconds: 200_000)
            }
        }
    }

    /// Latency percentiles in nanoseconds (TSC calibrated here, off the hot path).
    public func latencyNs(percentiles: [Double]) -> (values: [UInt64], max: UInt64, count: UInt64) {
        var clock = csys_clock()
        _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 20)
        let h = consumer.latencyTicks
        return (percentiles.map { csys_clock_ns(&clock, h.valueAtPercentile($0)) }, csys_clock_ns(&clock, h.max), h.totalCount)
    }
}

import ArgumentParser
import CNet
import CSys
import OmniCore
import OmniNet

#if canImport(Glibc)
import Glibc
#endif

/// `omni bench net-receive`: recvmmsg against io_uring multishot recvmsg draining the same
/// loopback stream, A/B alternating by round, in a private network namespace.
public struct BenchNetReceive: ParsableCommand, Sendable {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "net-receive",
        abstract: "Drain rate of the kernel receive paths (recvmmsg, io_uring, io_uring with DEFER_TASKRUN) on one loopback stream.",
        discussion: """
        Each round, for each receive path in turn (the order reverses every round): a fresh \
        receiver (socket joined; an io_uring receiver arms at its first receive), its socket queue \
        filled with --datagrams datagrams (sendmmsg, 64 a call, not timed), then the time to drain \
        them in bursts of 64 through MulticastReceiver, reading each datagram's sequence number \
        (every one must arrive, in order). Paths: recvmmsg; io_uring (cooperative: the kernel \
        copies datagrams in task work this thread runs when a burst sees the pending-work flag); \
        io_uring-defer (DEFER_TASKRUN: the copy runs only inside an empty burst's io_uring_enter). \
        Runs in a private network namespace (root): nothing reaches the host's loopback. Prints \
        the drain rate per round, the median per path, and each io_uring path's ratio to \
        recvmmsg in the same round.
        """
    )

    @Option(help: "Rounds, each measuring every path once.") var rounds = 10
    @Option(help: "Datagrams per path per round.") var datagrams = 20_000
    @Option(help: "Payload bytes per datagram (at least 8: the sequence number).") var payload = 64
    @Flag(inversion: .prefixedNo, help: "Ask for kernel receive timestamps (SO_TIMESTAMPING), as the listener does.") var timestamps = true

    public func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard (1...1_000_000).contains(datagrams) else { throw ValidationError("--datagrams must be 1...1,000,000") }
        guard (8...8_192).contains(payload) else { throw ValidationError("--payload must be 8...8192 bytes") }
    }

    enum Path: Int, CaseIterable {
        case recvmmsg, ioUring, ioUringDefer
        var name: String { ["recvmmsg", "io_uring", "io_uring-defer"][rawValue] }
    }

    struct Drain {
        var ns: UInt64
        var received: Int
        var outOfOrder: Int
        var rearms: UInt64 = 0
        var millionsPerSecond: Double { ns == 0 ? 0 : Double(received) * 1e3 / Double(ns) }
    }

    /// Fills the receiver's socket queue (not timed), then times draining it.
    func drain<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>, _ sender: inout MulticastSender,
                                              _ batch: inout DatagramBatch) throws(NetError) -> Drain {
        let count = datagrams, bytes = payload
        _ = try sender.sendAll(count) { i, slot in
            slot.storeBytes(of: UInt64(i), as: UInt64.self)
            return bytes
        }
        let t0 = csys_monotonic_ns()
        var received = 0, outOfOrder = 0
        var expected: UInt64 = 0
        let deadline = t0 + 2_000_000_000
        while received < count {
            let n = try receiver.receive(into: &batch)
            for i in 0..<n {
                let seq = batch.bytes(i).loadUnaligned(as: UInt64.self)
                outOfOrder &+= seq == expected ? 0 : 1
                expected = seq &+ 1
            }
            received += n
            if n == 0 && csys_monotonic_ns() > deadline { break }
        }
        let t1 = csys_monotonic_ns()
        _ = try receiver.receive(into: &batch) // hand the last burst's buffers back
        return Drain(ns: t1 - t0, received: received, outOfOrder: outOfOrder)
    }

    func measure(_ path: Path, _ group: MulticastGroup, _ base: ReceiveOptions, _ sender: inout MulticastSender,
                 _ batch: inout DatagramBatch) throws(NetError) -> Drain {
        var o = base
        switch path {
        case .recvmmsg:
            var r = try MulticastReceiver<SocketBackend>(group, options: o)
            return try drain(&r, &sender, &batch)
        case .ioUring, .ioUringDefer:
            o.deferTaskRun = path == .ioUringDefer
            var r = try MulticastReceiver<IoUringBackend>(group, options: o)
            var d = try drain(&r, &sender, &batch)
            d.rearms = r.backend.stats.rearms
            return d
        }
    }

    public func run() throws {
        let rc = try NetworkNamespace.privateLoopback.run { () throws -> Int32 in
            var options = ReceiveOptions()
            options.receiveBufferBytes = 256 << 20 // the queue must hold a whole round
            options.slotSize = max(256, payload)
            options.ioUringBuffers = 4096
            options.armOnFirstReceive = true
            options.batch = 64
            options.timestamps = timestamps
            let group = MulticastGroup("239.192.50.1", port: 33001, interface: "lo")
            var sender = try MulticastSender(group, ttl: 0)
            var batch = DatagramBatch(capacity: 64)
            let probe = try MulticastReceiver<SocketBackend>(group, options: options)
            print("omni bench net-receive: \(rounds) rounds × \(grouped(UInt64(datagrams))) datagrams of \(payload) B, bursts of 64, private loopback namespace")
            print("rcvbuf granted \(probe.info.receiveBufferBytes) B, timestamps \(probe.info.timestamps), io_uring buffers \(options.ioUringBuffers) × \(options.slotSize + 160) B")
            _ = consume probe
            var rate = [[Double]](repeating: [], count: Path.allCases.count)
            var lost = false
            for p in Path.allCases { _ = try measure(p, group, options, &sender, &batch) } // warm-up, not counted
            for r in 0..<rounds {
                var line = "round \(r):"
                for p in r % 2 == 0 ? Path.allCases : Path.allCases.reversed() {
                    let d = try measure(p, group, options, &sender, &batch)
                    rate[p.rawValue].append(d.millionsPerSecond)
                    line += " \(p.name) \(fixed(d.millionsPerSecond, 2))"
                    if d.received != datagrams || d.outOfOrder != 0 { line += " [received \(d.received), out of order \(d.outOfOrder)]"; lost = true }
                    if p != .recvmmsg { line += " (re-arms \(d.rearms))" }
                    line += ";"
                }
                print(line)
            }
            print("drain rate, median over \(rounds) rounds (million datagrams/s):")
            for p in Path.allCases {
                let xs = rate[p.rawValue]
                print("  \(p.name): \(fixed(median(xs), 2)) (range \(fixed(xs.min() ?? 0, 2))...\(fixed(xs.max() ?? 0, 2)))")
            }
            for p in [Path.ioUring, .ioUringDefer] {
                let ratios = (0..<rounds).map { rate[p.rawValue][$0] / rate[Path.recvmmsg.rawValue][$0] }
                print("ratio \(p.name) / recvmmsg, same round: median \(fixed(median(ratios), 2)) (range \(fixed(ratios.min() ?? 0, 2))...\(fixed(ratios.max() ?? 0, 2)))")
            }
            if lost { print("some rounds lost or reordered datagrams (marked above): their rates are not comparable") }
            return lost ? 1 : 0
        }
        if rc != 0 { throw ExitCode(rc) }
    }
}

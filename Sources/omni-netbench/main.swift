// omni-netbench: recvmmsg against io_uring multishot recvmsg on the same loopback stream,
// A/B alternating by round, in a private network namespace (nothing reaches the host's lo).
//
//   swift build -c release --product omni-netbench && .build/release/omni-netbench [rounds] [datagrams] [payload] [timestamps 1|0]
//
// Each round, for each receive path in turn (the order reverses every round): open a fresh
// receiver (socket joined; an io_uring receiver arms only at its first receive), fill its socket
// queue with `datagrams` datagrams (sendmmsg, 64 a call, not timed), then time draining them in
// bursts of 64 through MulticastReceiver<Backend>.receive — one generic loop, specialised per
// backend — reading each datagram's sequence number. Paths: recvmmsg; io_uring (cooperative:
// the kernel copies datagrams in task work this thread runs when a burst sees the pending-work
// flag); io_uring with DEFER_TASKRUN (the copy runs only inside an empty burst's io_uring_enter).
import CNet
import CSys
import Glibc
import OmniNet

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let rounds = args.count > 0 ? args[0] : 10
let datagrams = args.count > 1 ? args[1] : 20_000
let payload = max(8, args.count > 2 ? args[2] : 64)
let timestamps = args.count > 3 ? args[3] != 0 : true

struct Drain {
    var ns: UInt64
    var received: Int
    var outOfOrder: Int
    var rearms: UInt64 = 0
}

/// Fills the receiver's socket queue (not timed), then times draining it.
func round<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>, _ sender: inout MulticastSender,
                                          _ batch: inout DatagramBatch) throws(NetError) -> Drain {
    _ = try sender.sendAll(datagrams) { i, slot in
        slot.storeBytes(of: UInt64(i), as: UInt64.self)
        return payload
    }
    let t0 = csys_monotonic_ns()
    var received = 0
    var expected: UInt64 = 0
    var outOfOrder = 0
    let deadline = t0 + 2_000_000_000
    while received < datagrams {
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

enum Path: Int, CaseIterable {
    case recvmmsg, ioUring, ioUringDefer
    var name: String { ["recvmmsg", "io_uring", "io_uring-defer"][rawValue] }
}

func measure(_ path: Path, _ group: MulticastGroup, _ base: ReceiveOptions, _ sender: inout MulticastSender,
             _ batch: inout DatagramBatch) throws(NetError) -> Drain {
    var o = base
    switch path {
    case .recvmmsg:
        var r = try MulticastReceiver<SocketBackend>(group, options: o)
        return try round(&r, &sender, &batch)
    case .ioUring, .ioUringDefer:
        o.deferTaskRun = path == .ioUringDefer
        var r = try MulticastReceiver<IoUringBackend>(group, options: o)
        var d = try round(&r, &sender, &batch)
        d.rearms = r.backend.stats.rearms
        return d
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

func mpps(_ n: Int, _ ns: UInt64) -> Double { ns == 0 ? 0 : Double(n) * 1e3 / Double(ns) }

func fmt(_ x: Double) -> String { "\((x * 100).rounded() / 100)" }

do {
    try NetworkNamespace.privateLoopback.run { () throws -> Int in
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
        print("omni-netbench: \(rounds) rounds × \(datagrams) datagrams of \(payload) B, bursts of 64, private loopback namespace")
        print("rcvbuf granted \(probe.info.receiveBufferBytes) B, timestamps \(probe.info.timestamps), io_uring buffers \(options.ioUringBuffers) × \(options.slotSize + 160) B")
        _ = consume probe
        var rate = [[Double]](repeating: [], count: Path.allCases.count)
        for p in Path.allCases { _ = try measure(p, group, options, &sender, &batch) } // warm-up, not counted
        for r in 0..<rounds {
            let order = r % 2 == 0 ? Path.allCases : Path.allCases.reversed()
            var line = "round \(r):"
            for p in order {
                let d = try measure(p, group, options, &sender, &batch)
                rate[p.rawValue].append(mpps(d.received, d.ns))
                line += " \(p.name) \(fmt(mpps(d.received, d.ns)))"
                if d.received != datagrams || d.outOfOrder != 0 { line += " [received \(d.received), out of order \(d.outOfOrder)]" }
                if p != .recvmmsg { line += " (re-arms \(d.rearms))" }
                line += ";"
            }
            print(line)
        }
        print("drain rate, median over \(rounds) rounds (million datagrams/s):")
        for p in Path.allCases {
            let xs = rate[p.rawValue]
            print("  \(p.name): \(fmt(median(xs))) (range \(fmt(xs.min() ?? 0))...\(fmt(xs.max() ?? 0)))")
        }
        for p in [Path.ioUring, .ioUringDefer] {
            let ratios = (0..<rounds).map { rate[p.rawValue][$0] / rate[Path.recvmmsg.rawValue][$0] }
            print("ratio \(p.name) / recvmmsg, same round: median \(fmt(median(ratios))) (range \(fmt(ratios.min() ?? 0))...\(fmt(ratios.max() ?? 0)))")
        }
        return 0
    }
} catch {
    print("omni-netbench: \(error)")
    exit(1)
}

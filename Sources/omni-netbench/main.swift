// omni-netbench: recvmmsg against io_uring multishot recvmsg on the same loopback stream,
// A/B alternating by round, in a private network namespace (nothing reaches the host's lo).
//
//   swift build -c release --product omni-netbench && .build/release/omni-netbench [rounds] [datagrams] [payload]
//
// Each round, for each receive path in turn (order alternates by round): fill the receiver's
// socket queue with `datagrams` datagrams (sendmmsg, 64 a call), then time draining them
// in bursts of 64 through MulticastReceiver<Backend>.receive — the same generic loop, specialised
// per backend. Three paths: recvmmsg; io_uring default (the kernel copies each datagram as task
// work interrupting the thread as it arrives — during the fill, so its drain time only reaps
// completions); io_uring DEFER_TASKRUN (the copy waits for the drain, which makes it comparable
// with recvmmsg). "fill+drain" is the whole send-and-receive time, comparable for all three.
import CNet
import CSys
import Glibc
import OmniNet

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let rounds = args.count > 0 ? args[0] : 10
let datagrams = args.count > 1 ? args[1] : 20_000
let payload = args.count > 2 ? args[2] : 64

struct Timing {
    var fillNs: UInt64
    var drainNs: UInt64
    var received: Int
    var outOfOrder: Int
}

/// Fills the receiver's queue, then drains it; the loop body is specialised per backend.
func round<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>, _ sender: inout MulticastSender,
                                          _ batch: inout DatagramBatch) throws(NetError) -> Timing {
    let t0 = csys_monotonic_ns()
    var queued = 0
    while queued < datagrams {
        let base = UInt64(queued)
        queued += try sender.send(min(64, datagrams - queued)) { i, slot in
            slot.storeBytes(of: base + UInt64(i), as: UInt64.self)
            return payload
        }
    }
    let t1 = csys_monotonic_ns()
    var received = 0
    var expected: UInt64 = 0
    var outOfOrder = 0
    let deadline = t1 + 2_000_000_000
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
    let t2 = csys_monotonic_ns()
    _ = try receiver.receive(into: &batch) // give the last burst's buffers back
    return Timing(fillNs: t1 - t0, drainNs: t2 - t1, received: received, outOfOrder: outOfOrder)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

func mpps(_ n: Int, _ ns: UInt64) -> Double { ns == 0 ? 0 : Double(n) * 1e3 / Double(ns) }

func fmt(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return "\(r)"
}

do {
    try NetworkNamespace.privateLoopback.run { () throws -> Int in
        var options = ReceiveOptions()
        options.receiveBufferBytes = 256 << 20 // the queue must hold a whole round
        options.slotSize = max(256, payload)
        options.ioUringBuffers = 4096
        let gS = MulticastGroup("239.192.50.1", port: 33001, interface: "lo")
        let gU = MulticastGroup("239.192.50.2", port: 33002, interface: "lo")
        let gD = MulticastGroup("239.192.50.3", port: 33003, interface: "lo")
        var socketRx = try MulticastReceiver<SocketBackend>(gS, options: options)
        var uringRx = try MulticastReceiver<IoUringBackend>(gU, options: options)
        var deferred = options
        deferred.deferTaskRun = true
        var deferRx = try MulticastReceiver<IoUringBackend>(gD, options: deferred)
        var txS = try MulticastSender(gS, ttl: 0)
        var txU = try MulticastSender(gU, ttl: 0)
        var txD = try MulticastSender(gD, ttl: 0)
        var batch = DatagramBatch(capacity: 64)
        print("omni-netbench: \(rounds) rounds × \(datagrams) datagrams of \(payload) B, bursts of 64, private loopback namespace")
        print("rcvbuf granted \(socketRx.info.receiveBufferBytes) B, timestamps \(socketRx.info.timestamps), io_uring buffers \(options.ioUringBuffers)")
        let names = ["recvmmsg", "io_uring", "io_uring-defer"]
        var drain = [[Double]](repeating: [], count: 3)
        var total = [[Double]](repeating: [], count: 3)
        // Warm-up round, not counted.
        _ = try round(&socketRx, &txS, &batch)
        _ = try round(&uringRx, &txU, &batch)
        _ = try round(&deferRx, &txD, &batch)
        for r in 0..<rounds {
            let order = r % 2 == 0 ? [0, 1, 2] : [2, 1, 0]
            var line = "round \(r):"
            for k in order {
                let t: Timing
                switch k {
                case 0: t = try round(&socketRx, &txS, &batch)
                case 1: t = try round(&uringRx, &txU, &batch)
                default: t = try round(&deferRx, &txD, &batch)
                }
                drain[k].append(mpps(t.received, t.drainNs))
                total[k].append(mpps(t.received, t.fillNs + t.drainNs))
                line += " \(names[k]) drain \(fmt(mpps(t.received, t.drainNs))) Mpps fill+drain \(fmt(mpps(t.received, t.fillNs + t.drainNs))) Mpps"
                if t.received != datagrams || t.outOfOrder != 0 { line += " [received \(t.received), out of order \(t.outOfOrder)]" }
                line += ";"
            }
            print(line)
        }
        print("median over \(rounds) rounds (Mpps = million datagrams/s):")
        for k in 0..<3 {
            print("  \(names[k]): drain \(fmt(median(drain[k]))), fill+drain \(fmt(median(total[k])))")
        }
        let ratios = (0..<rounds).map { drain[2][$0] / drain[0][$0] }
        let ratiosTotal1 = (0..<rounds).map { total[1][$0] / total[0][$0] }
        let ratiosTotal2 = (0..<rounds).map { total[2][$0] / total[0][$0] }
        print("ratio io_uring-defer / recvmmsg, drain: median \(fmt(median(ratios))) (range \(fmt(ratios.min() ?? 0))...\(fmt(ratios.max() ?? 0)))")
        print("ratio io_uring / recvmmsg, fill+drain: median \(fmt(median(ratiosTotal1))); io_uring-defer / recvmmsg: \(fmt(median(ratiosTotal2)))")
        let st = uringRx.backend.stats
        let sd = deferRx.backend.stats
        print("io_uring rearms \(st.rearms) ENOBUFS \(st.no_buffers); defer rearms \(sd.rearms) ENOBUFS \(sd.no_buffers)")
        return 0
    }
} catch {
    print("omni-netbench: \(error)")
    exit(1)
}

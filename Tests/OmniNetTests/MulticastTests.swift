import CNet
import Foundation
import OmniNet
import Testing

// Sockets are opened on a thread inside a network namespace the test owns (a private
// loopback, or two `ip netns` namespaces joined by a veth pair), so no packet can reach
// the host's interfaces. Bodies return what they saw; assertions run on the test's task.

/// Sends `count` datagrams (sequence number first) and collects them through whichever
/// backend `MulticastGroup.receive(path:)` picked, in one specialised loop. What goes wrong is
/// recorded for the test to assert, never trapped: a trap here would take every suite down.
struct CollectStream: ReceiveLoop {
    let count: Int
    let length: Int
    var sequences: [UInt64] = []
    var timestamps: [UInt64] = []
    var batchStamps: [UInt64] = []
    /// Receive stamping came on before the stream was sent.
    var stamped = false
    /// Datagrams of the wrong length or cut short.
    var misshapen = 0

    mutating func run<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>) throws(NetError) -> Int {
        var sender = try MulticastSender(receiver.group, ttl: 0, batch: 32) // several sendmmsg batches per stream
        // The kernel turns receive stamping on host-wide lazily (a static key flipped from a work
        // queue, slow while other tests load the machine): probe for up to 5 s until a datagram
        // arrives stamped. Probes carry sequence .max.
        var batch = DatagramBatch(capacity: 16)
        for _ in 0..<1000 where !stamped {
            _ = try sender.send(1) { _, slot in
                slot.storeBytes(of: UInt64.max, as: UInt64.self)
                return 8
            }
            _ = try receiver.wait(timeoutNanoseconds: 5_000_000)
            while try receiver.receive(into: &batch) > 0 {
                for i in 0..<batch.count where batch.kernelTimestampNs(i) > 0 { stamped = true }
            }
        }
        guard stamped else { return 0 }
        let len = length
        let sent = try sender.sendAll(count) { i, slot in
            slot.storeBytes(of: UInt64(i), as: UInt64.self)
            for j in 8..<len { slot[j] = UInt8(truncatingIfNeeded: j) }
            return len
        }
        var idle = 0
        while sequences.count < count && idle < 50 {
            let n = try receiver.receive(into: &batch)
            if n == 0 {
                idle += 1
                _ = try receiver.wait(timeoutNanoseconds: 20_000_000)
                continue
            }
            for i in 0..<n where batch.bytes(i).loadUnaligned(as: UInt64.self) != .max {
                let d = batch[i]
                sequences.append(d.bytes.loadUnaligned(as: UInt64.self))
                timestamps.append(d.kernelTimestampNs)
                if d.bytes.count != len || d.truncated { misshapen += 1 }
            }
            batchStamps.append(batch.tsc)
        }
        return sent
    }
}

struct StreamResult: Sendable {
    var sent: Int
    var sequences: [UInt64]
    var timestamps: [UInt64]
    var batchStamps: [UInt64]
    var timestamping: TimestampKind
    var stamped: Bool
    var misshapen: Int
}

func collect(_ path: ReceivePath, port: UInt16, sqPoll: Bool = false, deferTaskRun: Bool = false, count: Int = 128) throws -> StreamResult {
    try NetworkNamespace.privateLoopback.run {
        var options = ReceiveOptions()
        options.sqPoll = sqPoll
        options.deferTaskRun = deferTaskRun
        var loop = CollectStream(count: count, length: 120)
        let g = MulticastGroup("239.192.8.1", port: port, interface: "lo")
        // The timestamp kind is read from a receiver of the same group opened beside the loop's.
        let kind = try MulticastReceiver<SocketBackend>(g, options: options).info.timestamps
        let sent = try g.receive(path: path, options: options, into: &loop)
        return StreamResult(sent: sent, sequences: loop.sequences, timestamps: loop.timestamps,
                            batchStamps: loop.batchStamps, timestamping: kind, stamped: loop.stamped, misshapen: loop.misshapen)
    }
}

@Suite("OmniNet multicast receivers and senders", .serialized)
struct MulticastTests {
    @Test("both receive paths deliver a sendmmsg stream whole, in order, kernel-stamped", arguments: ReceivePath.allCases)
    func stream(path: ReceivePath) throws {
        let r = try collect(path, port: path == .socket ? 32001 : 32002)
        try #require(r.stamped, "receive timestamps never came on")
        #expect(r.sent == 128 && r.misshapen == 0)
        #expect(r.sequences == (0..<128).map { UInt64($0) })
        #expect(r.timestamping == .software)
        #expect(r.timestamps.allSatisfy { $0 > 0 })
        #expect(zip(r.timestamps, r.timestamps.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(!r.batchStamps.isEmpty && r.batchStamps.allSatisfy { $0 > 0 })
        #expect(zip(r.batchStamps, r.batchStamps.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("io_uring with a submission-queue polling thread delivers the same stream")
    func sqPoll() throws {
        let r = try collect(.ioUring, port: 32003, sqPoll: true, count: 64)
        #expect(r.stamped && r.misshapen == 0)
        #expect(r.sequences == (0..<64).map { UInt64($0) })
    }

    @Test("io_uring with DEFER_TASKRUN (datagrams copied only when the thread asks) delivers the same stream, stamped")
    func deferredTaskRun() throws {
        let r = try collect(.ioUring, port: 32009, deferTaskRun: true)
        #expect(r.stamped && r.misshapen == 0)
        #expect(r.sequences == (0..<128).map { UInt64($0) })
        #expect(r.timestamps.allSatisfy { $0 > 0 })
    }

    @Test("a sender with no interface is refused, naming the group")
    func senderNeedsInterface() {
        for none in [nil, ""] as [String?] {
            #expect(throws: NetError.noInterface(group: "239.192.8.9", port: 32004)) {
                _ = try MulticastSender(MulticastGroup("239.192.8.9", port: 32004, interface: none))
            }
        }
        let e = NetError.noInterface(group: "239.192.8.9", port: 32004)
        #expect(e.description.contains("239.192.8.9:32004"))
    }

    @Test("bad group, port and interface errors name them with the errno text")
    func errorsNameTheirSocket() throws {
        func openError(_ g: MulticastGroup) -> NetError? {
            do {
                _ = try MulticastReceiver<SocketBackend>(g)
                return nil
            } catch {
                return error
            }
        }
        let badGroup = try #require(openError(MulticastGroup("239.1.1", port: 32005, interface: "lo")))
        #expect(badGroup.code == Int32(CN_EBADADDRESS))
        #expect(badGroup.description.contains("239.1.1:32005"))
        #expect(badGroup.description.contains("lo"))

        let unicastGroup = try #require(openError(MulticastGroup("10.0.0.1", port: 32005)))
        #expect(unicastGroup.code == Int32(CN_ENOTMULTICAST))
        #expect(unicastGroup.description.contains("not an IPv4 multicast group"))

        let port0 = try #require(openError(MulticastGroup("239.1.1.1", port: 0)))
        #expect(port0.code == Int32(CN_EBADPORT))

        let noDevice = try #require(openError(MulticastGroup("239.1.1.1", port: 32005, interface: "nosuch0")))
        #expect(noDevice.code == ENODEV)
        #expect(noDevice.description.contains("nosuch0"))
        #expect(noDevice.description.contains(String(cString: strerror(ENODEV))))
    }

    @Test("a unicast socket answers a request at the asker's address")
    func unicast() throws {
        let (answer, port, asker) = try NetworkNamespace.privateLoopback.run { () -> (UInt64, UInt16, UInt16) in
            var server = try UnicastSocket()
            var client = try UnicastSocket()
            var request: UInt64 = 7
            try withUnsafeBytes(of: &request) { try client.send($0, to: server.local) }
            var batch = DatagramBatch(capacity: 4)
            _ = try server.wait(timeoutNanoseconds: 1_000_000_000)
            let asked = try server.receive(into: &batch)
            precondition(asked == 1)
            let d = batch[0]
            var reply = d.bytes.loadUnaligned(as: UInt64.self) * 6
            try withUnsafeBytes(of: &reply) { try server.send($0, to: d.source) }
            _ = try client.wait(timeoutNanoseconds: 1_000_000_000)
            let answered = try client.receive(into: &batch)
            precondition(answered == 1)
            return (batch[0].bytes.loadUnaligned(as: UInt64.self), d.source.port, client.local.port)
        }
        #expect(answer == 42)
        #expect(port == asker)
    }
}

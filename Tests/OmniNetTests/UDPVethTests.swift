import CNet
import Foundation
import OmniNet
import Testing

/// Two namespaces and a veth pair between them, removed when the test ends however it ends.
final class VethPair {
    let a: String, b: String, ifA: String, ifB: String
    let ready: Bool

    init() {
        VethPair.removeStale()
        let id = "\(getpid())"
        a = "omni-test-\(id)-a"
        b = "omni-test-\(id)-b"
        ifA = "omv\(id)a"
        ifB = "omv\(id)b"
        let steps: [[String]] = [
            ["ip", "netns", "add", a], ["ip", "netns", "add", b],
            ["ip", "link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b],
            ["ip", "-n", a, "addr", "add", "10.201.7.1/24", "dev", ifA],
            ["ip", "-n", b, "addr", "add", "10.201.7.2/24", "dev", ifB],
            ["ip", "-n", a, "link", "set", ifA, "up", "multicast", "on"],
            ["ip", "-n", b, "link", "set", ifB, "up", "multicast", "on"],
            ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"],
        ]
        ready = steps.allSatisfy { VethPair.run($0) == 0 }
    }

    /// Deletes omni-test-PID-* namespaces whose process is gone (a run killed before its cleanup).
    static func removeStale() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/run/netns") else { return }
        for name in names where name.hasPrefix("omni-test-") {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[2]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = run(["ip", "netns", "del", name]) }
        }
    }

    /// Runs a command; its exit status.
    static func run(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    deinit {
        // Deleting a namespace destroys the veth end inside it, and with it the peer.
        _ = VethPair.run(["ip", "netns", "del", a])
        _ = VethPair.run(["ip", "netns", "del", b])
    }
}

@Suite("OmniNet multicast across a veth pair", .serialized)
struct UDPVethTests {
    @Test("a sender in one namespace reaches a receiver in another over veth, TTL 1, both paths",
          arguments: ReceivePath.allCases)
    func acrossVeth(path: ReceivePath) throws {
        let pair = VethPair()
        try #require(pair.ready, "could not build the namespaces and veth pair (need root and iproute2)")
        let (a, b, ifB) = (pair.a, pair.b, pair.ifB)
        let got = try NetworkNamespace.path("/run/netns/\(a)").run { () -> [UInt64] in
            // Sender first, in namespace a; then this thread moves to b for the receiver.
            let sender = try MulticastSender(MulticastGroup("239.192.9.1", port: 32100, interface: "10.201.7.1"), ttl: 1)
            var loop = VethLoop(sender: sender)
            try NetworkNamespace.path("/run/netns/\(b)").enter()
            let g = MulticastGroup("239.192.9.1", port: 32100, interface: ifB)
            return try g.receive(path: path, into: &loop)
        }
        withExtendedLifetime(pair) {}
        #expect(got == (0..<32).map { UInt64($0) })
    }
}

/// Sends 32 datagrams once the receiver has joined, collects them.
struct VethLoop: ~Copyable, ReceiveLoop {
    var sender: MulticastSender

    mutating func run<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>) throws(NetError) -> [UInt64] {
        _ = try sender.send(32) { i, slot in
            slot.storeBytes(of: UInt64(i), as: UInt64.self)
            return 64
        }
        var batch = DatagramBatch(capacity: 32)
        var seen: [UInt64] = []
        var idle = 0
        while seen.count < 32 && idle < 50 {
            let n = try receiver.receive(into: &batch)
            if n == 0 {
                idle += 1
                _ = try receiver.wait(timeoutNanoseconds: 20_000_000)
                continue
            }
            for i in 0..<n { seen.append(batch.bytes(i).loadUnaligned(as: UInt64.self)) }
        }
        return seen
    }
}

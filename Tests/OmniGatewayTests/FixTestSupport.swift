import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import SharedTestData
import Foundation
@testable import OmniGateway

/// Tiny in-test venue: a fixed market of 99.00 bid / 100.00 ask. Market orders and limit
/// orders through the touch fill in full at the touch; other limit orders rest until
/// canceled or replaced.
final class FakeFixVenue: FixVenue {
    struct Resting { var orderID: FixString; var order: FixNewOrder }
    var resting: [FixString: Resting] = [:]
    var nextID = 0
    var calls: [String] = []
    /// "on X" / "end X" per session hook, in order.
    var sessionEvents: [String] = []
    static let bid: Int64 = 990_000, ask: Int64 = 1_000_000

    func id(_ p: String) -> FixString { nextID += 1; return "\(p)\(nextID)" }

    func sessionLoggedOn(session: String) { sessionEvents.append("on \(session)") }
    func sessionEnded(session: String) { sessionEvents.append("end \(session)") }

    func newOrder(_ o: FixNewOrder, session: String, into out: inout [FixVenueResponse]) {
        calls.append("D \(o.clOrdID) \(o.quantity)@\(o.price)")
        let oid = id("OM")
        out.append(.execution(FixExecution(orderID: oid, clOrdID: o.clOrdID, execID: id("E"), execType: .new, ordStatus: .new,
                                           symbol: o.symbol, side: o.side, orderQty: o.quantity, price: o.price,
                                           leavesQty: o.quantity, cumQty: 0, avgPx: 0)))
        let touch = o.side == .buy ? Self.ask : Self.bid
        let crosses = o.ordType == .market || (o.side == .buy ? o.price >= Self.ask : o.price <= Self.bid)
        if crosses && !o.postOnly {
            out.append(.execution(FixExecution(orderID: oid, clOrdID: o.clOrdID, execID: id("E"), execType: .trade, ordStatus: .filled,
                                               symbol: o.symbol, side: o.side, orderQty: o.quantity, price: o.price,
                                               leavesQty: 0, cumQty: o.quantity, avgPx: touch, lastPx: touch, lastQty: o.quantity)))
        } else {
            resting[o.clOrdID] = Resting(orderID: oid, order: o)
        }
    }

    func cancel(_ c: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) {
        calls.append("F \(c.clOrdID) \(c.origClOrdID)")
        guard let r = resting.removeValue(forKey: c.origClOrdID) else {
            out.append(.cancelReject(.unknownOrder(clOrdID: c.clOrdID, origClOrdID: c.origClOrdID, responseTo: .cancel)))
            return
        }
        out.append(.execution(FixExecution(orderID: r.orderID, clOrdID: c.clOrdID, origClOrdID: c.origClOrdID, execID: id("E"),
                                           execType: .canceled, ordStatus: .canceled, symbol: r.order.symbol, side: r.order.side,
                                           orderQty: r.order.quantity, price: r.order.price, leavesQty: 0, cumQty: 0, avgPx: 0)))
    }

    func replace(_ q: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) {
        calls.append("G \(q.clOrdID) \(q.origClOrdID) \(q.quantity)@\(q.price)")
        guard var r = resting.removeValue(forKey: q.origClOrdID) else {
            out.append(.cancelReject(.unknownOrder(clOrdID: q.clOrdID, origClOrdID: q.origClOrdID, responseTo: .replace)))
            return
        }
        r.order.clOrdID = q.clOrdID
        r.order.quantity = q.quantity
        r.order.price = q.price
        resting[q.clOrdID] = r
        out.append(.execution(FixExecution(orderID: r.orderID, clOrdID: q.clOrdID, origClOrdID: q.origClOrdID, execID: id("E"),
                                           execType: .replaced, ordStatus: .new, symbol: q.symbol, side: q.side,
                                           orderQty: q.quantity, price: q.price, leavesQty: q.quantity, cumQty: 0, avgPx: 0)))
    }
}

/// Collects every application message an initiator receives.
final class Collector: FixApplication {
    var received: [[(UInt32, String)]] = []
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict {
        received.append(m.all)
        return .accepted
    }
}

func tempDir(_ name: String) -> String {
    TestScratch.directory("fix-\(name)")
}

enum QuickFIXPeer {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// nil when the peer can be built; else why not.
    static let unavailable: String? = {
        let gpp = ["/usr/bin/g++", "/usr/local/bin/g++"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if gpp == nil { return "g++ not found" }
        if !FileManager.default.fileExists(atPath: "/usr/include/quickfix/Session.h") { return "libquickfix-dev not installed (/usr/include/quickfix missing; `make setup`)" }
        return nil
    }()

    /// Builds the peer once per test process into a temp dir; returns its path.
    static let binary: String? = {
        guard unavailable == nil else { return nil }
        let out = TestScratch.path("fixpeer")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: packageRoot + "/Tests/Peers/quickfix/build.sh")
        p.arguments = [out]
        do { try p.run() } catch { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? out : nil
    }()

    static func config(dir: String, initiator: Bool, port: UInt16, sender: String, target: String, heartBtInt: Int) -> String {
        let path = dir + "/peer.cfg"
        var s = """
        [DEFAULT]
        ConnectionType=\(initiator ? "initiator" : "acceptor")
        FileStorePath=\(dir)/qf-store
        FileLogPath=\(dir)/qf-log
        StartTime=00:00:00
        EndTime=00:00:00
        UseDataDictionary=N
        ReconnectInterval=1
        HeartBtInt=\(heartBtInt)
        SocketNodelay=Y

        [SESSION]
        BeginString=FIX.4.4
        SenderCompID=\(sender)
        TargetCompID=\(target)

        """
        s += initiator ? "SocketConnectHost=127.0.0.1\nSocketConnectPort=\(port)\n" : "SocketAcceptPort=\(port)\n"
        try? s.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    final class Running: @unchecked Sendable {
        let process = Process()
        let pipe = Pipe()
        let lock = NSLock()
        var data = Data()
        var lines: [String] {
            lock.lock(); defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }

    /// Runs `fixpeer MODE CONFIG [extra...]` (acceptor: extra[0] is its fill rule, see fixpeer.cpp).
    static func start(_ bin: String, mode: String, config: String, extra: [String] = []) throws -> Running {
        let r = Running()
        r.process.executableURL = URL(fileURLWithPath: bin)
        r.process.arguments = [mode, config] + extra
        r.process.standardOutput = r.pipe
        r.pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            r.lock.lock(); r.data.append(d); r.lock.unlock()
        }
        try r.process.run()
        return r
    }
}

func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: a.sin_port)
}

func fieldsOf(_ line: String) -> [String: String] {
    var d: [String: String] = [:]
    for kv in line.split(separator: "|") {
        let p = kv.split(separator: "=", maxSplits: 1)
        if p.count == 2 { d[String(p[0].split(separator: " ").last!)] = String(p[1]) }
    }
    return d
}

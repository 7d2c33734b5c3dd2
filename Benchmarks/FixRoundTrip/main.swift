// FIX round trip over loopback TCP: NewOrderSingle from our initiator -> our acceptor ->
// ExecutionReport (new) back, p50 / p99 with HdrHistogram.
//
//   swift run -c release FixRoundTrip [ORDERS]   (default 20000, after 2000 warm-up)
//
// One thread drives both ends with busy polling (poll timeout 0): send D, poll the acceptor
// until it has answered, poll the initiator until the ER is in. So a round trip is both
// sessions' codec + session + store-append work plus two loopback TCP hops, with no
// cross-thread wake-up in it. Orders rest in a no-op venue (one ER each); the store is in a
// temp dir with the default fsync policy (no fsync per message: each message is still one
// write(2) to the log and one pwrite(2) of the seqnums file on both sides).
import CWire
import Glibc
import Histogram
import OmniGateway

final class RestingVenue: FixVenue {
    var n = 0
    func newOrder(_ o: FixNewOrder, session: String, into out: inout [FixVenueResponse]) {
        n += 1
        out.append(.execution(FixExecution(orderID: "O\(n)", clOrdID: o.clOrdID, execID: "E\(n)", execType: .new, ordStatus: .new,
                                           symbol: o.symbol, side: o.side, orderQty: o.quantity, price: o.price,
                                           leavesQty: o.quantity, cumQty: 0, avgPx: 0)))
    }
    func cancel(_ c: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) {}
    func replace(_ r: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) {}
}

final class Counter: FixApplication {
    var reports = 0
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict { reports += 1; return .accepted }
}

func nowNs() -> UInt64 { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec) }

let orders = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20000 : 20000
var template = Array("/tmp/fixrt-XXXXXX".utf8CString)
let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
guard let acc = FixAcceptor(config: FixSessionConfig(storeDirectory: dir + "/acc"), app: FixVenueApplication(venue: RestingVenue())) else { fatalError("listen") }
mkdir(dir + "/acc", 0o755)
mkdir(dir + "/ini", 0o755)
let app = Counter()
guard let ini = FixInitiator.connect(port: acc.port, config: FixSessionConfig(senderCompID: "BENCH", targetCompID: "OMNI", heartBtInt: 30,
                                                                           storeDirectory: dir + "/ini", resetOnLogon: true), app: app) else { fatalError("connect") }
ini.logEvents = false
while ini.state != .loggedOn {
    acc.pollOnce(timeoutMs: 0)
    acc.session?.logEvents = false
    ini.pollOnce(timeoutMs: 0)
}
var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
let warm = 2000
for i in 0..<(warm + orders) {
    var d = FixOut(msgType: "D")
    d.add(11, "c\(i)"); d.add(55, "OMNI"); d.addChar(54, 49); d.addInt(38, 100); d.addChar(40, 50); d.addPrice(44, 1_012_500)
    let want = app.reports + 1
    let t0 = nowNs()
    ini.send(d)
    while app.reports < want {
        acc.pollOnce(timeoutMs: 0)
        ini.pollOnce(timeoutMs: 0)
    }
    if i >= warm { h.record(nowNs() - t0) }
}
ini.logout()
for _ in 0..<100 { acc.pollOnce(timeoutMs: 1); ini.pollOnce(timeoutMs: 1) }
func us(_ v: UInt64) -> String { let x = Double(v) / 1000; return String(Int(x)) + "." + String(Int(x * 10) % 10) }
print("FixRoundTrip: \(orders) NewOrderSingle -> ExecutionReport(new) round trips over loopback TCP, one thread driving both ends")
print("  p50 \(us(h.valueAtPercentile(50))) us  p99 \(us(h.valueAtPercentile(99))) us  p99.9 \(us(h.valueAtPercentile(99.9))) us  max \(us(h.max)) us")

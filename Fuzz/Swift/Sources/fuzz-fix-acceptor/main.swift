// fuzz-fix-acceptor: hostile client bytes into the FIX 4.4 acceptor with the venue behind it.
//
// Mode 0 (input flag bits 5-7 even): the sim's own acceptor. A client connects to a real
// `SimVenue`'s FIX port (see FuzzSupport/SimDriver.swift) and writes the payload:
// FixAcceptor accept / poll set, FixSession framing (cw_fix_parse), Logon checks, sequence
// numbers, ResendRequest service from the FixFileStore, Reject / Logout paths, then
// FixVenueApplication decoding D / F / G into SimFixEntry, the venue's matching, ITCH out,
// ExecutionReports and cancel on disconnect. Invariants: books ordered and never crossed;
// no live order once the client is gone.
//
// Mode 1 (flag bit 5 set): a FixAcceptor of the harness's own with FixVenueApplication over
// EchoVenue (every order answered New + partial fill + fill, every cancel or replace with
// a report: much output), maxConnections 1 and maxPendingBytes 4 KiB, so a slow peer and a
// second connection hit the bounds. Invariants: connections <= maxConnections, every
// session's pending bytes <= maxPendingBytes, and each loggedOn is matched by one
// sessionEnded once the clients are gone.
import FuzzSupport
import Glibc
import OmniNet
import OmniVenue
import OmniWire
import OmniGateway

let harness = "fuzz-fix-acceptor"

/// A venue that answers everything, loudly.
final class EchoVenue: FixVenue {
    var seq = 0
    var loggedOn = 0, ended = 0
    func exec(_ cl: FixString, _ sym: FixString, _ side: FixSide, _ type: FixExecType, _ st: FixOrdStatus,
              qty: Int64, px: Int64, leaves: Int64, cum: Int64, orig: FixString? = nil) -> FixVenueResponse {
        seq += 1
        return .execution(FixExecution(orderID: "O1", clOrdID: cl, origClOrdID: orig, execID: FixString("E\(seq)"),
                                       execType: type, ordStatus: st, symbol: sym, side: side, orderQty: qty, price: px,
                                       leavesQty: leaves, cumQty: cum, avgPx: px, lastPx: px, lastQty: cum))
    }
    func newOrder(_ o: FixNewOrder, session: String, into out: inout [FixVenueResponse]) {
        let half = o.quantity / 2
        out.append(exec(o.clOrdID, o.symbol, o.side, .new, .new, qty: o.quantity, px: o.price, leaves: o.quantity, cum: 0))
        out.append(exec(o.clOrdID, o.symbol, o.side, .partialFill, .partiallyFilled, qty: o.quantity, px: o.price, leaves: o.quantity - half, cum: half))
        out.append(exec(o.clOrdID, o.symbol, o.side, .fill, .filled, qty: o.quantity, px: o.price, leaves: 0, cum: o.quantity))
    }
    func cancel(_ r: FixCancelRequest, session: String, into out: inout [FixVenueResponse]) {
        if r.clOrdID == r.origClOrdID {
            out.append(.cancelReject(.unknownOrder(clOrdID: r.clOrdID, origClOrdID: r.origClOrdID, responseTo: .cancel)))
        } else {
            out.append(exec(r.clOrdID, r.symbol, r.side, .canceled, .canceled, qty: 0, px: 0, leaves: 0, cum: 0, orig: r.origClOrdID))
        }
    }
    func replace(_ r: FixReplaceRequest, session: String, into out: inout [FixVenueResponse]) {
        out.append(exec(r.clOrdID, r.symbol, r.side, .replaced, .replaced, qty: r.quantity, px: r.price, leaves: r.quantity, cum: 0, orig: r.origClOrdID))
    }
    func sessionLoggedOn(session: String) { loggedOn += 1 }
    func sessionEnded(session: String) { ended += 1 }
}

final class Direct {
    let store = ScratchDirectory("fix-acceptor-direct")
    let venue = EchoVenue()
    let acceptor: FixAcceptor<FixVenueApplication<EchoVenue>>
    init() {
        let config = FixSessionConfig(senderCompID: "OMNI", storeDirectory: store.path, maxPendingBytes: 4096)
        guard let a = try? FixAcceptor(config: config, app: FixVenueApplication(venue: venue)) else { fatalError("\(harness): cannot listen") }
        a.keepHistory = false
        a.maxConnections = 1
        acceptor = a
    }

    func check() {
        let a = acceptor
        invariant(a.connections.count <= a.maxConnections, harness, "\(a.connections.count) connections open, maxConnections \(a.maxConnections)")
        for s in a.connections {
            invariant(s.pendingBytes <= a.config.maxPendingBytes, harness, "\(s.pendingBytes) bytes pending, maxPendingBytes \(a.config.maxPendingBytes)")
        }
        invariant(a.loggedOn.count <= a.connections.count, harness, "\(a.loggedOn.count) logged on over \(a.connections.count) connections")
    }

    func run(_ input: StreamInput) {
        let conns = (0..<(input.twoConnections ? 2 : 1)).map { _ in Loopback.connect(port: acceptor.port, slow: input.slowPeer) }
        func step() {
            for _ in 0..<2 {
                acceptor.pollOnce(timeoutMs: 0)
                check()
                if !input.slowPeer { for fd in conns { Loopback.drain(fd) } }
            }
        }
        step()
        for (c, bytes) in input.segments {
            Loopback.write(conns[c], bytes)
            step()
        }
        for fd in conns { close(fd) }
        for _ in 0..<3 { acceptor.pollOnce(timeoutMs: 0); check() }
        invariant(acceptor.connections.isEmpty, harness, "\(acceptor.connections.count) connections left after every client closed")
        invariant(venue.loggedOn == venue.ended, harness, "\(venue.loggedOn) logons but \(venue.ended) session ends")
        store.empty()
    }
}

nonisolated(unsafe) var simDriver: SimDriver?
nonisolated(unsafe) var direct: Direct?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let input = StreamInput(data, size)
    if input.mode & 1 == 0 {
        if simDriver == nil { simDriver = SimDriver(harness: harness, port: .fix) }
        simDriver!.run(input)
    } else {
        if direct == nil { direct = Direct() }
        direct!.run(input)
    }
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_fix_acceptor_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

// fuzz-fix-client: hostile venue bytes into our FIX 4.4 initiator. The harness listens on
// 127.0.0.1, `FixInitiator.connect` connects to it and sends its Logon (resetOnLogon), the
// harness accepts and writes the payload as the venue: FixSession framing, the acceptor's
// Logon answer as an initiator sees it, sequence checks, gap fills, ResendRequest service
// from our FixFileStore, TestRequest / Heartbeat, Reject and Logout, application messages
// (ExecutionReports) to the client application. Mode bit 5: the client sends a
// NewOrderSingle after every segment once logged on (so a hostile ResendRequest has our
// messages to read back, and a slow venue fills our output queue). maxPendingBytes is 4 KiB.
// Invariants: pending bytes <= maxPendingBytes at every step; the session is closed once
// the venue has closed its end.
import FuzzSupport
import Glibc
import OmniNet
import OmniVenue
import OmniWire
import OmniGateway

let harness = "fuzz-fix-client"

final class ClientApp: FixApplication {
    var received = 0
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict {
        received += 1
        return m.msgType == "8" || m.msgType == "9" ? .accepted : .reject(reason: 11, tag: 35, text: "unsupported MsgType")
    }
}

final class State {
    let store = ScratchDirectory("fix-client")
    let listener = Loopback.listen()
    let app = ClientApp()
    var orders = 0
}
nonisolated(unsafe) var state: State?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    if state == nil { state = State() }
    let st = state!
    let input = StreamInput(data, size)
    let config = FixSessionConfig(senderCompID: "CLI", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: st.store.path,
                                  resetOnLogon: true, maxPendingBytes: 4096)
    guard let s = try? FixInitiator.connect(port: st.listener.port, config: config, app: st.app) else {
        fatalError("\(harness): FixInitiator.connect to our own listener failed (errno \(errno))")
    }
    let venue = Loopback.accept(st.listener.fd, slow: input.slowPeer)
    func step() {
        for _ in 0..<2 {
            s.pollOnce(timeoutMs: 0)
            invariant(s.pendingBytes <= s.config.maxPendingBytes, harness, "\(s.pendingBytes) bytes pending, maxPendingBytes \(s.config.maxPendingBytes)")
            if !input.slowPeer { Loopback.drain(venue) }
        }
    }
    step()
    for (_, bytes) in input.segments {
        Loopback.write(venue, bytes)
        step()
        if input.mode & 1 != 0 && s.state == .loggedOn {
            st.orders += 1
            s.send(FixNewOrder(clOrdID: "c\(st.orders)", symbol: "AAPL", side: .buy, quantity: 100, ordType: .limit, price: 1_872_500).message)
            invariant(s.pendingBytes <= s.config.maxPendingBytes, harness, "\(s.pendingBytes) bytes pending after send, maxPendingBytes \(s.config.maxPendingBytes)")
        }
    }
    close(venue)
    for _ in 0..<3 where s.isOpen { s.pollOnce(timeoutMs: 0) }
    invariant(!s.isOpen, harness, "the session is still open (state \(s.state)) after the venue closed the connection")
    st.store.empty()
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_fix_client_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

// fuzz-ouch-client: hostile venue bytes into our OUCH 4.2 client over SoupBinTCP. The harness
// listens on 127.0.0.1; `OuchClient.connect` connects and sends its Login Request while a
// helper thread accepts and writes the first segment (what `connect` reads: Login Accepted,
// Rejected, heartbeats, or anything else); once `connect` returns (or throws), the harness
// writes the other segments and calls `poll` after each: SoupLink framing, the server packet
// limit, sequenced / unsequenced / debug / heartbeat / End of Session handling, the OUCH
// decoders, our heartbeats. Mode bit 5: the client enters an order after every segment (a
// slow venue fills our 4 KiB send buffer: `send buffer full` must be thrown, not trap).
// Invariants: sequenced messages numbered one after another from the Login Accepted's
// number, `nextSequence` one past the last; the client disconnected once the venue closed.
import CWire
import FuzzSupport
import Glibc
import OmniNet
import OmniVenue
import OmniWire
import OmniGateway

let harness = "fuzz-ouch-client"

/// The helper thread's work: accept, write the login-phase segment.
final class Venue: @unchecked Sendable {
    let listenFD: Int32
    let first: [UInt8]
    let slow: Bool
    var fd: Int32 = -1
    init(listenFD: Int32, first: [UInt8], slow: Bool) { self.listenFD = listenFD; self.first = first; self.slow = slow }
    func run() {
        fd = Loopback.accept(listenFD, slow: slow)
        first.withUnsafeBytes { _ = Loopback.write(fd, $0) }
    }
}

final class State {
    let listener = Loopback.listen()
    var orders = 0
}
nonisolated(unsafe) var state: State?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    if state == nil { state = State() }
    let st = state!
    let input = StreamInput(data, size)
    let segments = input.segments
    var config = SoupClientConfig(port: st.listener.port, username: "trader", password: "password")
    config.loginTimeoutMs = 1  // an input whose first segment holds no login answer costs 1-2 ms
    config.connectTimeoutMs = 1000
    config.sendBuffer = 4096
    let client = OuchClient(config)

    let venue = Venue(listenFD: st.listener.fd, first: segments.first.map { Array($0.bytes) } ?? [], slow: input.slowPeer)
    let box = Unmanaged.passRetained(venue).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        Unmanaged<Venue>.fromOpaque(arg!).takeRetainedValue().run()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create: \(rc)")
    var loggedIn = true
    do { try client.connect() } catch { loggedIn = false }
    pthread_join(thread, nil)
    let fd = venue.fd

    var next = client.nextSequence
    var ended = false
    func poll() {
        client.poll(timeoutMs: 0) { ev in
            switch ev {
            case .message(let seq, _), .malformed(let seq, _):
                invariant(seq == next, harness, "sequenced message numbered \(seq), expected \(next)")
                next = seq + 1
            case .endOfSession, .disconnected: ended = true
            }
        }
        invariant(!loggedIn || client.nextSequence == next, harness, "nextSequence \(client.nextSequence), but the last message delivered was \(next - 1)")
        if !input.slowPeer { Loopback.drain(fd) }
    }
    if loggedIn {
        poll()
        for (_, bytes) in segments.dropFirst() {
            Loopback.write(fd, bytes)
            poll()
            if input.mode & 1 != 0 && client.soup.isConnected {
                st.orders += 1
                let o = cw_ouch_enter.limit(token: "T\(st.orders)", stock: "AAPL", side: "B", shares: 100, price: 1_872_500)
                do { try client.enter(o) } catch {}
            }
        }
    }
    close(fd)
    for _ in 0..<3 where client.soup.isConnected { poll() }
    invariant(!client.soup.isConnected, harness, "the client is still connected after the venue closed (ended: \(ended))")
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_ouch_client_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

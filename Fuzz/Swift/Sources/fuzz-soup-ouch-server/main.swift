// fuzz-soup-ouch-server: hostile client bytes into the SoupBinTCP server with OUCH 4.2 and the
// venue behind it. One or two clients connect to a real `SimVenue`'s OUCH port (see
// FuzzSupport/SimDriver.swift) and write the payload: SoupServer accept / login / logout /
// heartbeat / client packet limits / replay of a user's stream, OuchServer decoding Enter,
// Replace, Cancel, Modify into SimOuchEntry, the venue's matching, the OUCH answers sequenced
// per user, ITCH out, and cancel on disconnect. With two connections (flag bit 4) segments
// alternate between them (a second login of one user, two users trading with each other).
// Invariants: books ordered and never crossed; no live order once the clients are gone.
import FuzzSupport

let harness = "fuzz-soup-ouch-server"
nonisolated(unsafe) var driver: SimDriver?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    if driver == nil { driver = SimDriver(harness: harness, port: .ouch) }
    driver!.run(StreamInput(data, size))
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_soup_ouch_server_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

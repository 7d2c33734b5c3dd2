// fuzz-executions: hostile venue answers into OmniOrders (issue 12 item 7). No socket: the
// input's bytes are OUCH 4.2 outbound payloads (Accepted, Replaced, Canceled, AIQ Canceled,
// Executed, Rejected, Cancel Reject, and whatever else decodes or not) or FIX 4.4
// ExecutionReports / OrderCancelRejects, decoded by the same code our order entries use
// (`OuchAnswers.receive`: `OuchClient.decode` then the translation `OuchOrderEntry.poll` runs;
// `cw_fix_parse` then `FixReports.report`, what `FixOrderEntry`'s session calls), and applied
// to an OrderLedger that has four orders of ours entered and registered first. The input's
// layout (byte 0: protocol, FIX framing, cancel / replace pending) is written at the top of
// Tests/ExecutionCheck/ExecutionCheck.swift, the check this harness shares with
// OmniGatewayTests' seeded run.
// Invariants, after every input: no trap; each open order's cumQty ≤ its size and cumQty +
// leaves ≤ its size; each (strategy, instrument) position equals the signed sum of the distinct
// executions; a duplicate execution never moves a position; the ledger's counters add up to
// the events applied, and messages = events + malformed + unmatched + framing faults + queue drops.
import ExecutionCheck
import FuzzSupport

let harness = "fuzz-executions"

nonisolated(unsafe) var check: ExecutionCheck?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    if check == nil { check = ExecutionCheck() }
    if let broken = check!.run(UnsafeRawBufferPointer(start: data, count: size)) {
        invariant(false, harness, broken)
    }
    return 0
}

/// The program's entry (SwiftPM links main to it): libFuzzer's driver with the callback above.
@_cdecl("fuzz_executions_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}

import ArgumentParser
import OmniBench

/// `omni bench decision-path`: the trading loop's decision path on one pinned core, book update
/// to order encoded (OmniBench.DecisionPath), one pass per ITCH message, each pass timed with the
/// TSC. Under callgrind (Benchmarks/decision-path-instructions.sh) the same passes give the
/// instruction count per pass that make test holds to its budget.
struct BenchDecision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decision-path",
        abstract: "Book update -> strategy -> pre-trade risk -> OUCH encoded, per ITCH message, on one core.",
        discussion: """
        Each pass: one ITCH message (an Add Order or a Delete that moves AAPL's touch a tick) through \
        CWire's checks and CBook, the BBO sink marking the board, then TradingLoop.pass: the \
        inventory-skew quoter, PreTradeCheck on each request, OUCH 4.2 Replace Orders encoded with \
        their SoupBinTCP headers into a buffer (no socket), the venue's answers applied at once to \
        the ledger and risk. --warm-up passes first, unmeasured; then --passes, each timed alone \
        (rdtscp-fenced TSC, 10 ns steps on this VM kind, the fences' own cost included). Two \
        figures per pass: the decision, from the message's arrival to the pass's orders encoded \
        (the order entry's flush: what the issue's 300 ns goal counts), and the whole pass, the \
        venue's answers decoded and applied to the ledger and risk after it.
        """
    )

    @Option(help: "Passes measured.") var passes = 1_000_000
    @Option(name: .customLong("warm-up"), help: "Passes before measuring.") var warmUp = 10_000
    @Option(help: "The core to pin to (default: the last online core; 'off': not pinned).") var core: String?
    @Flag(name: .customLong("stage-stamps"), help: "The loop stamps each request's stages, as omni run --stage-stamps does (their cost is in the figures).") var stageStamps = false

    func run() throws { try measureDecisionPath() }
}

extension BenchDecision: DecisionPathOptions {}

import ArgumentParser
import OmniLab

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate ITCH 5.0 day files for demos and benchmarks.",
        subcommands: [GenITCH.self, GenReplicate.self]
    )
}

struct GenITCH: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "itch",
        abstract: "Write a synthetic, valid ITCH 5.0 day file from the venue simulator (symbols SYN00001..., clearly not market data).",
        discussion: """
        The order flow is OmniVenue's zero-intelligence model (Cont, Stoikov & Talreja 2010, \
        OrderFlowModel.quoting: limit orders at 1-10 ticks from the opposite best at rate 1.92/i^0.52 \
        per side, market orders 0.94/s per side, each resting order canceled at 0.47-0.81/s by its \
        distance, 15 % of those cancels made as a move to a fresh distance instead, sizes 100 x n \
        shares) submitted to OmniVenue's matching engine; the file is what the venue publishes: system \
        events (O S Q ... M E C), a stock directory and trading action per symbol, each symbol's \
        opening book (about 36 adds), then A, D, E and U messages (about 46 %, 41 %, 7 % and 6 %). Symbols SYN00001... on locates 1..., reference prices 20.00-500.00 drawn from the \
        seed, tick 0.01, price band +-3 % (the mid stays within about 0.5 % of the reference; the \
        narrow band keeps the venue's per-symbol price ladders small). The flow starts at 09:30:00 at \
        the model's rates, all of them scaled up when --messages would take longer than 6.5 hours at \
        those rates, so the day ends about 16:00. Generation stops at the first event that reaches \
        --messages (the closing M E C included): the count can exceed it by the executions of one \
        market order, or by the header and opening books when those alone are more. The same seed, \
        symbols and messages write the same file.
        """
    )

    @Argument(help: "Output day file.")
    var out: String

    @Option(help: "Instruments (1...65535).")
    var symbols: Int = 500

    @Option(help: "Messages in all (at least; see above).")
    var messages: Int = 1_000_000

    @Option(help: "Random seed (order flow and reference prices).")
    var seed: UInt64 = 1

    func validate() throws {
        guard (1...65535).contains(symbols) else { throw ValidationError("--symbols must be 1...65535 (got \(symbols))") }
        guard messages > 0 else { throw ValidationError("--messages must be positive (got \(messages))") }
    }

    func run() throws { try writeSyntheticDay() }
}

extension GenITCH: SyntheticDayOptions {}

struct GenReplicate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Write a large day file by replicating the order flow of real ITCH files across many symbols.",
        discussion: """
        Each block replays the sources' order messages (A F E C X D U P Q) once per copy, copy \
        after copy interleaved, each copy on its own locate, with dense increasing order refs. \
        Messages naming orders the sources never added are left out; orders the sources leave \
        resting are deleted at the end of each block so state stays bounded, as on a real day.

        The file opens with a stock directory (R) for each locate in use: copy 0 keeps the \
        source's symbol (name the sources' R messages, for instance with the first1000 file), \
        copy c its first letters and c (AAPL3); a name taken already or never given becomes Z \
        and the locate. --symbols N stops at N locates (the last copy cut short); without it, \
        as many whole copies as 65,535 locates hold.

        --sim-config and --run-config write the two sides' instrument lists for a trading run \
        on the file: `omni sim --config` (each instrument at its source's first order price, \
        band 20 %, tick 0.01, or 0.0001 under $1, no order flow of its own) and \
        `omni run --config` (each instrument with that tick, the other parameters the \
        defaults). Instruments whose sources add no order (trades only) have no price and are \
        left out of both.
        """
    )

    @Argument(help: "Output day file.")
    var out: String

    @Option(name: .customLong("from"), parsing: .upToNextOption, help: "Source ITCH day files (real data).")
    var sources: [String]

    @Option(help: "Messages in all.")
    var messages: Int = 10_000_000

    @Option(help: "Instruments (locates) in the file, 1 to 65535 (default: as many whole copies as fit).")
    var symbols: Int?

    @Option(name: .customLong("sim-config"), help: "Write an omni sim configuration with the file's instruments to FILE.")
    var simConfig: String?

    @Option(name: .customLong("run-config"), help: "Write an omni run configuration quoting the file's instruments to FILE.")
    var runConfig: String?

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("--from needs at least one ITCH file") }
        guard messages > 0 else { throw ValidationError("--messages must be positive (got \(messages))") }
        if let symbols, !(1...65_535).contains(symbols) { throw ValidationError("--symbols must be 1 to 65535 (got \(symbols))") }
    }

    func run() throws { try writeReplicatedDay() }
}

extension GenReplicate: ReplicatedDayOptions {}

import ArgumentParser
import OmniFeed

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate ITCH 5.0 day files for demos and benchmarks.",
        subcommands: [GenITCH.self, GenReplicate.self]
    )
}

struct GenITCH: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "itch",
        abstract: "Write a synthetic, valid ITCH 5.0 day file (symbols SYN00001..., clearly not market data).",
        discussion: """
        The file holds system events (O, S, Q ... M, E, C), a stock directory, trading actions, \
        then order flow with NASDAQ-like proportions: adds ~46 % (A and F), deletes ~40 %, \
        replaces ~7 %, executes ~4.5 % (E and C), partial cancels ~1 %, hidden trades ~1.5 %. \
        The same seed writes the same file.
        """
    )

    @Argument(help: "Output day file.")
    var out: String

    @Option(help: "Instruments (1...65535).")
    var symbols: Int = 500

    @Option(help: "Messages in all.")
    var messages: Int = 1_000_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (1...65535).contains(symbols) else { throw ValidationError("--symbols must be 1...65535 (got \(symbols))") }
        guard messages > 0 else { throw ValidationError("--messages must be positive (got \(messages))") }
    }

    func run() throws {
        let writer = try FileWriter(path: out)
        var progress = Progress("gen itch")
        let start = monotonicNanoseconds()
        try SyntheticDay(symbols: symbols, messages: messages, seed: seed).write(to: writer) { n in
            progress.update("\(grouped(UInt64(n))) of \(grouped(UInt64(messages))) messages")
        }
        progress.finish()
        let secs = Double(monotonicNanoseconds() - start) / 1e9
        print("wrote \(out): synthetic ITCH 5.0, \(symbols) symbols, seed \(seed), \(grouped(UInt64(writer.bytesWritten))) bytes in \(fixed(secs, 2)) s")
    }
}

struct GenReplicate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Write a large day file by replicating the order flow of real ITCH files across many symbols.",
        discussion: """
        Each block replays the sources' order messages (A F E C X D U P Q) once per copy, copy \
        after copy interleaved, each copy on its own locate, with dense increasing order refs. \
        Messages naming orders the sources never added are left out; orders the sources leave \
        resting are deleted at the end of each block so state stays bounded, as on a real day.
        """
    )

    @Argument(help: "Output day file.")
    var out: String

    @Option(name: .customLong("from"), parsing: .upToNextOption, help: "Source ITCH day files (real data).")
    var sources: [String]

    @Option(help: "Messages in all.")
    var messages: Int = 10_000_000

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("--from needs at least one ITCH file") }
        guard messages > 0 else { throw ValidationError("--messages must be positive (got \(messages))") }
    }

    func run() throws {
        let inputs = try sources.map { try MappedInput(path: $0) }
        let writer = try FileWriter(path: out)
        var progress = Progress("gen replicate")
        let summary = try withExtendedLifetime(inputs) {
            try FixtureFlow(sources: inputs.map(\.bytes), messages: messages).write(to: writer) { n in
                progress.update("\(grouped(UInt64(n))) of \(grouped(UInt64(messages))) messages")
            }
        }
        progress.finish()
        print("wrote \(out): \(grouped(UInt64(summary.written))) messages, \(grouped(UInt64(writer.bytesWritten))) bytes; source flow \(summary.sourceMessages) messages x \(summary.copies) copies per block; \(summary.retiringDeletes) block-end deletes; \(summary.droppedUnknownRefs) source messages naming orders added before the slice left out")
    }
}

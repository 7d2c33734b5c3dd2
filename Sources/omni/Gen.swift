import ArgumentParser
import OmniFeed
import OmniVenue

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
        OrderFlowModel.default: limit orders at 1-10 ticks from the opposite best at rate 1.92/i^0.52 \
        per side, market orders 0.94/s per side, each resting order canceled at 0.47-0.81/s by its \
        distance, sizes 100 x n shares) submitted to OmniVenue's matching engine; the file is what the \
        venue publishes: system events (O S Q ... M E C), a stock directory and trading action per \
        symbol, then A, E and D messages (about 49 %, 7 % and 44 %). Symbols SYN00001... on locates \
        1..., reference prices 20.00-500.00 drawn from the seed, tick 0.01, band +-10 %. The flow \
        starts at 09:30:00 and is sped up (never slowed) so that the messages fill the day to about \
        16:00. Generation stops at the first event that reaches --messages (the closing M E C \
        included), so the count can exceed it by the few executions of one market order. The same \
        seed writes the same file.
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

    func run() throws {
        let writer = try FileWriter(path: out)
        let instruments = InstrumentSpec.synthetic(count: symbols, seed: seed)
        let model = OrderFlowModel.default
        let open: UInt64 = 34_200_000_000_000
        let perSecond = Double(symbols) * model.approximateMessagesPerSecond
        let intensity = max(1, Double(messages) / (6.5 * 3600 * perSecond))
        var flow = OrderFlowGenerator(instruments: instruments, model: model, intensity: intensity, seed: seed, session: 1)
        let venue = Venue(instruments: instruments, config: VenueConfig(maxOrders: flow.capacity + 1, maxSessions: 2),
                          events: NoVenueEvents(), feed: DayFileBuffer(capacity: 8 << 20))
        defer { venue.feed.deallocate() }
        func drain() throws {
            guard venue.feed.overflowed == 0 else { throw GenError(description: "gen itch: venue output buffer overflowed") }
            try writer.write(venue.feed.bytes)
            venue.feed.reset()
        }
        var progress = Progress("gen itch")
        let start = monotonicNanoseconds()
        venue.now = open
        venue.open()
        // Slices of venue time worth ~4,096 messages; the last ones an event at a time to stop on the count.
        let slice = max(UInt64(4096 / (perSecond * intensity) * 1e9), 1)
        let target = UInt64(max(messages - 3, 0))
        var until = open
        while venue.feed.messages < target {
            until = target - venue.feed.messages > 8192 ? until + slice : flow.nextEventNs
            _ = flow.run(until: until, on: venue)
            try drain()
            progress.update("\(grouped(venue.feed.messages)) of \(grouped(UInt64(messages))) messages")
        }
        venue.close()
        try drain()
        try writer.flush()
        progress.finish()
        let secs = Double(monotonicNanoseconds() - start) / 1e9
        let s = flow.stats
        let opsPerSecond = Double(s.operations) / secs
        let day = venue.now - open
        print("wrote \(out): ITCH 5.0 from the venue simulator, \(symbols) symbols, seed \(seed), \(grouped(venue.feed.messages)) messages, \(grouped(UInt64(writer.bytesWritten))) bytes in \(fixed(secs, 2)) s")
        print("order flow: \(grouped(s.operations)) venue operations (\(grouped(UInt64(opsPerSecond))) /s, \(grouped(UInt64(Double(venue.feed.messages) / secs))) messages/s), \(grouped(s.limitOrders + s.bootstrapOrders)) limit, \(grouped(s.marketBuys + s.marketSells)) market, \(grouped(s.cancels)) cancels; \(s.rejected) rejected; intensity \(fixed(intensity, 2)), venue time 09:30:00 + \(fixed(Double(day) / 1e9, 1)) s")
    }
}

struct GenError: Error, CustomStringConvertible {
    let description: String
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

import CSys
import OmniCore
import OmniEngine
import OmniFeed
import OmniVenue

/// What `omni gen itch` is given: the output file, instruments, messages and the seed.
public protocol SyntheticDayOptions {
    var out: String { get }
    var symbols: Int { get }
    var messages: Int { get }
    var seed: UInt64 { get }
}

extension SyntheticDayOptions {
    /// `omni gen itch`: the venue simulator's day written to `out`, a summary printed.
    public func writeSyntheticDay() throws {
        let writer = try FileWriter(path: out)
        let instruments = InstrumentSpec.synthetic(count: symbols, seed: seed, bandBasisPoints: 300)
        let model = OrderFlowModel.quoting
        let open: UInt64 = 34_200_000_000_000
        let perSecond = Double(symbols) * model.approximateMessagesPerSecond
        let intensity = max(1, Double(messages) / (6.5 * 3600 * perSecond))
        var flow = OrderFlowGenerator(instruments: instruments, model: model, intensity: intensity, seed: seed, session: 1)
        let venue = Venue(instruments: instruments, config: VenueConfig(maxOrders: flow.capacity + 1, maxSessions: 2),
                          events: NoVenueEvents(), feed: DayFileSink(writer: writer))
        func check() throws { if let e = venue.feed.error { throw e } }
        var progress = Progress("gen itch")
        let start = csys_monotonic_ns()
        venue.now = open
        venue.open()
        // Slices of venue time worth ~4,096 messages; the last ones an event at a time to stop on the count.
        let slice = max(UInt64(4096 / (perSecond * intensity) * 1e9), 1)
        let target = UInt64(max(messages - 3, 0))
        var until = open
        if venue.feed.messages < target { _ = flow.run(until: open, on: venue) }  // the opening books; nextEventNs is set from here on
        while venue.feed.messages < target {
            until = target - venue.feed.messages > 8192 ? until + slice : flow.nextEventNs
            _ = flow.run(until: until, on: venue)
            try check()
            progress.update("\(grouped(venue.feed.messages)) of \(grouped(UInt64(messages))) messages")
        }
        venue.close()
        try check()
        try writer.flush()
        progress.finish()
        let secs = Double(csys_monotonic_ns() - start) / 1e9
        let s = flow.stats
        let opsPerSecond = Double(s.operations) / secs
        let day = venue.now - open
        print("wrote \(out): ITCH 5.0 from the venue simulator, \(symbols) symbols, seed \(seed), \(grouped(venue.feed.messages)) messages, \(grouped(UInt64(writer.bytesWritten))) bytes in \(fixed(secs, 2)) s")
        print("order flow: \(grouped(s.operations)) venue operations (\(grouped(UInt64(opsPerSecond))) /s, \(grouped(UInt64(Double(venue.feed.messages) / secs))) messages/s), \(grouped(s.limitOrders + s.bootstrapOrders)) limit, \(grouped(s.marketBuys + s.marketSells)) market, \(grouped(s.cancels)) cancels, \(grouped(s.replaces)) replaces; \(s.rejected) rejected, \(s.outsideBand) limit orders outside the band not sent; intensity \(fixed(intensity, 2)), venue time 09:30:00 + \(fixed(Double(day) / 1e9, 1)) s")
    }
}

/// The venue's ITCH straight into the day file. ITCHSink cannot throw: the first write error is kept
/// and later messages dropped; the caller checks `error` after each batch.
struct DayFileSink: ITCHSink {
    let writer: FileWriter
    var messages: UInt64 = 0
    var error: (any Error)?

    mutating func itch(_ m: UnsafePointer<UInt8>, _ length: Int) {
        guard error == nil else { return }
        do {
            try writer.writeDayFileRecord(UnsafeRawBufferPointer(start: m, count: length))
            messages += 1
        } catch let e {
            error = e
        }
    }
}

/// What `omni gen replicate` is given: the output file, the real day files, messages, locates and
/// the configurations to write.
public protocol ReplicatedDayOptions {
    var out: String { get }
    var sources: [String] { get }
    var messages: Int { get }
    var symbols: Int? { get }
    var simConfig: String? { get }
    var runConfig: String? { get }
}

extension ReplicatedDayOptions {
    /// `omni gen replicate`: the replicated day written to `out`, with the sim and run configurations asked for.
    public func writeReplicatedDay() throws {
        let inputs = try sources.map { try MappedInput(path: $0) }
        let writer = try FileWriter(path: out)
        var progress = Progress("gen replicate")
        let summary = try withExtendedLifetime(inputs) {
            try FixtureFlow(sources: inputs.map(\.bytes), messages: messages, symbols: symbols).write(to: writer) { n in
                progress.update("\(grouped(UInt64(n))) of \(grouped(UInt64(messages))) messages")
            }
        }
        progress.finish()
        print("wrote \(out): \(grouped(UInt64(summary.written))) messages, \(grouped(UInt64(writer.bytesWritten))) bytes; \(summary.instruments.count) instruments in the stock directory; source flow \(summary.sourceMessages) messages x \(summary.copies) copies per block; \(summary.retiringDeletes) block-end deletes; \(summary.droppedUnknownRefs) source messages naming orders added before the slice left out")
        let priced = summary.instruments.filter { $0.firstPrice > 0 }
        func tick(_ i: FixtureFlow.Instrument) -> String { i.firstPrice >= 10_000 ? "0.01" : "0.0001" }
        if let path = simConfig {
            try writeTextFile(path, (["# omni gen replicate: the venue for \(out)'s \(priced.count) priced instruments, no order flow of its own",
                                      "generator: off", "instruments:"]
                                     + priced.map { "  - symbol: \($0.symbol)\n    price: \(Price(raw: Int64($0.firstPrice)))\n    tick: \(tick($0))\n    band: 20%" })
                .joined(separator: "\n"))
            print("wrote \(path): omni sim --config, \(priced.count) instruments")
        }
        if let path = runConfig {
            try writeTextFile(path, (["# omni gen replicate: quote \(out)'s \(priced.count) priced instruments (the other parameters the defaults)", "instruments:"]
                                     + priced.map { "  - symbol: \($0.symbol)\n    tick: \(tick($0))" })
                .joined(separator: "\n"))
            print("wrote \(path): omni run --config, \(priced.count) instruments")
        }
    }
}

import ArgumentParser

@main
struct Omni: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni",
        abstract: "OmniAlpha: a low-latency trading core: market data, books, a venue simulator, a market maker.",
        subcommands: [Replay.self, Gen.self, Bench.self, Publish.self, Listen.self, Sim.self, Run.self, Ctl.self]
    )
}

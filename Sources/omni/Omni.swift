import ArgumentParser

@main
struct Omni: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni",
        abstract: "OmniAlpha: low-latency market data and order books.",
        subcommands: [Replay.self, Gen.self, Bench.self, Publish.self, Listen.self, Sim.self]
    )
}

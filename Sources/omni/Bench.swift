import ArgumentParser
import OmniBench

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure hot-path components on pinned cores.",
        subcommands: [BenchRing.self, BenchPipeline.self, BenchFeed.self, BenchDecision.self, BenchTickToTrade.self, BenchControl.self, BenchNetReceive.self]
    )
}

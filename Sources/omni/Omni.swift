import ArgumentParser
import CSys
import OmniCore

@main
struct Omni: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni",
        abstract: "OmniAlpha: a low-latency trading core: market data, books, a venue simulator, a market maker.",
        subcommands: [Replay.self, Gen.self, Bench.self, Publish.self, Listen.self, Sim.self, Run.self, Ctl.self]
    )

    /// Our log handler for every Logger of the process (OMNI_LOG_LEVEL, OMNI_LOG_FORMAT), then the command.
    static func main() {
        LogLines.bootstrap(now: { csys_realtime_ns() })
        main(nil)
    }
}

/// Runs a module's side of a command: its CommandError becomes ArgumentParser's (a refusal of
/// the input prints with the usage and exits 64, an exit status ends the tool silently).
func running<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch CommandError.refused(let why) { throw ValidationError(why) } catch CommandError.exit(let status) { throw ExitCode(status) }
}

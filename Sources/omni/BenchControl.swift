import ArgumentParser
import OmniBench

/// `omni bench control`: command -> applied latency of the control plane. The trading loop runs on
/// its pinned core over the in-process venue, as `omni run` drives it (commands drained before each
/// pass, the snapshot published after); the control plane's side, on the other cores, sends
/// SET_PARAM commands through the ring one at a time and, after them, PUT requests over HTTP.
struct BenchControl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Control plane command -> applied in the trading loop: through the ring, and over HTTP.",
        discussion: """
        push -> applied: from the TSC the control plane stamped on the command as it pushed it to \
        the TSC the loop stamped right after applying it (the acknowledgement's hop[0]). push -> \
        ack read: to the control plane reading the acknowledgement (CommandLink polls every 20 us). \
        HTTP: omni ctl's client sending PUT /v1/instruments/AAPL/params to the 200 with the version. \
        Each command changes AAPL's spread_ticks (2, 3, 2, ...), so the loop requotes at the venue. \
        --idle-ns: the loop sleeps this long every 64 idle iterations, as omni run's socket feed \
        does (200000); 0 busy-polls.

        --store-fills N: instead, the control store's write rate for fills: N fill rows one \
        transaction each, then N rows in transactions of --store-batch; rows per second of each. \
        The store: a new SQLite file under $TMPDIR (GRDB, WAL, synchronous=NORMAL), or \
        --control-store's (a SQLite PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB, migrated \
        first; the bench's rows stay there, as run "bench-PID": give it a database of its own).
        """
    )

    @Option(help: "Commands sent through the ring.") var count = 10_000
    @Option(name: .customLong("interval-us"), help: "Microseconds between one command's acknowledgement and the next.") var intervalUs = 100
    @Option(help: "HTTP requests after the ring's commands.") var http = 1_000
    @Option(name: .customLong("idle-ns"), help: "The loop's sleep every 64 idle iterations (omni run's socket feed: 200000).") var idleNs = 0
    @Option(help: "The loop's core (default: the last online core).") var core: Int?
    @Option(name: .customLong("store-fills"), help: "Measure the control store's fill writes instead: this many rows per mode.") var storeFills = 0
    @Option(name: .customLong("store-batch"), help: "Fill rows per transaction in --store-fills' batched mode.") var storeBatch = 100
    @Option(name: .customLong("control-store"), help: "--store-fills' store: a SQLite PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (default: a new SQLite file under $TMPDIR).") var controlStore: String?

    func run() throws {
        guard storeBatch > 0 else { throw ValidationError("--store-batch must be positive") }
        if storeFills > 0 { try measureStoreWrites(fills: storeFills, batch: storeBatch, store: controlStore) } else { try measureControl() }
    }
}

extension BenchControl: ControlBenchOptions {}

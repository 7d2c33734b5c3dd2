import ArgumentParser
import OmniCore
import OmniFeed

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay an ITCH 5.0 day file, or a pcap / pcapng capture of IEX-TP or MoldUDP64, and print a summary.",
        discussion: """
        FILE is a NASDAQ TotalView-ITCH 5.0 day file in its usual framing, [u16 big-endian \
        length][message] repeated, plain or gzip-compressed (.gz). The file is memory-mapped \
        (or inflated into memory) first; the replay rate covers the replay loop alone.

        --bbo-csv writes locate,bid_px,bid_sz,ask_px,ask_sz (no header), one row each time the \
        best bid or offer of a symbol changes in price or size after a message; prices in ITCH \
        units (1/10000 dollar), an empty side as 0,0.

        --depth-csv writes the books at the end of the replay: \
        locate,symbol,side,level,price,shares,orders with level 1 the best.

        A packet capture (classic pcap or pcapng, plain or .gz, told by its magic number, not its \
        name) is walked frame by frame down to UDP: IEX-TP segments (IEX DEEP 1.0, TOPS 1.6) are \
        counted by message type with sequence checks; MoldUDP64 packets carrying ITCH 5.0 go \
        through the books as above (--symbols, --bbo-csv and --depth-csv apply to them).

        --from-ring NAME takes the decode from another process (the FPGA decoder kernel's \
        Verilator model, Hardware/): its omni_event records (OMNI_EV_ITCH) arrive through the \
        shared-memory ring NAME (/NAME is /dev/shm/NAME) and go through the books as above, until \
        its stop event; FILE is then the payload buffer the records point into: the MoldUDP64 \
        packets as received, back to back.

        Example: omni replay 12302019.NASDAQ_ITCH50.gz --symbols AAPL,MSFT --bbo-csv bbo.csv
        Example: omni replay DEEP10.pcap.gz
        """
    )

    @Argument(help: "ITCH 5.0 day file, or a pcap / pcapng capture (plain or .gz); with --from-ring, the payload buffer.")
    var file: String

    @Option(name: .customLong("from-ring"), help: "Take decoded ITCH events from this shared-memory ring (see above).")
    var fromRing: String?

    @Option(help: "Build books only for these symbols (comma-separated); needs the file's stock directory (R) messages.")
    var symbols: String?

    @Option(name: .customLong("bbo-csv"), help: "Write every BBO change to this CSV file.")
    var bboCSV: String?

    @Option(name: .customLong("depth-csv"), help: "Write the final depth of every book to this CSV file.")
    var depthCSV: String?

    @Option(help: "Levels per side in --depth-csv.")
    var depth: Int = 10

    @Flag(help: "Also print book-kernel counters and memory per live order.")
    var stats = false

    func validate() throws {
        guard depth > 0 else { throw ValidationError("--depth must be at least 1 (got \(depth))") }
        if depthCSV == nil && depth != 10 { throw ValidationError("--depth needs --depth-csv") }
        if let symbols {
            for s in symbols.split(separator: ",", omittingEmptySubsequences: false) where Symbol(s) == nil {
                throw ValidationError("--symbols: '\(s)' is not a symbol (1 to 8 printable ASCII characters)")
            }
        }
    }

    func run() throws { try replay() }
}

extension Replay: ReplayOptions {}

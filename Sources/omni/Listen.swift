import ArgumentParser
import CSys
import OmniBook
import OmniCore
import OmniDpdk
import OmniEngine
import OmniFeed
import OmniFeedDpdk
import OmniNet

struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive a MoldUDP64 ITCH feed (line A, optional line B) into order books, recovering gaps by A/B arbitration and retransmission.",
        discussion: """
        Every datagram of line A and B goes to one MoldUDP64 session: first arrival wins, \
        messages reach the books once and in order. A gap neither line fills within \
        --request-delay-us is asked for from --retransmit (HOST:PORT, unicast); a gap still \
        missing after the retries is declared lost: the session and the books turn stale \
        ("books stale: yes" in the summary). Stops at SIGINT/SIGTERM, at --seconds, or with \
        --until-end once the end of session is delivered.

        Receive-to-book latency: TSC read when the receive batch returns to TSC after the book \
        update of each message, into a histogram; converted to ns at the end.

        Example: omni listen --group 239.1.1.1:30001 --line-b 239.1.1.2:30002 --retransmit 127.0.0.1:30100 --until-end
        """
    )

    enum Via: String, ExpressibleByArgument, CaseIterable {
        case socket, io_uring, dpdk
    }

    @Option(help: "Line A group, ADDRESS:PORT.") var group: String
    @Option(name: .customLong("line-b"), help: "Line B group, ADDRESS:PORT.") var lineB: String?
    @Option(help: "Retransmission server, HOST:PORT.") var retransmit: String?
    @Option(help: "Receive path: socket (recvmmsg), io_uring or dpdk.") var via: Via = .socket
    @Option(help: "Interface name or IPv4 address to receive on.") var interface: String = "127.0.0.1"
    @Option(name: .customLong("bbo-csv"), help: "Write every BBO change to this CSV file (as omni replay --bbo-csv).") var bboCSV: String?
    @Flag(name: .customLong("until-end"), help: "Stop once the end of session is delivered.") var untilEnd = false
    @Option(help: "Stop after this many seconds.") var seconds: Double?
    @Option(name: .customLong("request-delay-us"), help: "Time a gap is left to the other line before a request (default 1000 with --line-b, else 0).")
    var requestDelayUs: UInt64?
    @Option(help: "Session to accept (default: the first seen).") var session: String?
    @Flag(help: "Also print book-kernel counters and memory.") var stats = false
    @Flag(name: .customLong("io-uring-defer"), help: "--via io_uring: DEFER_TASKRUN, the kernel copies datagrams only when a burst finds none waiting, instead of whenever it flags pending work (the default).")
    var ioUringDefer = false
    @Option(name: .customLong("dpdk-vdev"), help: "--via dpdk: the EAL vdev to receive from (default net_pcap0,iface=<the interface's name>: a live capture of it). net_af_packet0,iface=NAME skips libpcap's block buffering (lower latency) but on lo delivers every frame twice, out and in: the copies count as duplicates.")
    var dpdkVdev: String?
    @Option(name: .customLong("dpdk-core"), help: "--via dpdk: the core EAL pins this thread to.") var dpdkCore = 0
    @Option(name: .customLong("huge-pages"), help: ArgumentHelp("--via dpdk: " + HugePageChoice.text)) var hugePages: HugePageChoice = .auto

    func validate() throws {
        try running {
            _ = try parseGroup(group, interface: interface, option: "--group")
            if let lineB { _ = try parseGroup(lineB, interface: interface, option: "--line-b") }
            if let retransmit { _ = try parseEndpoint(retransmit, option: "--retransmit") }
        }
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
    }

    func run() throws { try running { try listen() } }

    private func listen() throws {
        _ = StopSignals.install()
        let books = try Books()
        let replay = ITCHReplay(books: books)
        if let bboCSV {
            var sink = BBOCSVSink(out: try FileWriter(path: bboCSV))
            try listen(replay, sink: sink) { sink = $0 }
            try sink.out.flush()
            if let error = sink.error { throw error }
        } else {
            try listen(replay, sink: NoBBOSink()) { _ in }
        }
    }

    private func listen<Sink: BBOSink>(_ replay: ITCHReplay, sink: Sink, done: (Sink) -> Void) throws {
        let config = try listenerConfig()
        let a = try parseGroup(group, interface: interface, option: "--group")
        let b = try lineB.map { try parseGroup($0, interface: interface, option: "--line-b") }
        var listener = try MoldListener(config, replay: replay, sink: sink)
        let start = csys_monotonic_ns()
        let deadline = seconds.map { start + UInt64($0 * 1e9) }
        let stop = { StopSignals.received != 0 }
        var dpdkNote: String?
        switch via {
        case .socket: try receive(&listener, a, b, deadline, stop) { g throws(NetError) in try MulticastReceiver<SocketBackend>(g) }
        case .io_uring:
            var options = ReceiveOptions()
            options.deferTaskRun = ioUringDefer
            try receive(&listener, a, b, deadline, stop) { g throws(NetError) in try MulticastReceiver<IoUringBackend>(g, options: options) }
        case .dpdk:
            let vdev = try dpdkVdev ?? "net_pcap0,iface=\(interfaceName(interface))"
            var eal = EALOptions(cores: String(dpdkCore), memoryMB: 256, vdevs: [vdev])
            let memoryLine = try HugePageChoice.apply(hugePages, to: &eal)
            try EAL.start(eal)
            let port = try DpdkPort(id: 0)
            let k = try listener.runDpdk(port: port, lineA: try parseEndpoint(group, option: "--group"),
                                         lineB: try lineB.map { try parseEndpoint($0, option: "--line-b") },
                                         untilEnd: untilEnd, deadlineNs: deadline, stop: stop)
            dpdkNote = "dpdk        \(port.name) (\(vdev)): \(grouped(k.frames)) frames, \(grouped(k.otherUDP)) other UDP, \(grouped(k.notUDP)) not UDP\(k.notUDPByCause.isEmpty ? "" : " (" + k.notUDPByCause.map { "\($0.cause) \(grouped($0.frames))" }.joined(separator: ", ") + ")")\neal         \(memoryLine)"
        }
        let elapsed = csys_monotonic_ns() - start
        done(listener.consumer.itch.sink)
        print(listenSummary(listener, via: via.rawValue, elapsed: elapsed))
        if let dpdkNote { print(dpdkNote) }
    }
}

extension Listen: ListenOptions {}

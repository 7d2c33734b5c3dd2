import ArgumentParser
import OmniBench

/// `omni bench tick-to-trade`: Onload's trade_sim method on one machine. The venue (`omni sim
/// --triggers`, busy-polling on its own core) publishes open-loop triggers, each a move of the
/// best offer, and stamps the order that answers it; the trader (`omni run --strategy trigger`,
/// pinned to another core) answers through the same feed -> book -> strategy -> risk -> OUCH code
/// as the market maker. One configuration per receive path and rate, the paths alternating
/// within each round; the venue's figures are reported per configuration with the trader's
/// in-process figure beside them.
struct BenchTickToTrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tick-to-trade",
        abstract: "The venue stamps its trigger and the order that answers it: kernel UDP, io_uring and DPDK receive paths side by side.",
        discussion: """
        Definition: from each trigger's scheduled time (open loop: trigger k is due at start + k / rate \
        whatever happened before, so a slow answer never delays the measurement of the next: no \
        coordinated omission) to the venue's loop reading the order that answers it; both stamps are \
        the venue's TSC, on its thread. The trigger is a MoldUDP64 packet holding one ITCH Order \
        Replace that moves the best offer a tick on a 64-tick ladder; the answer is a bid 80 ticks \
        under the new offer (its price names the trigger). Orders travel over kernel TCP (OUCH 4.2 \
        on SoupBinTCP), leaving the trader by the order path named: send (send(2) per pass), \
        io_uring (SQPOLL: a kernel thread takes each send off the ring, no syscall per order; that \
        thread spins on a core of its own, --sqpoll-core, else where the scheduler puts it) or \
        busy-poll (send(2), and SO_BUSY_POLL of 50 µs on the trader's feed sockets and order \
        connection and on the venue's order connection: it spins only on a NAPI device's queue, \
        which loopback does not have, so only the -veth paths can show it); the market data over \
        the receive path named. --background replays a real ITCH file's order messages into the \
        same feed at a multiple of their recorded rate, on locates of their own, with the triggers \
        inserted (omni sim --background): the trader receives, decodes and books all of it. No NIC and no wire: both processes \
        share this host's loopback (a real wire adds its serialisation and the switch). Paths \
        socket-veth and io_uring-veth put the venue and the trader in two network namespaces of \
        their own (omni-t2t-venue, omni-t2t-trader, made for the run and deleted after; root), \
        joined by a veth pair (10.79.0.1 and 10.79.0.2): the market data and the orders then cross \
        a (virtual) wire and both kernels' IP stacks instead of loopback. Path dpdk receives \
        through net_af_packet on lo (libpcap's block buffering would add milliseconds); path memif \
        is kernel bypass on both sides: the venue sends line A through its own DPDK port \
        (omni sim --dpdk-vdev, net_memif server) and the trader receives it with DPDK (net_memif \
        client) over shared memory, no kernel in the market data's way. The venue's \
        own lateness (trigger due -> its packet handed to the socket) is in every figure and reported \
        apart as the send lag; a venue more than 50 µs late at p50, or more than 20 % of the CPUs busy \
        in the second before the runs, is reported as a host too busy to measure. --plot: an SVG of every configuration's \
        percentile curve (dashed: the higher rates). Unanswered: triggers the trader coalesced with a later one (both in one receive \
        batch) or answered too late to tell. The trader's in-process figure (batch received -> \
        request handed to the socket) comes from its summary.
        """
    )

    @Option(help: "Triggers per second, comma separated.") var rates = "1000,10000"
    @Option(help: "Triggers per configuration.") var count = 100_000
    @Option(help: "Receive paths, comma separated: socket, io_uring, dpdk, memif, socket-veth, io_uring-veth.") var paths = "socket,io_uring"
    @Option(name: .customLong("order-paths"), help: "Order paths, comma separated: send, io_uring, busy-poll; each receive path runs with each.") var orderPaths = "send"
    @Option(help: "Background flow, comma separated speeds: 0 (none) or a multiple of the real flow's recorded rate (1,8: once at its rate, once eight times faster); each configuration runs with each.") var background = "0"
    @Option(name: .customLong("background-file"), help: "The real flow (an ITCH day file) for --background (default: $OMNI_DATA's NASDAQ 2019-12-30 09:30 open, 1,000 messages).") var backgroundFile: String?
    @Option(name: .customLong("sqpoll-core"), help: "The order path io_uring's kernel thread's core (default: not pinned).") var sqpollCore: Int?
    @Option(help: "Rounds; the paths' order alternates from round to round.") var rounds = 1
    @Option(name: .customLong("venue-core"), help: "The venue's core.") var venueCore = 0
    @Option(name: .customLong("trader-core"), help: "The trader's core (for dpdk: EAL's).") var traderCore = 1
    @Flag(name: .customLong("stage-stamps"), inversion: .prefixedNo,
          help: "The trader stamps each answer's stages (omni run --stage-stamps, about 50 ns more in process) and the report splits its in-process figure by stage.") var stageStamps = true
    @Option(help: "Write one CSV row per configuration to FILE.") var csv: String?
    @Option(help: "Folder for each configuration's HdrHistogram file (PATH-RATE.tick-to-trade.hgrm) and the processes' logs.") var out = "bench-data/tick-to-trade"
    @Option(help: "An SVG of every configuration's percentile curve (default: OUT/tick-to-trade.svg).") var plot: String?

    func run() throws { try measureTickToTrade() }
}

extension BenchTickToTrade: TickToTradeOptions {}

// swift-tools-version: 6.1
import PackageDescription

// C kernels are built at -O3 in every configuration: they are the hot path,
// and debug-built kernels would make `swift test` replays needlessly slow.
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-function"])]

// DPDK 22.11 from Debian's libdpdk-dev. SwiftPM's own pkg-config parser cannot read
// Debian's libdpdk.pc, so the include paths and libraries are named here; only
// CKernels/CDpdk/cdpdk.c sees the rte headers. The drivers (net_pcap, net_null,
// net_ring, net_af_packet, mempool_ring) are plugins EAL loads from its PMD path.
let dpdkFlags: [CSetting] = [.unsafeFlags([
    "-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-function",
    "-isystem", "/usr/include/dpdk",
    "-isystem", "/usr/include/x86_64-linux-gnu/dpdk", "-isystem", "/usr/include/aarch64-linux-gnu/dpdk",
])]
let dpdkLibraries: [LinkerSetting] = ["rte_ethdev", "rte_mbuf", "rte_mempool", "rte_eal"].map { .linkedLibrary($0) }

let package = Package(
    name: "OmniAlpha",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "omni", targets: ["omni"]),
        .library(name: "OmniCore", targets: ["OmniCore"]),
        .library(name: "OmniConfig", targets: ["OmniConfig"]),
        .library(name: "OmniNet", targets: ["OmniNet"]),
        .library(name: "OmniWire", targets: ["OmniWire"]),
        .library(name: "OmniEngine", targets: ["OmniEngine"]),
        .library(name: "OmniBook", targets: ["OmniBook"]),
        .library(name: "OmniFeed", targets: ["OmniFeed"]),
        .library(name: "OmniGateway", targets: ["OmniGateway"]),
        .library(name: "OmniOrders", targets: ["OmniOrders"]),
        // The executions check the fuzz harness fuzz-executions and OmniGatewayTests share.
        .library(name: "ExecutionCheck", targets: ["ExecutionCheck"]),
        .library(name: "OmniVenue", targets: ["OmniVenue"]),
        .library(name: "OmniLab", targets: ["OmniLab"]),
        .library(name: "OmniBench", targets: ["OmniBench"]),
        .library(name: "CWire", targets: ["CWire"]),
        .library(name: "CBook", targets: ["CBook"]),
        .library(name: "CSys", targets: ["CSys"]),
        .library(name: "CEvent", targets: ["CEvent"]),
        .library(name: "CRing", targets: ["CRing"]),
        .library(name: "CNet", targets: ["CNet"]),
        .library(name: "CRisk", targets: ["CRisk"]),
        .library(name: "OmniRisk", targets: ["OmniRisk"]),
        .library(name: "OmniStrategy", targets: ["OmniStrategy"]),
        .library(name: "OmniTrading", targets: ["OmniTrading"]),
        .library(name: "OmniControl", targets: ["OmniControl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The control plane's HTTP server (without swift-configuration support) and bcrypt for its tokens.
        // HummingbirdTLS (its product, on swift-nio-ssl) serves the control plane over HTTPS / WSS when given a certificate.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        // The control plane's live stream (GET /v1/stream): quotes, fills, PnL and alerts over a WebSocket.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // TLS for the control plane's server (through HummingbirdTLS) and for omni ctl's https:// client.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The control plane's store (SQLite through GRDB; Debian's libsqlite3-dev), its audit chain's
        // SHA-256, and its /metrics (swift-metrics, exported in Prometheus' text format).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The control plane's shared store for a fleet (several hosts, one PostgreSQL server).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C kernels: C11, one folder each under CKernels/.
        .target(name: "CWire", dependencies: ["CEvent"], path: "CKernels/CWire", cSettings: kernelFlags),
        // The 64-byte event ABI (omni_event.h): market data, order lifecycle, commands.
        .target(name: "CEvent", path: "CKernels/CEvent", cSettings: kernelFlags),
        .target(name: "CBook", dependencies: ["CWire", "CEvent", "CSys"], path: "CKernels/CBook", cSettings: kernelFlags),
        .systemLibrary(name: "CZlib", path: "CKernels/CZlib"),
        .target(name: "CSys", path: "CKernels/CSys", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("numa"), .linkedLibrary("pthread")]),
        .target(name: "CRing", dependencies: ["CSys", "CEvent"], path: "CKernels/CRing", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("rt")]),
        .target(name: "CNet", dependencies: ["CSys", "CWire"], path: "CKernels/CNet", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("uring")]),
        // Pre-trade risk over CEvent order requests: fail-closed checks, per-check counters, the kill switch.
        .target(name: "CRisk", dependencies: ["CEvent"], path: "CKernels/CRisk", cSettings: kernelFlags),
        .target(name: "CDpdk", dependencies: ["CNet"], path: "CKernels/CDpdk", cSettings: dpdkFlags, linkerSettings: dpdkLibraries),

        // Shared by both sides: types, configuration, sockets, protocol sessions, the engine.
        // Shared types, report lines and the log lines' one handler (swift-log).
        .target(name: "OmniCore", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // The one YAML reader of every configuration file: unknown and duplicate keys refused by name and line.
        .target(name: "OmniConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Every socket: UDP / multicast, io_uring, TCP (one helper), poll sets, pcap writing, namespaces.
        .target(name: "OmniNet", dependencies: ["CNet", "CSys", "OmniCore"]),
        // Protocol sessions and messages: SoupBinTCP link, FIX session and store, FIX order messages.
        .target(name: "OmniWire", dependencies: ["CEvent", "CWire", "CSys", "OmniNet"]),
        .target(name: "OmniEngine", dependencies: [
            "CEvent", "CRing", "CSys", "OmniCore", "OmniConfig",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "OmniDpdk", dependencies: ["CDpdk"]),

        // Our side: market data in, orders out. Never imports OmniVenue.
        .target(name: "OmniBook", dependencies: ["OmniCore", "CBook", "CEvent", "CWire", "CSys"]),
        .target(name: "OmniFeed", dependencies: [
            "OmniCore", "OmniBook", "OmniEngine", "OmniNet", "OmniWire", "CWire", "CBook", "CEvent", "CNet", "CRing", "CSys", "CZlib",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "OmniFeedDpdk", dependencies: ["OmniFeed", "OmniDpdk", "OmniNet", "CNet", "CSys"]),
        .target(name: "OmniGateway", dependencies: ["OmniWire", "OmniNet", "OmniCore", "CEvent", "CWire", "CSys"]),
        // Our orders: the order table and its state machine, fills de-duplicated, positions, PnL, fees.
        .target(name: "OmniOrders", dependencies: ["CEvent", "OmniCore"]),
        // Strategies: what to quote, given the book and our position.
        .target(name: "OmniStrategy"),
        // The trading loop: book change -> strategy -> risk -> orders -> order entry, and `omni run`'s wiring.
        .target(name: "OmniTrading", dependencies: [
            "OmniBook", "OmniConfig", "OmniCore", "OmniEngine", "OmniFeed", "OmniGateway", "OmniNet", "OmniOrders", "OmniRisk", "OmniStrategy", "OmniWire",
            "CEvent", "CRing", "CSys",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The control plane (slow path): HTTP API with roles over the loop's command and acknowledgement
        // rings and its published snapshot; never linked into the loop's hot code.
        .target(name: "OmniControl", dependencies: [
            "OmniConfig", "OmniCore", "OmniEngine", "OmniNet", "OmniRisk", "OmniStrategy", "OmniTrading", "CEvent", "CRing", "CSys",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The Swift face of CRisk: limits by instrument and strategy, PreTradeCheck, verdicts, counters by reason.
        .target(name: "OmniRisk", dependencies: ["CRisk", "CEvent", "OmniCore"]),

        // The venue's side: matching, order-entry servers, the MoldUDP64 publisher, omni sim.
        .target(name: "OmniVenue", dependencies: [
            "OmniCore", "OmniConfig", "OmniNet", "OmniWire", "OmniEngine", "CEvent", "CWire", "CNet", "CSys",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Tools, which may use both sides.
        .target(name: "OmniLab", dependencies: ["OmniCore", "OmniBook", "OmniEngine", "OmniFeed", "OmniNet", "OmniVenue", "CSys", "CWire"]),
        .target(name: "OmniBench", dependencies: [
            "OmniCore", "OmniConfig", "OmniBook", "OmniControl", "OmniFeed", "OmniEngine", "OmniLab", "OmniGateway", "OmniNet", "OmniOrders", "OmniRisk",
            "OmniStrategy", "OmniTrading", "OmniVenue", "OmniWire", "CNet", "CWire", "CBook", "CEvent", "CRing", "CSys",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
        ]),
        // Thin commands: options and help here, each command's run in the module that does it.
        .executableTarget(name: "omni", dependencies: [
            "OmniCore", "OmniFeed", "OmniFeedDpdk", "OmniBook", "OmniEngine", "OmniNet", "OmniDpdk", "OmniVenue",
            "OmniLab", "OmniBench", "OmniControl", "OmniTrading", "CSys", "CWire", "CNet",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "omni-dpdk-probe", dependencies: [
            "OmniDpdk", "CDpdk", "CSys",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Where the suites find ../shared/data (OMNI_DATA), how they skip without it, and their scratch folder.
        .target(name: "SharedTestData", path: "Tests/SharedTestData"),
        // The BBO stream as rows and the reference day-file replay, for the feed-side test targets.
        .target(name: "FeedTestSupport", dependencies: ["SharedTestData", "OmniFeed", "OmniLab", "OmniBook", "OmniCore", "OmniWire", "CWire"], path: "Tests/FeedTestSupport"),
        .target(name: "ExecutionCheck", dependencies: ["OmniGateway", "OmniOrders", "OmniWire", "CEvent", "CWire"], path: "Tests/ExecutionCheck"),
        .testTarget(name: "ArchitectureTests", dependencies: ["SharedTestData"]),
        .testTarget(name: "CWireTests", dependencies: ["CWire", "CEvent", "OmniFeed", "OmniWire"]),
        .testTarget(name: "CEventTests", dependencies: ["CEvent"]),
        .testTarget(name: "CSysTests", dependencies: ["CSys", "SharedTestData"]),
        .testTarget(name: "CRingTests", dependencies: ["SharedTestData", "CEvent", "CRing", "CSys"]),
        .testTarget(name: "CBookTests", dependencies: ["CBook", "CWire", "OmniBook", "OmniCore"]),
        .testTarget(name: "CNetTests", dependencies: ["CNet", "CSys", "OmniNet"]),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "OmniConfigTests", dependencies: ["OmniConfig"]),
        .testTarget(name: "OmniNetTests", dependencies: ["OmniNet", "CNet"]),
        .testTarget(name: "OmniEngineTests", dependencies: ["OmniEngine", "CEvent", "CRing", "CSys"]),
        .testTarget(name: "OmniBookTests", dependencies: ["OmniBook", "OmniCore", "CBook", "CWire"]),
        .testTarget(name: "OmniWireTests", dependencies: ["SharedTestData", "OmniWire"]),
        .testTarget(name: "OmniLabTests", dependencies: ["SharedTestData", "FeedTestSupport", "OmniLab", "OmniFeed", "OmniBook", "OmniCore"]),
        .testTarget(name: "OmniFeedTests", dependencies: [
            "SharedTestData", "FeedTestSupport", "OmniFeed", "OmniBook", "OmniLab", "OmniWire", "OmniVenue", "OmniNet", "OmniCore", "CWire", "CEvent", "CRing", "CSys",
        ]),
        .testTarget(name: "OmniBenchTests", dependencies: [
            "SharedTestData", "FeedTestSupport", "OmniBench", "OmniFeed", "OmniBook", "OmniLab", "OmniEngine", "OmniCore", "CWire", "CEvent", "CRing", "CSys",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .testTarget(name: "OmniDpdkTests", dependencies: ["SharedTestData", "OmniDpdk", "CDpdk", "OmniFeed", "OmniCore"]),
        .testTarget(name: "CRiskTests", dependencies: ["CRisk", "CEvent"]),
        .testTarget(name: "OmniRiskTests", dependencies: ["OmniRisk", "CRisk", "CEvent", "OmniCore"]),
        .testTarget(name: "OmniOrdersTests", dependencies: ["OmniOrders", "OmniCore", "CEvent"]),
        .testTarget(name: "OmniStrategyTests", dependencies: ["OmniStrategy"]),
        .testTarget(name: "OmniTradingTests", dependencies: [
            "SharedTestData", "OmniTrading", "OmniVenue", "OmniOrders", "OmniRisk", "OmniStrategy", "OmniBook", "OmniFeed", "OmniCore", "OmniConfig",
            "OmniGateway", "OmniWire", "OmniEngine", "CEvent", "CSys",
        ]),
        .testTarget(name: "OmniGatewayTests", dependencies: [
            "SharedTestData", "ExecutionCheck", "OmniGateway", "OmniWire", "OmniVenue", "OmniNet", "OmniOrders", "OmniCore", "CEvent", "CWire", "CSys",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .testTarget(name: "OmniVenueTests", dependencies: [
            "SharedTestData", "OmniVenue", "OmniGateway", "OmniWire", "OmniNet", "OmniFeed", "OmniLab", "OmniBook", "OmniCore", "OmniConfig", "OmniOrders",
            "CEvent", "CWire", "CSys",
        ]),
        .testTarget(name: "OmniControlTests", dependencies: [
            "SharedTestData", "OmniControl", "OmniTrading", "OmniVenue", "OmniRisk", "OmniStrategy", "OmniOrders", "OmniBook", "OmniCore", "OmniEngine", "CEvent", "CRing", "CSys",
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // The omni tool's feed commands end to end: listen, publish, replay, against publishers on loopback and in namespaces.
        .testTarget(name: "OmniCommandTests", dependencies: [
            "SharedTestData", "FeedTestSupport", "OmniFeed", "OmniLab", "OmniVenue", "OmniNet", "OmniBook", "OmniCore", "CWire", "CNet", "CSys",
        ]),
    ],
    swiftLanguageModes: [.v6]
)

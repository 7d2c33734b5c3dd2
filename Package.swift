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
        .library(name: "OmniFeed", targets: ["OmniFeed"]),
        .library(name: "OmniBook", targets: ["OmniBook"]),
        .library(name: "OmniEngine", targets: ["OmniEngine"]),
        .library(name: "CWire", targets: ["CWire"]),
        .library(name: "CBook", targets: ["CBook"]),
        .library(name: "CSys", targets: ["CSys"]),
        .library(name: "CEvent", targets: ["CEvent"]),
        .library(name: "CRing", targets: ["CRing"]),
        .library(name: "CNet", targets: ["CNet"]),
        .library(name: "OmniNet", targets: ["OmniNet"]),
        .library(name: "OmniGateway", targets: ["OmniGateway"]),
        .library(name: "OmniVenue", targets: ["OmniVenue"]),
        .library(name: "OmniSim", targets: ["OmniSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "CWire", path: "CKernels/CWire", cSettings: kernelFlags),
        // The 64-byte event ABI (omni_event.h): market data, order lifecycle, commands.
        .target(name: "CEvent", path: "CKernels/CEvent", cSettings: kernelFlags),
        .target(name: "CBook", dependencies: ["CWire", "CEvent"], path: "CKernels/CBook", cSettings: kernelFlags),
        .systemLibrary(name: "CZlib", path: "CKernels/CZlib"),
        .target(name: "CSys", path: "CKernels/CSys", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("numa"), .linkedLibrary("pthread")]),
        .target(name: "CRing", dependencies: ["CSys", "CEvent"], path: "CKernels/CRing", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("rt")]),
        .target(name: "CNet", dependencies: ["CSys", "CWire"], path: "CKernels/CNet", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("uring")]),
        .target(name: "CDpdk", dependencies: ["CNet"], path: "CKernels/CDpdk", cSettings: dpdkFlags, linkerSettings: dpdkLibraries),
        .target(name: "OmniCore"),
        // The one YAML reader of every configuration file: unknown and duplicate keys refused by name and line.
        .target(name: "OmniConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        .testTarget(name: "OmniConfigTests", dependencies: ["OmniConfig"]),
        .target(name: "OmniBook", dependencies: ["OmniCore", "CBook", "CEvent", "CWire"]),
        .target(name: "OmniFeed", dependencies: ["OmniCore", "OmniBook", "OmniEngine", "CWire", "CBook", "CNet", "CEvent", "CRing", "CSys", "CZlib"]),
        .target(name: "OmniEngine", dependencies: [
            "CEvent", "CRing", "CSys", "OmniCore", "OmniConfig",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "OmniGateway", dependencies: ["CWire", "CSys"]),
        .target(name: "OmniVenue", dependencies: ["OmniCore", "CWire"]),
        .executableTarget(name: "omni", dependencies: [
            "OmniCore", "OmniConfig", "OmniFeed", "OmniBook", "OmniEngine", "CRing", "CSys", "OmniMoldNet", "OmniNet", "CWire", "OmniDpdk", "OmniSim", "OmniVenue",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "OmniDpdk", dependencies: ["CDpdk"]),
        .executableTarget(name: "omni-dpdk-probe", dependencies: [
            "OmniDpdk", "CDpdk", "CSys",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CWireTests", dependencies: ["CWire", "OmniFeed"]),
        .testTarget(name: "CEventTests", dependencies: ["CEvent"]),
        .testTarget(name: "CRingTests", dependencies: ["CEvent", "CRing", "CSys"]),
        // Where the suites find ../shared/data (OMNI_DATA) and how they skip without it.
        .target(name: "SharedTestData", path: "Tests/SharedTestData"),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore"]),
        .testTarget(name: "OmniBookTests", dependencies: ["OmniBook", "OmniFeed", "CWire"]),
        .testTarget(name: "OmniFeedTests", dependencies: ["SharedTestData", "OmniFeed", "OmniBook", "OmniEngine", "CWire", "CEvent", "CRing", "CSys"]),
        .testTarget(name: "OmniVenueTests", dependencies: ["OmniVenue", "OmniFeed", "OmniBook", "OmniCore", "CWire"]),
        .testTarget(name: "OmniEngineTests", dependencies: ["OmniEngine", "CEvent", "CRing", "CSys"]),
        .target(name: "OmniNet", dependencies: ["CNet", "CSys", "OmniCore"]),
        .executableTarget(name: "omni-netbench", dependencies: ["OmniNet", "CNet", "CSys"]),
        .testTarget(name: "CNetTests", dependencies: ["CNet", "CSys", "OmniNet"]),
        .testTarget(name: "OmniNetTests", dependencies: ["OmniNet", "CNet"]),
        .target(name: "OmniMoldNet", dependencies: [
            "OmniFeed", "OmniNet", "OmniBook", "CWire", "CNet", "CSys", "OmniDpdk",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .testTarget(name: "OmniListenTests", dependencies: ["SharedTestData", "OmniMoldNet", "OmniFeed", "OmniNet", "OmniBook", "CWire", "CNet", "CSys"]),
        .testTarget(name: "OmniDpdkTests", dependencies: ["SharedTestData", "OmniDpdk", "CDpdk", "OmniFeed"]),
        // omni sim: the venue behind OUCH / FIX order entry with a live MoldUDP64 feed.
        .target(name: "OmniSim", dependencies: [
            "OmniVenue", "OmniGateway", "OmniMoldNet", "OmniNet", "OmniFeed", "OmniCore", "OmniConfig", "CWire", "CNet", "CSys",
        ]),
        .testTarget(name: "OmniSimTests", dependencies: [
            "SharedTestData", "OmniSim", "OmniVenue", "OmniGateway", "OmniMoldNet", "OmniNet", "OmniFeed", "OmniBook", "OmniCore", "OmniConfig", "CWire", "CSys",
        ]),
        .testTarget(name: "OmniGatewayTests", dependencies: [
            "SharedTestData", "OmniGateway", "CWire", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

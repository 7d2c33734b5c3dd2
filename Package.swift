// swift-tools-version: 6.1
import PackageDescription

// C kernels are built at -O3 in every configuration: they are the hot path,
// and debug-built kernels would make `swift test` replays needlessly slow.
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-function"])]

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
        .library(name: "CRing", targets: ["CRing"]),
        .library(name: "OmniGateway", targets: ["OmniGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "CWire", path: "CKernels/CWire", cSettings: kernelFlags),
        .target(name: "CBook", dependencies: ["CWire"], path: "CKernels/CBook", cSettings: kernelFlags),
        .systemLibrary(name: "CZlib", path: "CKernels/CZlib"),
        .target(name: "CSys", path: "CKernels/CSys", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("numa"), .linkedLibrary("pthread")]),
        .target(name: "CRing", dependencies: ["CSys"], path: "CKernels/CRing", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("rt")]),
        .target(name: "OmniCore"),
        .target(name: "OmniBook", dependencies: ["OmniCore", "CBook", "CWire"]),
        .target(name: "OmniFeed", dependencies: ["OmniCore", "OmniBook", "OmniEngine", "CWire", "CBook", "CRing", "CSys", "CZlib"]),
        .target(name: "OmniEngine", dependencies: [
            "CRing", "CSys", "OmniCore",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "OmniGateway", dependencies: ["CWire"]),
        // FIX NewOrderSingle -> ExecutionReport round trip over loopback (`swift run -c release FixRoundTrip`).
        .executableTarget(name: "FixRoundTrip", dependencies: [
            "OmniGateway", "CWire", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Benchmarks/FixRoundTrip"),
        .executableTarget(name: "omni", dependencies: [
            "OmniCore", "OmniFeed", "OmniBook", "OmniEngine", "CRing", "CSys",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .testTarget(name: "CWireTests", dependencies: ["CWire", "OmniFeed"]),
        .testTarget(name: "CRingTests", dependencies: ["CRing", "CSys"]),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore"]),
        .testTarget(name: "OmniBookTests", dependencies: ["OmniBook", "OmniFeed", "CWire"]),
        .testTarget(name: "OmniFeedTests", dependencies: ["OmniFeed", "OmniBook", "OmniEngine", "CWire", "CRing", "CSys"]),
        .testTarget(name: "OmniEngineTests", dependencies: ["OmniEngine", "CRing", "CSys"]),
        .testTarget(name: "OmniGatewayTests", dependencies: [
            "OmniGateway", "CWire", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

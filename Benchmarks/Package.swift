// swift-tools-version: 6.1
import PackageDescription

// Benchmark suites for OmniAlpha, kept in their own package so the root package
// builds and tests without ordo-one/benchmark. Run from this directory:
//   swift package --disable-sandbox benchmark
let package = Package(
    name: "OmniAlphaBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "OmniAlpha", path: ".."),
        // Only the MallocInterposer trait: the default traits add RuntimeInterposer, whose
        // swift-runtime-interposer package (Linux, Swift 6.3) has no local mirror here.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        // The interposer's counters, read directly by the steady-state benchmark's own check.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.5.0"),
        // The round-trip histograms of OrderEntry (already in the graph through the root package).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "ITCHReplay",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "OmniCore", package: "OmniAlpha"),
                .product(name: "OmniFeed", package: "OmniAlpha"),
                .product(name: "OmniBook", package: "OmniAlpha"),
                .product(name: "CWire", package: "OmniAlpha"),
                .product(name: "CBook", package: "OmniAlpha"),
                .product(name: "OmniEngine", package: "OmniAlpha"),
                .product(name: "OmniLab", package: "OmniAlpha"),
                .product(name: "OmniBench", package: "OmniAlpha"),
                .product(name: "CEvent", package: "OmniAlpha"),
                .product(name: "CRing", package: "OmniAlpha"),
                .product(name: "CSys", package: "OmniAlpha"),
            ],
            path: "Benchmarks/ITCHReplay",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "NetReceive",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "CSys", package: "OmniAlpha"),
                .product(name: "OmniNet", package: "OmniAlpha"),
            ],
            path: "Benchmarks/NetReceive",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "OrderEntry",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "CSys", package: "OmniAlpha"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "OmniGateway", package: "OmniAlpha"),
                .product(name: "OmniWire", package: "OmniAlpha"),
                .product(name: "OmniVenue", package: "OmniAlpha"),
                .product(name: "OmniNet", package: "OmniAlpha"),
                .product(name: "CWire", package: "OmniAlpha"),
            ],
            path: "Benchmarks/OrderEntry",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "MoldSession",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "CSys", package: "OmniAlpha"),
                .product(name: "OmniFeed", package: "OmniAlpha"),
                .product(name: "OmniWire", package: "OmniAlpha"),
                .product(name: "OmniVenue", package: "OmniAlpha"),
                .product(name: "OmniLab", package: "OmniAlpha"),
                .product(name: "OmniCore", package: "OmniAlpha"),
                .product(name: "CWire", package: "OmniAlpha"),
            ],
            path: "Benchmarks/MoldSession",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Matching",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "OmniCore", package: "OmniAlpha"),
                .product(name: "OmniVenue", package: "OmniAlpha"),
                .product(name: "CSys", package: "OmniAlpha"),
            ],
            path: "Benchmarks/Matching",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Trading",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "OmniBench", package: "OmniAlpha"),
                .product(name: "OmniTrading", package: "OmniAlpha"),
                .product(name: "OmniStrategy", package: "OmniAlpha"),
                .product(name: "OmniRisk", package: "OmniAlpha"),
                .product(name: "OmniOrders", package: "OmniAlpha"),
                .product(name: "OmniGateway", package: "OmniAlpha"),
                .product(name: "OmniWire", package: "OmniAlpha"),
                .product(name: "OmniBook", package: "OmniAlpha"),
                .product(name: "OmniCore", package: "OmniAlpha"),
                .product(name: "CWire", package: "OmniAlpha"),
                .product(name: "CEvent", package: "OmniAlpha"),
                .product(name: "CRing", package: "OmniAlpha"),
                .product(name: "CSys", package: "OmniAlpha"),
            ],
            path: "Benchmarks/Trading",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

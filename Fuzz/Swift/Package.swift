// swift-tools-version: 6.1
// In-process libFuzzer harnesses over the Swift session and application layers (issue 16),
// kept out of the root package so its `swift build` / `swift test` never see them. Built by
// Fuzz/run-fuzz.sh:
//
//   swift build -c release --package-path Fuzz/Swift --scratch-path .build/fuzz-swift \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address
//
// Each executable's main.swift exports LLVMFuzzerTestOneInput; libFuzzer provides main.
// What each harness reaches is written at the top of its main.swift and in Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "OmniFuzz",
    dependencies: [.package(name: "OmniAlpha", path: "../..")],
    targets: [
        .target(name: "FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: [
            "FuzzDriver",
            .product(name: "OmniVenue", package: "OmniAlpha"),
            .product(name: "OmniWire", package: "OmniAlpha"),
            .product(name: "OmniNet", package: "OmniAlpha"),
            .product(name: "OmniCore", package: "OmniAlpha"),
        ]),
        .executableTarget(name: "fuzz-fix-acceptor", dependencies: ["FuzzSupport", .product(name: "OmniGateway", package: "OmniAlpha")]),
        .executableTarget(name: "fuzz-soup-ouch-server", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "fuzz-fix-client", dependencies: ["FuzzSupport", .product(name: "OmniGateway", package: "OmniAlpha")]),
        .executableTarget(name: "fuzz-ouch-client", dependencies: [
            "FuzzSupport", .product(name: "OmniGateway", package: "OmniAlpha"), .product(name: "CWire", package: "OmniAlpha"),
        ]),
        .executableTarget(name: "fuzz-executions", dependencies: [
            "FuzzSupport", .product(name: "ExecutionCheck", package: "OmniAlpha"),
        ]),
        .executableTarget(name: "fuzz-mold-session", dependencies: [
            "FuzzSupport", .product(name: "OmniFeed", package: "OmniAlpha"), .product(name: "OmniBook", package: "OmniAlpha"),
            .product(name: "CWire", package: "OmniAlpha"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

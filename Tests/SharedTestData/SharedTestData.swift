import Foundation
import Testing

// Where the test suites find the shared real data (../shared/data beside the package, or OMNI_DATA),
// and how they say so when it is missing.

/// The real NASDAQ ITCH fixtures, found through OMNI_DATA (default ../shared/data from the package root).
public enum RealData {
    public static let root: String = {
        if let env = ProcessInfo.processInfo.environment["OMNI_DATA"], !env.isEmpty { return env }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return package.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()
    public static let itch = root + "/nasdaq-itch50-12302019-fixtures"
    public static let present = FileManager.default.fileExists(atPath: itch + "/PROVENANCE.md")
    public static let skipReason: Comment = "real ITCH fixtures not found at \(itch): set OMNI_DATA to the shared data folder"
    public static func path(_ name: String) -> String { itch + "/" + name }
}

/// IEX's sample captures, found through OMNI_DATA like the ITCH fixtures.
public enum IEXData {
    public static let dir = RealData.root + "/iex-sample-pcaps"
    public static let present = FileManager.default.fileExists(atPath: dir + "/PROVENANCE.md")
    public static let skipReason: Comment = "IEX sample pcaps not found at \(dir): set OMNI_DATA to the shared data folder"
    public static let deep = dir + "/DEEP10.pcap.gz"
    public static let tops = dir + "/TOPS16.pcapng.gz"
}

/// The `omni` tool built beside the test binary (the same configuration, debug or release).
public enum OmniTool {
    public static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("omni").path
    }()
    public static let present = FileManager.default.isExecutableFile(atPath: binary)
    public static let absent: Comment = "omni not built beside the tests (swift build)"
}

/// Every file and folder a test makes lives under one folder of this test process, removed
/// when the process exits: `make test` leaves nothing behind in the temporary folder.
public enum TestScratch {
    public static let root: String = {
        let dir = NSTemporaryDirectory() + "omni-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestScratch.root) }
        return dir
    }()

    /// A path for `name` under the process's folder (not created).
    public static func path(_ name: String) -> String { root + "/" + name }

    /// A new, empty folder whose name starts with `name`.
    public static func directory(_ name: String) -> String {
        let d = root + "/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

import Foundation
import OmniStrategy
import Testing

/// OmniStrategy's signals against TA-Lib (PyPI `ta-lib` 0.8.2, whose manylinux wheel bundles the
/// TA-Lib C library) on a real mid series: Binance BTCUSDT spot bookTicker, 2024-08-08 23:54-24:00
/// (28,040 touches, $OMNI_DATA/binance-ws-capture-20240808). Tests/Peers/indicators_talib.py writes
/// TA-Lib's EMA of every mid and its VAR / STDDEV of the 100 ms grid's log returns (with its own
/// grid sampling, numpy's searchsorted); this test feeds the same touches to `EWMA(period:)` and
/// `RealizedVolatility` and compares value by value. Without the data, Python or PyPI it is
/// cancelled (skipped) with the reason named, and never fails for that.
@Suite("TA-Lib peer: EMA, VAR, STDDEV on a real mid series") struct TALibPeerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let capture: URL = {
        let data = ProcessInfo.processInfo.environment["OMNI_DATA"].map { URL(fileURLWithPath: $0) }
            ?? root.deletingLastPathComponent().appendingPathComponent("shared/data")
        return data.appendingPathComponent("binance-ws-capture-20240808/spot_btcusdt_20240808.gz")
    }()
    static let emaPeriod = 20, window = 50, intervalNs: UInt64 = 100_000_000

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func skip(_ why: String) throws -> Never {
        print("TALibPeerTests SKIPPED: \(why)")
        try Test.cancel("TA-Lib peer unavailable, skipping: \(why)")
    }

    static func rows(_ url: URL) throws -> [[Substring]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
    }

    @Test func emaVarAndStdDevMatchTALib() throws {
        guard FileManager.default.fileExists(atPath: Self.capture.path) else {
            try Self.skip("no Binance capture at \(Self.capture.path) (set OMNI_DATA)")
        }
        let setup = try Self.run("/bin/bash", [Self.root.appendingPathComponent("Tests/Peers/setup-indicators-venv.sh").path])
        guard setup.status == 0 else {
            try Self.skip("Tests/Peers/setup-indicators-venv.sh exited \(setup.status): \(setup.err.suffix(400))")
        }
        let py = setup.out.trimmingCharacters(in: .whitespacesAndNewlines) + "/bin/python"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-talib-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = try Self.run(py, [Self.root.appendingPathComponent("Tests/Peers/indicators_talib.py").path, Self.capture.path, dir.path,
                                       "--ema-period", "\(Self.emaPeriod)", "--interval-ns", "\(Self.intervalNs)", "--window", "\(Self.window)"])
        try #require(script.status == 0, "indicators_talib.py failed: \(script.err)")
        print(script.err.trimmingCharacters(in: .whitespacesAndNewlines))

        let mids = try Self.rows(dir.appendingPathComponent("mids.csv"))
        let grid = try Self.rows(dir.appendingPathComponent("grid.csv"))
        try #require(mids.count > 20_000 && grid.count > 3_000)

        var ema = EWMA(period: Self.emaPeriod)
        var vol = RealizedVolatility(intervalNs: Self.intervalNs, window: Self.window)
        var emaCompared = 0, emaMaxRel = 0.0, varCompared = 0, varMaxAbs = 0.0, varMaxRel = 0.0, nonZeroVar = 0
        for row in mids {
            let ns = UInt64(row[0])!, bid = UInt32(row[1])!, ask = UInt32(row[2])!
            let theirs = Double(row[3])!
            let ours = ema.update(bid: bid, ask: ask)
            if theirs.isNaN {
                #expect(ours.isNaN, "EMA: TA-Lib has no value yet at \(ns), we have \(ours)")
            } else {
                let rel = abs(ours - theirs) / abs(theirs)
                emaMaxRel = max(emaMaxRel, rel); emaCompared += 1
                #expect(rel <= 1e-12, "EMA at \(ns): ours \(ours), TA-Lib \(theirs)")
            }
            vol.update(nowNs: ns, bid: bid, ask: ask)
            // The latest sample's return is grid row samples − 1; its TA-Lib VAR ends there.
            guard vol.samples >= 1, vol.samples <= grid.count else { continue }
            let g = grid[vol.samples - 1]
            let theirVar = Double(g[3])!, theirSD = Double(g[4])!
            if theirVar.isNaN {
                #expect(vol.rollingVariance.isNaN, "VAR at grid \(g[0]): TA-Lib has none yet, we have \(vol.rollingVariance)")
            } else {
                let d = abs(vol.rollingVariance - theirVar)
                varMaxAbs = max(varMaxAbs, d); varCompared += 1
                if theirVar > 1e-20 { varMaxRel = max(varMaxRel, d / theirVar); nonZeroVar += 1 }
                #expect(d <= 1e-20 + 1e-9 * theirVar, "VAR at grid \(g[0]): ours \(vol.rollingVariance), TA-Lib \(theirVar)")
                #expect(abs(vol.rollingStdDev - theirSD) <= 1e-12 + 1e-7 * theirSD,
                        "STDDEV at grid \(g[0]): ours \(vol.rollingStdDev), TA-Lib \(theirSD)")
            }
        }
        #expect(vol.samples == grid.count, "grid samples: ours \(vol.samples), the peer's \(grid.count)")
        print("TALibPeerTests: EMA(\(Self.emaPeriod)) \(emaCompared) values, max relative difference \(emaMaxRel); "
              + "VAR(\(Self.window)) of 100 ms log returns \(varCompared) values (\(nonZeroVar) non-zero), "
              + "max absolute difference \(varMaxAbs), max relative \(varMaxRel)")
        #expect(emaCompared > 20_000 && varCompared > 1_000 && nonZeroVar > 100)
    }
}

// The day files the ITCHReplay benchmarks run over, loaded (and, when needed, generated) once
// per benchmark process, on first use.
//
// decode-only, decode+books, decode+books+bbo-memory-sink:
//   OMNI_BENCH_FILE=/path/day.itch    that file (plain or .gz; .gz is inflated into memory);
//   otherwise                         a synthetic day (SyntheticDay: 2000 symbols, seed 1,
//                                     OMNI_BENCH_MESSAGES messages, default 10,000,000), written
//                                     once to /tmp and reused by later runs (cached by name).
// steady-state-no-alloc:
//   OMNI_BENCH_STEADY_FILE, else OMNI_BENCH_FILE, else the real fixture flow replicated to
//   OMNI_BENCH_MESSAGES messages (FixtureFlow over the 0400 and open0930 files of
//   nasdaq-itch50-12302019-fixtures, as `omni gen replicate` writes it), generated once to /tmp.
//   The synthetic day is no steady state: its adds outnumber its removals all day (live orders
//   grow 268k -> 327k over its last 20 %), so its book keeps growing and must allocate.
//   The fixture folder is looked up in OMNI_BENCH_FIXTURES_DIR, then shared/data/ beside or
//   inside the repository.
// OMNI_BENCH_WARM_FRACTION=0.8         share of the messages replayed as warm-up before the
//                                      steady-state window.
// OMNI_BENCH_ALLOW_ALLOCS=1            the steady-state benchmark reports mallocs without failing.

import OmniLab
import OmniCore
import CWire
import OmniFeed

#if canImport(Glibc)
import Glibc
#endif

final class BenchInput: @unchecked Sendable {
    let input: MappedInput
    /// What the file is, for the report.
    let label: String
    /// Records in the file (every framed record, malformed or not).
    let records: Int
    /// Byte offset of the first record of the steady-state window, and the records before / from it.
    let windowOffset: Int
    let warmRecords: Int
    let windowRecords: Int
    /// OMNI_BENCH_ALLOW_ALLOCS=1: the steady-state benchmark reports allocations instead of failing.
    let allowAllocations: Bool

    var bytes: UnsafeRawBufferPointer { input.bytes }
    var warmBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: input.bytes[0..<windowOffset]) }
    var windowBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: input.bytes[windowOffset...]) }

    private init(path: String, label: String) {
        let env = Env.environment
        self.label = label
        do {
            input = try MappedInput(path: path)
        } catch {
            fatalError("ITCHReplay benchmarks: \(error)")
        }
        allowAllocations = !(env["OMNI_BENCH_ALLOW_ALLOCS"] ?? "").isEmpty
        let warmFraction = Double(env["OMNI_BENCH_WARM_FRACTION"] ?? "") ?? 0.8
        precondition(warmFraction > 0 && warmFraction < 1, "OMNI_BENCH_WARM_FRACTION must be in (0, 1)")

        // Walk the framing once: record count, then the boundary of the steady-state window.
        var scan = cw_scan_stats()
        cw_scan_stats_reset(&scan)
        let end = cw_scan_dayfile(input.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), input.bytes.count, 0, &scan)
        guard end == input.bytes.count else { fatalError("ITCHReplay benchmarks: \(path): truncated record at byte \(end)") }
        records = Int(scan.messages + scan.malformed)
        warmRecords = Int(Double(records) * warmFraction)
        windowRecords = records - warmRecords
        var off = 0
        if let base = input.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            var msg: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            for _ in 0..<warmRecords { _ = cw_dayfile_next(base, input.bytes.count, &off, &msg, &len) }
        }
        windowOffset = off
        writeStderr("ITCHReplay benchmarks: \(label): \(records) messages, \(input.bytes.count) bytes; steady-state window: last \(windowRecords) messages from byte \(windowOffset)\n")
    }

    static var messages: Int { Int(Env.environment["OMNI_BENCH_MESSAGES"] ?? "") ?? 10_000_000 }

    /// The file of the throughput benchmarks.
    static let shared: BenchInput = {
        let env = Env.environment
        if let p = env["OMNI_BENCH_FILE"], !p.isEmpty { return BenchInput(path: p, label: p) }
        let path = syntheticFile(messages: messages)
        return BenchInput(path: path, label: "\(path) (synthetic: 2000 symbols, seed 1, \(messages) messages)")
    }()

    /// The file of the steady-state allocation benchmark.
    static let steady: BenchInput = {
        let env = Env.environment
        if let p = env["OMNI_BENCH_STEADY_FILE"], !p.isEmpty { return BenchInput(path: p, label: p) }
        if let p = env["OMNI_BENCH_FILE"], !p.isEmpty { return BenchInput(path: p, label: p) }
        let path = fixtureFlowFile(messages: messages)
        return BenchInput(path: path, label: "\(path) (real fixture flow replicated to \(messages) messages)")
    }()

    /// Writes the synthetic day once (to a temporary name, then renamed) and returns its path.
    static func syntheticFile(messages: Int) -> String {
        let path = "/tmp/omni-bench-synthetic-2000sym-seed1-\(messages).itch"
        return cached(path, what: "synthetic day, \(messages) messages") { writer in
            try SyntheticDay(symbols: 2000, messages: messages, seed: 1).write(to: writer)
        }
    }

    static let fixtureSources = ["12302019_0400_first500_orderflow.NASDAQ_ITCH50", "12302019_open0930_1000msgs.NASDAQ_ITCH50"]

    /// Writes the replicated real fixture flow once and returns its path.
    static func fixtureFlowFile(messages: Int) -> String {
        let dir = fixturesDirectory()
        let path = "/tmp/omni-bench-fixtureflow-0400-open0930-\(messages).itch"
        return cached(path, what: "fixture flow from \(dir), \(messages) messages") { writer in
            let inputs = try fixtureSources.map { try MappedInput(path: dir + "/" + $0) }
            _ = try withExtendedLifetime(inputs) {
                try FixtureFlow(sources: inputs.map(\.bytes), messages: messages).write(to: writer)
            }
        }
    }

    static func fixturesDirectory() -> String {
        let name = "nasdaq-itch50-12302019-fixtures"
        // This file is <repo>/Benchmarks/Benchmarks/ITCHReplay/Input.swift.
        var repo = "\(#filePath)"
        for _ in 0..<4 { repo = String(repo[..<(repo.lastIndex(of: "/") ?? repo.startIndex)]) }
        var candidates: [String] = []
        if let d = Env.environment["OMNI_BENCH_FIXTURES_DIR"], !d.isEmpty { candidates.append(d) }
        candidates += [repo + "/../shared/data/" + name, repo + "/shared/data/" + name, "/work/shared/data/" + name]
        for d in candidates where access(d + "/" + fixtureSources[0], R_OK) == 0 { return d }
        fatalError("""
            ITCHReplay benchmarks: the steady-state benchmark needs the real fixture files \(fixtureSources) \
            (looked in \(candidates)); set OMNI_BENCH_FIXTURES_DIR, or OMNI_BENCH_STEADY_FILE to a day file \
            with a steady state
            """)
    }

    /// Returns `path`, writing it first through a temporary name when it does not exist yet.
    static func cached(_ path: String, what: String, _ write: (FileWriter) throws -> Void) -> String {
        if access(path, R_OK) == 0 { return path }
        let tmp = path + ".partial.\(getpid())"
        writeStderr("ITCHReplay benchmarks: generating \(path) (\(what); once) ...\n")
        do {
            let writer = try FileWriter(path: tmp)
            try write(writer)
            try writer.flush()
        } catch {
            unlink(tmp)
            fatalError("ITCHReplay benchmarks: cannot write \(tmp): \(error)")
        }
        guard rename(tmp, path) == 0 else { fatalError("ITCHReplay benchmarks: rename \(tmp) -> \(path) failed") }
        return path
    }
}

/// Environment access without Foundation.
enum Env {
    static var environment: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

/// A copy of stderr taken at startup: the benchmark runner points fd 2 at /dev/null while a
/// benchmark runs in quiet mode, and the steady-state check's verdict must still be seen.
let savedStderr: Int32 = dup(2)

func writeStderr(_ s: String) {
    var t = s
    t.withUTF8 { u in _ = write(savedStderr >= 0 ? savedStderr : 2, u.baseAddress, u.count) }
}

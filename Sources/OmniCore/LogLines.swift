// Log lines (swift-log): events as they happen (the control plane, gateway disconnects and
// reconnects, the kill switch, the venue's sessions), as distinct from a command's report (its
// banner, status lines and summary), which stays `print`. `LogLines.bootstrap` installs our one
// handler for the process: one line per event on standard output, text or JSON, at or above a
// threshold (OMNI_LOG_LEVEL / OMNI_LOG_FORMAT, or `--log-level` / `--log-format`). Off the hot
// path: a line is formatted and written by the thread that logs it, on a rare event only.
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a log line is written: text (`TIME LEVEL LABEL: MESSAGE key=value ...`) or one JSON object.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// The process's log lines: the threshold and format every `Logger` of ours follows.
public enum LogLines {
    /// The level at and above which lines are written (a `Logger.Level`'s index), and the format.
    static let threshold = Atomic<Int>(Logger.Level.info.index)
    static let format = Atomic<Int>(0)
    static let installed = Atomic<Bool>(false)

    /// Every level's name, lowest first, as `--log-level` takes them.
    public static var levelNames: [String] { Logger.Level.allCases.map(\.rawValue) }

    /// The threshold named `name` (trace, debug, info, notice, warning, error, critical); nil when it names none.
    public static func level(_ name: String) -> Logger.Level? { Logger.Level(rawValue: name.lowercased()) }

    /// Installs our handler for every `Logger` of the process (once; later calls change nothing),
    /// its threshold and format taken from OMNI_LOG_LEVEL and OMNI_LOG_FORMAT when set and valid.
    /// `now`: the wall clock in ns since the epoch, CSys's one clock (OmniCore imports no C of ours).
    public static func bootstrap(now: @escaping @Sendable () -> UInt64) {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let v = getenv("OMNI_LOG_LEVEL").map({ String(cString: $0) }), let l = level(v) { threshold.store(l.index, ordering: .relaxed) }
        if let v = getenv("OMNI_LOG_FORMAT").map({ String(cString: $0) }), let f = LogFormat(rawValue: v.lowercased()) { format.store(f == .json ? 1 : 0, ordering: .relaxed) }
        LoggingSystem.bootstrap { label in LogLineHandler(label: label, now: now) }
    }

    /// A command's `--log-level` / `--log-format` (nil: keep the environment's or the default);
    /// loggers made before follow too.
    public static func configure(level: Logger.Level?, format f: LogFormat?) {
        if let level { threshold.store(level.index, ordering: .relaxed) }
        if let f { format.store(f == .json ? 1 : 0, ordering: .relaxed) }
    }

    /// The threshold now.
    public static var currentLevel: Logger.Level { Logger.Level.allCases[threshold.load(ordering: .relaxed)] }
    /// The format now.
    public static var currentFormat: LogFormat { format.load(ordering: .relaxed) == 1 ? .json : .text }

    /// One event as a line (without its newline): `at` in nanoseconds since the epoch, UTC.
    public static func line(_ format: LogFormat, at: (seconds: Int, nanoseconds: Int), level: Logger.Level, label: String, message: String,
                            metadata: Logger.Metadata) -> String {
        let time = timestamp(seconds: at.seconds, milliseconds: at.nanoseconds / 1_000_000)
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var s = "\(time) \(level.rawValue) \(label): \(message)"
            for k in keys { s += " \(k)=\(textValue(metadata[k]!))" }
            return s
        case .json:
            var s = "{\"time\":\(quoted(time)),\"level\":\(quoted(level.rawValue)),\"label\":\(quoted(label)),\"message\":\(quoted(message))"
            if !keys.isEmpty {
                s += ",\"metadata\":{" + keys.map { "\(quoted($0)):\(jsonValue(metadata[$0]!))" }.joined(separator: ",") + "}"
            }
            return s + "}"
        }
    }

    /// 2026-12-05T07:30:00.123Z
    static func timestamp(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var d = tm()
        gmtime_r(&t, &d)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(d.tm_year + 1900, 4))-\(pad(d.tm_mon + 1, 2))-\(pad(d.tm_mday, 2))T\(pad(d.tm_hour, 2)):\(pad(d.tm_min, 2)):\(pad(d.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }

    /// A metadata value in a text line: as is, or quoted when it has a space, a quote, an `=` or a control character.
    static func textValue(_ v: Logger.MetadataValue) -> String {
        let s: String
        switch v {
        case .string(let x): s = x
        case .stringConvertible(let x): s = x.description
        case .array(let xs): s = "[" + xs.map(textValue).joined(separator: ",") + "]"
        case .dictionary(let d): s = "{" + d.keys.sorted().map { "\($0)=\(textValue(d[$0]!))" }.joined(separator: ",") + "}"
        }
        let plain = !s.isEmpty && !s.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        return plain ? s : quoted(s)
    }

    static func jsonValue(_ v: Logger.MetadataValue) -> String {
        switch v {
        case .string(let x): quoted(x)
        case .stringConvertible(let x): quoted(x.description)
        case .array(let xs): "[" + xs.map(jsonValue).joined(separator: ",") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { "\(quoted($0)):\(jsonValue(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// `s` as a JSON string (quotes, backslashes and control characters escaped).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension Logger.Level {
    /// Its place among the levels, trace 0 ... critical 6.
    var index: Int { Logger.Level.allCases.firstIndex(of: self)! }
}

/// Our one LogHandler: each event as one line on standard output (flushed, so a file being read
/// while the run goes on has it; lines of several threads never mix). Its
/// threshold is the process's (`LogLines`) unless a logger sets its own.
public struct LogLineHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    /// A logger's own threshold (nil: the process's).
    var ownLevel: Logger.Level?
    /// The wall clock, ns since the epoch (`LogLines.bootstrap`'s).
    let now: @Sendable () -> UInt64

    public init(label: String, now: @escaping @Sendable () -> UInt64) { self.label = label; self.now = now }

    public var logLevel: Logger.Level {
        get { ownLevel ?? LogLines.currentLevel }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let ns = now()
        let all = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        // print takes standard output's lock for the whole line, as the reports' own prints do.
        print(LogLines.line(LogLines.currentFormat, at: (Int(ns / 1_000_000_000), Int(ns % 1_000_000_000)), level: event.level, label: label,
                            message: "\(event.message)", metadata: all))
        fflush(nil)
    }
}

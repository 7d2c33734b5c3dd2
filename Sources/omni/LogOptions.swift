import ArgumentParser
import Logging
import OmniCore

/// `--log-level` and `--log-format` of the commands that log events as they happen (omni run,
/// omni sim): the threshold and format of the process's log lines (OmniCore's `LogLines`).
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "Log lines at and above this level: trace, debug, info, notice, warning, error or critical (default info, or OMNI_LOG_LEVEL).") var logLevel: String?
    @Option(name: .customLong("log-format"), help: "Log lines as text or json, one JSON object a line (default text, or OMNI_LOG_FORMAT).") var logFormat: String?

    func validate() throws { _ = try chosen() }

    func chosen() throws -> (level: Logger.Level?, format: LogFormat?) {
        let level = try logLevel.map { v in
            guard let l = LogLines.level(v) else { throw ValidationError("--log-level: '\(v)' is not one of \(LogLines.levelNames.joined(separator: ", "))") }
            return l
        }
        let format = try logFormat.map { v in
            guard let f = LogFormat(rawValue: v.lowercased()) else { throw ValidationError("--log-format: '\(v)' is not text or json") }
            return f
        }
        return (level, format)
    }

    /// Sets the process's threshold and format (those not given stay the environment's or the default).
    func apply() throws {
        let c = try chosen()
        LogLines.configure(level: c.level, format: c.format)
    }
}

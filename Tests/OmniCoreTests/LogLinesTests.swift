import Logging
import OmniCore
import Testing

@Suite("Log lines: text and JSON")
struct LogLinesTests {
    // 2026-12-05T07:30:00.123Z
    let at = (seconds: 1_796_455_800, nanoseconds: 123_456_789)

    @Test func aTextLineIsTimeLevelLabelMessageAndSortedMetadata() {
        let line = LogLines.line(.text, at: at, level: .warning, label: "omni.gateway", message: "reconnect attempt 2 failed: connect: Connection refused",
                                 metadata: ["endpoint": "127.0.0.1:9879", "attempt": "2"])
        #expect(line == "2026-12-05T07:30:00.123Z warning omni.gateway: reconnect attempt 2 failed: connect: Connection refused attempt=2 endpoint=127.0.0.1:9879")
        // A value with a space, a quote or an '=' is quoted so the line still splits into key=value pairs.
        let quoted = LogLines.line(.text, at: at, level: .info, label: "omni.control", message: "m", metadata: ["who": "a b", "q": "x=\"y\""])
        #expect(quoted == #"2026-12-05T07:30:00.123Z info omni.control: m q="x=\"y\"" who="a b""#)
    }

    @Test func aJSONLineIsOneObject() {
        let line = LogLines.line(.json, at: at, level: .critical, label: "omni.risk", message: "KILL SWITCH ON: \"SIGUSR1\"\n",
                                 metadata: ["open_orders": "16", "trigger": "SIGUSR1"])
        #expect(line == #"{"time":"2026-12-05T07:30:00.123Z","level":"critical","label":"omni.risk","message":"KILL SWITCH ON: \"SIGUSR1\"\n","metadata":{"open_orders":"16","trigger":"SIGUSR1"}}"#)
        #expect(LogLines.line(.json, at: at, level: .info, label: "omni.sim", message: "m", metadata: [:])
            == #"{"time":"2026-12-05T07:30:00.123Z","level":"info","label":"omni.sim","message":"m"}"#)
    }

    @Test func levelsAreNamedAsSwiftLogNamesThem() {
        #expect(LogLines.level("WARNING") == .warning && LogLines.level("info") == .info && LogLines.level("loud") == nil)
        #expect(LogLines.levelNames == ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    }

    @Test func aLoggerFollowsTheProcessThresholdUnlessItSetsItsOwn() {
        var own = LogLineHandler(label: "t", now: { 0 })
        let was = LogLines.currentLevel
        defer { LogLines.configure(level: was, format: nil) }
        LogLines.configure(level: .error, format: nil)
        #expect(own.logLevel == .error)
        own.logLevel = .debug
        #expect(own.logLevel == .debug && LogLineHandler(label: "u", now: { 0 }).logLevel == .error)
    }
}

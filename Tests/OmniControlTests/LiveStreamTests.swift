import CSys
import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
@testable import OmniControl
import OmniRisk
import OmniTrading
import Synchronization
import Testing

/// Log lines a test keeps (swift-log), to check what an alert logged.
final class LogLines: Sendable {
    let lines = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

    var logger: Logger { Logger(label: "test.alerts") { _ in Handler(lines: self) } }

    struct Handler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.lines.withLock { $0.append((event.level, "\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })) }
        }
    }
}

/// What a stream's client received, with when (monotonic ns), shared with the test's task.
final class Received: Sendable {
    let list = Mutex<[(at: UInt64, text: String)]>([])
    func append(_ text: String) { list.withLock { $0.append((csys_monotonic_ns(), text)) } }
    var all: [(at: UInt64, text: String)] { list.withLock { $0 } }
}

/// GET /v1/stream (a WebSocket) and the alerts: quotes from the snapshot, an alert of each kind
/// on the stream (cause -> alert printed), in GET /v1/alerts and in the log; at most N subscribers; a slow
/// subscriber dropped without holding up the others.
@Suite(.serialized) struct LiveStreamTests {
    /// Opens the stream (`token` in the query, or nil for none) and hands each text message to
    /// `take` until it returns true; returns the server's close frame.
    static func subscribe(_ c: ControlledLoop, token: String?, take: @escaping @Sendable (String) -> Bool) async throws -> WebSocketCloseFrame? {
        let url = "ws://127.0.0.1:\(c.httpPort)/v1/stream" + (token.map { "?token=\($0)" } ?? "")
        return try await WebSocketClient.connect(url: url, logger: Logger(label: "test.stream")) { inbound, _, _ in
            for try await m in inbound.messages(maxSize: 1 << 20) {
                if case .text(let t) = m, take(t) { return }
            }
        }
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func everyKindOfAlertReachesTheStreamTheLogAndTheAPI() async throws {
        let log = LogLines()
        let c = try ControlledLoop(alertLogger: log.logger)
        try await c.serve()
        let seen = Received()
        let alertKinds = ["kill", "limit_breach", "stale_feed", "gateway_disconnect"]
        let stream = Task {
            try await Self.subscribe(c, token: ControlledLoop.roles[.viewer]!) { t in
                seen.append(t)
                let kinds = Set(seen.all.map { Self.object($0.text) }.filter { $0["type"] as? String == "alert" }
                    .compactMap { ($0["alert"] as? [String: Any])?["kind"] as? String })
                return kinds.isSuperset(of: alertKinds)
            }
        }
        // Quotes first: the touch and our resting orders, per instrument.
        func quotes(_ symbol: String) -> [[String: Any]] {
            seen.all.map { Self.object($0.text) }.filter { $0["type"] as? String == "quote" && $0["symbol"] as? String == symbol }
        }
        try await c.wait("AAPL and MSFT quoted by us on the stream", seconds: 30) {
            ["AAPL", "MSFT"].allSatisfy { s in quotes(s).contains { $0["our_bid"] != nil && $0["our_ask"] != nil && $0["bid"] != nil } }
        }
        #expect(seen.all.contains { Self.object($0.text)["type"] as? String == "pnl" }, "the PnL comes first too")

        // Each cause, then its alert on the stream within 5 s.
        func alerted(_ kind: String, since: UInt64) -> UInt64? {
            seen.all.first { m in
                m.at >= since && (Self.object(m.text)["alert"] as? [String: Any])?["kind"] as? String == kind
            }.map { $0.at - since }
        }
        // A limit breach: AAPL's max order below the quoted size, quoting restarted: risk refuses each new order.
        #expect(try await c.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 50}"#, role: .trader).status == 200)
        #expect(try await c.call("POST", "/v1/instruments/AAPL/quoting", body: #"{"quoting": false}"#, role: .trader).status == 200)
        var start = csys_monotonic_ns()
        #expect(try await c.call("POST", "/v1/instruments/AAPL/quoting", body: #"{"quoting": true}"#, role: .trader).status == 200)
        // Waited for up to 30 s and printed, not asserted (DESIGN: latency is measured, not asserted by
        // timed tests): the path is a reading every 100 ms of a snapshot published every 100 ms, and
        // a test run that shares 2 cores with 580 others can starve any thread for seconds.
        try await c.wait("the limit breach alert", seconds: 30) { alerted("limit_breach", since: start) != nil }
        var latency: [String: UInt64] = ["limit_breach": alerted("limit_breach", since: start) ?? .max]
        for (kind, cause) in [("stale_feed", { c.feedStale.store(true, ordering: .relaxed) }), ("gateway_disconnect", { c.gatewayUp.store(false, ordering: .relaxed) })] {
            start = csys_monotonic_ns()
            cause()
            try await c.wait("the \(kind) alert", seconds: 30) { alerted(kind, since: start) != nil }
            latency[kind] = alerted(kind, since: start) ?? .max
        }
        start = csys_monotonic_ns()
        #expect(try await c.call("POST", "/v1/kill", role: .riskOfficer).status == 200)
        try await c.wait("the kill alert", seconds: 30) { alerted("kill", since: start) != nil }
        latency["kill"] = alerted("kill", since: start) ?? .max
        print("LiveStreamTests: cause -> alert on the stream, ms: " + latency.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value / 1_000_000)" }.joined(separator: ", "))
        _ = try await stream.value

        // The same alerts in GET /v1/alerts, oldest first, numbered.
        let r = try await c.call("GET", "/v1/alerts", role: .viewer)
        let alerts = Self.object(r.body)["alerts"] as? [[String: Any]] ?? []
        #expect(r.status == 200 && Set(alerts.compactMap { $0["kind"] as? String }) == Set(alertKinds), "\(r)")
        #expect(alerts.compactMap { $0["id"] as? Int } == Array(1...alerts.count))
        let breach = alerts.first { $0["kind"] as? String == "limit_breach" }
        #expect(breach?["check"] as? String == "order_quantity" && breach?["severity"] as? String == "warning", "\(String(describing: breach))")
        #expect(alerts.first { $0["kind"] as? String == "kill" }?["severity"] as? String == "critical")
        await c.close()

        // And in the log, structured, at each kind's level.
        let lines = log.lines.withLock { $0 }
        let kill = lines.first { $0.metadata["alert"] == "kill" }
        #expect(kill?.level == .critical && kill?.message.contains("kill switch ON (command)") == true, "\(String(describing: kill))")
        #expect(lines.first { $0.metadata["alert"] == "gateway_disconnect" }?.level == .error)
        #expect(lines.first { $0.metadata["alert"] == "stale_feed" }?.level == .error)
        let logged = lines.first { $0.metadata["alert"] == "limit_breach" }
        #expect(logged?.level == .warning && logged?.metadata["check"] == "order_quantity", "\(String(describing: logged))")
    }

    @Test func theStreamNeedsATokenAnyRoleMayReadIt() async throws {
        let c = try ControlledLoop()
        try await c.serve()
        let none = try await c.call("GET", "/v1/stream", role: nil)
        #expect(none.status == 401 && none.body.contains("?token=TOKEN"), "\(none)")
        await #expect(throws: (any Error).self, "no upgrade without a token") { try await Self.subscribe(c, token: nil) { _ in true } }
        await #expect(throws: (any Error).self, "nor with a wrong one") { try await Self.subscribe(c, token: "not-a-token") { _ in true } }
        for role in ControlRole.allCases {
            let plain = try await c.call("GET", "/v1/stream", role: role)
            #expect(plain.status == 426 && plain.body.contains("WebSocket"), "\(role): \(plain)")
            let first = Received()
            _ = try await Self.subscribe(c, token: ControlledLoop.roles[role]!) { t in first.append(t); return true }
            #expect(first.all.first?.text.contains(#""type":"quote""#) == true, "\(role): the latest quotes first")
        }
        await c.close()
    }

    @Test func moreSubscribersThanTheBoundAreRefusedWithAReason() async throws {
        let c = try ControlledLoop(streamSubscribers: 1)
        try await c.serve()
        final class Flags: Sendable { let subscribed = Atomic<Bool>(false), release = Atomic<Bool>(false) }
        let flags = Flags()
        let url = "ws://127.0.0.1:\(c.httpPort)/v1/stream?token=\(ControlledLoop.roles[.viewer]!)"
        let holder = Task {
            try await WebSocketClient.connect(url: url, logger: Logger(label: "test.stream")) { inbound, _, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                _ = try await messages.next()
                flags.subscribed.store(true, ordering: .releasing)
                while !flags.release.load(ordering: .acquiring) { try await Task.sleep(nanoseconds: 5_000_000) }
            }
        }
        try await c.wait("the first subscriber in", seconds: 30) { flags.subscribed.load(ordering: .acquiring) }
        let refused = try await Self.subscribe(c, token: ControlledLoop.roles[.trader]!) { _ in false }
        #expect(refused?.closeCode == .unknown(1013) && refused?.reason?.contains("too many subscribers: at most 1") == true,
                "\(String(describing: refused))")
        let metrics = try await c.call("GET", "/metrics", role: .viewer)
        func value(_ series: String) -> Double? {
            metrics.body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect(value("omni_stream_refused_total") == 1 && value("omni_stream_subscribers") == 1, "\(metrics.body.suffix(600))")
        flags.release.store(true, ordering: .releasing)
        _ = try await holder.value
        await c.close()
    }

    @Test func aSlowSubscriberIsDroppedAndTheOthersKeepTheirMessages() async throws {
        let hub = StreamHub(capacity: 4, queueBound: 8)
        hub.publish([], latest: [#"{"type":"pnl"}"#])
        let slow = try #require(hub.subscribe()), fast = try #require(hub.subscribe())
        var received: [String] = []
        var reader = fast.messages.makeAsyncIterator()
        for i in 0..<20 {
            hub.publish([#"{"n":\#(i)}"#]) // never waits: the slow one's queue fills at its 8th message
            received.append(try #require(await reader.next()))
        }
        #expect(hub.isDropped(slow.id) && !hub.isDropped(fast.id))
        #expect(hub.counts.dropped == 1 && hub.counts.subscribers == 1)
        #expect(received.first == #"{"type":"pnl"}"# && received.last == #"{"n":18}"#, "the latest state, then every message in order")
        #expect(hub.unsubscribe(slow.id), "its task learns why it ended")
        #expect(!hub.unsubscribe(fast.id))
        #expect(hub.counts.subscribers == 0)
    }

    @Test func theTapeGivesQuotesAndPnLOnlyWhenTheyChange() throws {
        var tape = StreamTape()
        var s = LoopSnapshot(summary: LoopSummary(), instruments: [InstrumentSummary()], refusals: [])
        #expect(tape.read(s, symbols: ["AAPL"]).messages.isEmpty, "nothing before the loop's first snapshot")
        s.summary.publishedNs = 1
        s.instruments[0].bid = 1_500_000; s.instruments[0].ask = 1_500_200; s.instruments[0].ourBid = 1_499_900
        var (messages, latest) = tape.read(s, symbols: ["AAPL"])
        #expect(messages == [#"{"ask":150.02,"bid":150,"our_bid":149.99,"symbol":"AAPL","type":"quote"}"#,
                             #"{"fees":0,"net":0,"realised":0,"type":"pnl","unrealised":0}"#], "\(messages)")
        #expect(latest == messages)
        #expect(tape.read(s, symbols: ["AAPL"]).messages.isEmpty, "unchanged: nothing")
        s.instruments[0].fills = 2; s.instruments[0].boughtShares = 200; s.instruments[0].position = 200; s.instruments[0].fees = 300
        (messages, _) = tape.read(s, symbols: ["AAPL"])
        #expect(messages == [#"{"fees":0.03,"net":-0.03,"realised":0,"type":"pnl","unrealised":0}"#], "fills come from the order journal, not the snapshot: \(messages)")
    }

    @Test func alertsComeFromChangesBetweenReadingsABreachAtMostOnceASecondPerCheck() throws {
        var watch = AlertWatch()
        var s = LoopSnapshot(summary: LoopSummary(), instruments: [], refusals: Array(repeating: 0, count: 16))
        s.summary.publishedNs = 1; s.summary.gatewayUp = true
        s.refusals[Int(RiskCheck.collar.rawValue) - 1] = 5
        #expect(watch.read(s, now: 1_000).isEmpty, "the first reading is the baseline")
        s.refusals[Int(RiskCheck.collar.rawValue) - 1] = 8
        s.refusals[Int(RiskCheck.killSwitch.rawValue) - 1] = 3
        var a = watch.read(s, now: 2_000_000_000)
        #expect(a.map(\.kind) == [.limitBreach] && a[0].check == "price_collar" && a[0].refusals == 3, "\(a)")
        s.refusals[Int(RiskCheck.collar.rawValue) - 1] = 9
        #expect(watch.read(s, now: 2_500_000_000).isEmpty, "within a second of the last: held")
        a = watch.read(s, now: 3_100_000_000)
        #expect(a.count == 1 && a[0].refusals == 1, "then the refusals since the last alert")
        s.summary.killReason = KillReason.dailyLoss.rawValue; s.summary.gatewayUp = false; s.summary.feedStale = true
        a = watch.read(s, now: 4_000_000_000)
        #expect(a.map(\.kind) == [.kill, .staleFeed, .gatewayDisconnect] && a[0].message.contains("daily_loss"), "\(a)")
        #expect(watch.read(s, now: 5_000_000_000).isEmpty, "a state is alerted when it begins, not while it lasts")
    }
}

import CSys
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOWebSocket
import OmniTrading
import ServiceLifecycle
import Synchronization

// GET /v1/stream: a WebSocket of JSON messages, one object each, told apart by "type":
//   quote  {symbol, bid, ask, our_bid, our_ask}: the touch and our best quote (dollars; a side
//          absent when empty), on change, at most once per reading (100 ms) per instrument;
//   fill   {at, symbol, client_order_id, side, price, shares, leaves, liquidity, match_number}: one
//          execution of ours, from the loop's order journal, read every 100 ms;
//   pnl    {realised, unrealised, fees, net}: the run's totals, on change;
//   alert  an Alert (ControlAlerts.swift).
// A new subscriber first gets the latest quote of each instrument and the latest PnL.

struct QuoteMessage: Encodable, Equatable {
    var type = "quote"
    var symbol: String
    var bid: Double?, ask: Double?, ourBid: Double?, ourAsk: Double?
}

struct PnLMessage: Encodable, Equatable {
    var type = "pnl"
    var realised: Double, unrealised: Double, fees: Double, net: Double
}

struct AlertMessage: Encodable {
    var type = "alert"
    var alert: Alert
}

/// The stream's quote and PnL messages from successive readings of the snapshot: what changed since the last.
struct StreamTape {
    var quotes: [String: QuoteMessage] = [:]
    var pnl: PnLMessage?

    /// An ITCH price in dollars; nil for an empty side.
    static func price(_ p: UInt32) -> Double? { p == 0 ? nil : Double(p) / 10_000 }

    /// The messages `s` gives (JSON text), and the latest state a new subscriber starts from.
    mutating func read(_ s: LoopSnapshot, symbols: [String]) -> (messages: [String], latest: [String]) {
        guard s.summary.publishedNs != 0 else { return ([], []) }
        var out: [String] = []
        var total = (realised: Int64(0), unrealised: Int64(0), fees: Int64(0))
        for (i, x) in s.instruments.enumerated() where i < symbols.count {
            let symbol = symbols[i]
            let q = QuoteMessage(symbol: symbol, bid: Self.price(x.bid), ask: Self.price(x.ask), ourBid: Self.price(x.ourBid), ourAsk: Self.price(x.ourAsk))
            if quotes[symbol] != q { out.append(ControlServer.jsonText(q)); quotes[symbol] = q }
            total.realised += x.realised; total.unrealised += x.unrealised; total.fees += x.fees
        }
        let p = PnLMessage(realised: dollars(total.realised), unrealised: dollars(total.unrealised), fees: dollars(total.fees),
                           net: dollars(total.realised + total.unrealised - total.fees))
        if pnl != p { out.append(ControlServer.jsonText(p)); pnl = p }
        let latest = symbols.compactMap { quotes[$0].map(ControlServer.jsonText) } + [ControlServer.jsonText(p)]
        return (out, latest)
    }
}

/// The stream's subscribers: at most `capacity`, each with a send queue of at most `queueBound`
/// messages (an AsyncStream its WebSocket task writes from). `publish` never waits: a subscriber
/// whose queue is full is dropped (its stream finished, counted), so one slow reader costs the
/// others nothing and the snapshot's reader never blocks.
final class StreamHub: Sendable {
    let capacity: Int
    let queueBound: Int
    struct Subscribers {
        var open: [UInt64: AsyncStream<String>.Continuation] = [:]
        var nextID: UInt64 = 1
        /// Those dropped for a full queue, until their task has closed them.
        var slow: Set<UInt64> = []
        /// What a new subscriber gets first (StreamTape's latest).
        var latest: [String] = []
        var dropped: UInt64 = 0, refused: UInt64 = 0
    }
    let state = Mutex(Subscribers())

    init(capacity: Int = 16, queueBound: Int = 256) { self.capacity = capacity; self.queueBound = queueBound }

    /// A new subscriber's id and messages (the latest state first); nil when `capacity` are
    /// subscribed already (counted).
    func subscribe() -> (id: UInt64, messages: AsyncStream<String>)? {
        state.withLock { s in
            guard s.open.count < capacity else { s.refused += 1; return nil }
            let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueBound))
            for m in s.latest { continuation.yield(m) }
            let id = s.nextID
            s.nextID += 1
            s.open[id] = continuation
            return (id, stream)
        }
    }

    /// Ends a subscription; returns whether it had been dropped for a full queue.
    func unsubscribe(_ id: UInt64) -> Bool {
        state.withLock { s in
            s.open.removeValue(forKey: id)?.finish()
            return s.slow.remove(id) != nil
        }
    }

    /// Queues `messages` to every subscriber; `latest` replaces what a new one gets first.
    func publish(_ messages: [String], latest: [String]? = nil) {
        state.withLock { s in
            if let latest { s.latest = latest }
            for m in messages {
                for (id, c) in s.open {
                    guard case .dropped = c.yield(m) else { continue }
                    s.open.removeValue(forKey: id)
                    c.finish()
                    s.slow.insert(id)
                    s.dropped += 1
                }
            }
        }
    }

    /// Whether the subscriber was dropped for a full queue (its task stops writing at once).
    func isDropped(_ id: UInt64) -> Bool { state.withLock { $0.slow.contains(id) } }

    var counts: (subscribers: Int, dropped: UInt64, refused: UInt64) { state.withLock { ($0.open.count, $0.dropped, $0.refused) } }
}

extension ControlServer {
    /// GET /v1/stream upgraded to a WebSocket: any role (a token in Authorization or `?token=`;
    /// without one the upgrade is refused and the HTTP route answers 401). More than the hub's
    /// capacity: closed at once with 1013 (try again later) and the reason; a subscriber whose
    /// queue filled: closed with 1008 and the reason. What the client sends is read and ignored.
    func stream(_ router: Router<BasicWebSocketRequestContext>) {
        router.ws("/v1/stream", shouldUpgrade: { req, _ in
            _ = try self.identify(req, queryToken: true)
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, _ in
            guard let (id, messages) = self.hub.subscribe() else {
                try await outbound.close(WebSocketErrorCode(codeNumber: 1013),
                                         reason: "too many subscribers: at most \(self.hub.capacity); try again later")
                return
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for try await _ in inbound {} } // ends when the client closes
                group.addTask {
                    for await m in messages {
                        if self.hub.isDropped(id) { break }
                        try await outbound.write(.text(m))
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
            if self.hub.unsubscribe(id) {
                try await outbound.close(.policyViolation, reason: "too slow: more than \(self.hub.queueBound) messages waited unsent; dropped")
            }
        })
    }

    /// While the server runs (the alert watcher, a service of its group, until the group's graceful
    /// shutdown): a reading of the snapshot every `watchEveryNs` into alerts (logged, kept,
    /// streamed), the stream's messages, and the reverts of expired limit overrides.
    func watch() async {
        var rules = AlertWatch()
        var tape = StreamTape()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let s = port.snapshot.read()
            let now = csys_monotonic_ns()
            let raised = rules.read(s, now: now).map { a in
                ControlServer.jsonText(AlertMessage(alert: alerts.raise(a.kind, check: a.check, refusals: a.refusals, message: a.message, at: Date())))
            }
            let (messages, latest) = tape.read(s, symbols: symbols)
            drainJournal()
            let fills = blotter.takeUnstreamed().map { ControlServer.jsonText(FillBody($0)) }
            hub.publish(raised + fills + messages, latest: s.summary.publishedNs == 0 ? nil : latest)
            await revertExpired(now: now)
            await noteKillSwitch(s)
            try? await Task.sleep(nanoseconds: watchEveryNs)
        }
        await noteKillSwitch(port.snapshot.read()) // a trigger since the last reading
    }

    /// The control plane's own counts for /metrics.
    func serverCounts() -> ServerCounts {
        let c = hub.counts
        return ServerCounts(rateLimited: budget.refusals, alerts: alerts.raised, streamSubscribers: c.subscribers, streamDropped: c.dropped,
                            streamRefused: c.refused)
    }
}

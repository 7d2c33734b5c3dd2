import CEvent
import CSys
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import OmniRisk
import OmniStrategy
import OmniTrading
import ServiceLifecycle
import Synchronization

/// 405 (with `Allow`) for a method the API does not have on a path it has; the router alone would say 404.
struct MethodNotAllowed: RouterMiddleware {
    typealias Context = BasicRequestContext
    /// Path templates (":symbol" matches one segment) and their methods.
    let paths: [(segments: [Substring], methods: [String])]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let e as HTTPError where e.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            guard let known = paths.first(where: { p in
                p.segments.count == segments.count && zip(p.segments, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }) else { throw e }
            var r = ControlServer.json(ErrorBody(error: "\(request.method) is not a method of \(request.uri.path) (it has \(known.methods.joined(separator: ", ")))"),
                                       status: .methodNotAllowed)
            r.headers[.allow] = known.methods.joined(separator: ", ")
            return r
        }
    }
}

/// A refused request: the status and a message naming the input, as `{"error": "..."}`.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    /// 429: seconds until the token's next request is allowed.
    var retryAfter: Int?
    init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) { self.status = status; self.message = message; self.retryAfter = retryAfter }
    var description: String { message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = ControlServer.json(ErrorBody(error: message), status: status)
        if status == .unauthorized { r.headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { r.headers[.retryAfter] = "\(retryAfter)" }
        return r
    }
}

/// The control plane's HTTP server (Hummingbird 2): the REST API of /openapi.json over a
/// `ControlPort`. Reads come from the loop's published snapshot; changes go to the loop as
/// commands (`CommandLink`) and answer with the configuration version the loop applied.
/// Its threads are started by whoever calls `start`: `omni run` keeps them off the loop's core.
public final class ControlServer: Sendable {
    public let port: ControlPort
    public let link: CommandLink
    /// The traded instruments, in the configuration's order (the snapshot's order).
    public let symbols: [String]
    public let strategy: String
    public let auth: Authenticator
    let clock: csys_clock
    let group: MultiThreadedEventLoopGroup
    /// The thread the server's tasks run on.
    let executor = ControlExecutor()
    /// The running service group (the HTTP server, the alert watcher and, with a store, the record
    /// keeper: `start`) and the task running it.
    let running = Mutex<(ServiceGroup, Task<Void, Never>)?>(nil)
    /// Where configuration versions, the audit, fills and the day's PnL are kept (nil: nowhere).
    public let store: (any ControlStore)?
    /// This run's name in the store (its start, UTC, and the process).
    public let run: String
    /// What the resume at start did, once it is done (nil before, or without a store).
    public let resumed = Mutex<String?>(nil)
    /// Seconds between two readings of the snapshot into the fills tape and the day's PnL.
    let recordEveryNs: UInt64
    /// The server's log lines (swift-log; omni run: standard output).
    let log: Logger
    /// /metrics: the loop's snapshot as Prometheus series.
    let metrics = LoopMetrics()
    /// Rate limits per token name.
    let budget: RequestBudget
    /// The alerts raised (GET /v1/alerts), logged as they are.
    let alerts: AlertLog
    /// GET /v1/stream's subscribers.
    let hub: StreamHub
    /// Raised limits waiting to revert, by symbol.
    let overrides = Mutex<[String: LimitOverride]>([:])
    /// Nanoseconds between two readings of the snapshot for alerts, the stream and expired overrides.
    let watchEveryNs: UInt64
    /// The open orders and last executions from the loop's order journal, and its rows for the store.
    let blotter: OrderBlotter
    /// Writes the kill switch's turns to the store, in order.
    let killKeeper = KillSwitchKeeper()
    /// What `start` found of the kill switch in the store (nil without a store).
    public let killSwitchResumed = Mutex<String?>(nil)

    /// `requestRate`: each token's rate limit; `streamSubscribers`: GET /v1/stream's subscribers at
    /// most; `alertLogger`: where alerts are logged, `logger` the server's other lines (swift-log).
    public init(port: ControlPort, symbols: [String], strategy: String, tokens: [AccessToken], store: (any ControlStore)? = nil,
                recordEveryNs: UInt64 = 1_000_000_000, requestRate: RunConfig.RequestRate = RunConfig.Control().requestRate, streamSubscribers: Int = 16,
                alertLogger: Logger = Logger(label: "omni.control.alerts"), watchEveryNs: UInt64 = 100_000_000,
                logger: Logger = Logger(label: "omni.control")) {
        self.store = store
        self.recordEveryNs = recordEveryNs
        log = logger
        budget = RequestBudget(requestRate)
        alerts = AlertLog(logger: alertLogger)
        hub = StreamHub(capacity: streamSubscribers)
        self.watchEveryNs = watchEveryNs
        run = "\(ISO8601DateFormatter().string(from: Date())) pid \(getpid())"
        blotter = OrderBlotter(run: run, storing: store != nil)
        self.port = port
        link = CommandLink(port: port)
        self.symbols = symbols
        self.strategy = strategy
        auth = Authenticator(tokens)
        var c = csys_clock()
        _ = csys_clock_init(&c, CSYS_CLOCK_TSC, 20)
        clock = c
        // NIO's process-wide group, never shut down (the last of a server's channels may still close
        // on it after the server has stopped). Its threads start at its first use, here in omni
        // run, with the calling thread's affinity.
        group = MultiThreadedEventLoopGroup.singleton
    }

    /// Starts listening on `host:port` (0: any free port); returns the port bound. Throws when the
    /// address cannot be bound. Waits without blocking a thread (Swift concurrency's threads
    /// answer the requests). With `tls` it serves HTTPS and WSS only (a plain request's handshake
    /// fails and its connection is closed).
    public func start(host: String, port listenPort: UInt16, tls: TLSConfiguration? = nil) async throws -> UInt16 {
        // The kill switch as the last run left it, on the ring before the loop's first pass.
        if let note = await resumeKillSwitch() {
            killSwitchResumed.withLock { $0 = note }
            log.log(level: note.contains("starts killed") || note.contains("NOT") ? .critical : .info, "\(note)")
        }
        let router = Router(context: BasicRequestContext.self)
        routes(router)
        let streams = Router(context: BasicWebSocketRequestContext.self)
        stream(streams)
        var logger = Logger(label: "omni.control")
        logger.logLevel = .warning
        let bound = Mutex<Int?>(nil)
        let plain = HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter: streams)
        let app = Application(router: router, server: try tls.map { try .tls(plain, tlsConfiguration: $0) } ?? plain,
                              configuration: .init(address: .hostname(host, port: Int(listenPort)), serverName: "omni-control"),
                              onServerRunning: { ch in bound.withLock { $0 = ch.localAddress?.port ?? 0 } },
                              eventLoopGroupProvider: .shared(group), logger: logger)
        // A graceful shutdown (stop) ends the services in the reverse order of this list: the HTTP
        // server stops taking requests first, then the alert watcher, then the record keeper takes
        // its last reading of fills and PnL and writes it.
        var list: [any Service] = []
        if store != nil {
            let every = recordEveryNs
            list.append(ControlService("record keeper") { await self.keepRecords(everyNs: every) })
        }
        list.append(ControlService("alert watcher") { await self.watch() })
        list.append(app)
        let services = ServiceGroup(configuration: .init(services: list, gracefulShutdownSignals: [], logger: logger))
        if let e = executor.startFailure { throw APIError(.internalServerError, "the control plane's thread: \(e)") }
        let failure = Mutex<String?>(nil)
        let task = Task.detached(executorPreference: executor) {
            do { try await services.run() } catch { failure.withLock { $0 = "\(error)" } }
        }
        running.withLock { $0 = (services, task) }
        // Listening or failed is looked at before the clock: this task may wake late on a busy host.
        let end = csys_monotonic_ns() + 30_000_000_000
        while true {
            if let p = bound.withLock({ $0 }) { return UInt16(p) }
            if let f = failure.withLock({ $0 }) { throw APIError(.internalServerError, f) }
            if csys_monotonic_ns() > end { throw APIError(.internalServerError, "not listening after 30 s") }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
    }

    /// Stops the server: the service group's graceful shutdown (requests in flight are answered,
    /// then the watcher stops, then the last reading of fills and PnL is written), waited for.
    public func stop() async {
        if let (services, task) = running.withLock({ r in defer { r = nil }; return r }) {
            await services.triggerGracefulShutdown()
            await task.value
        }
        executor.shutdown()
    }

    // MARK: - JSON

    static func json<T: Encodable>(_ v: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: jsonText(v))))
    }

    /// `v` as the API writes JSON: keys in snake_case, sorted.
    static func jsonText<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "{\"error\":\"encoding\"}"
    }

    /// The request's body as a JSON object of scalars: unknown keys and wrong types are refused by name.
    static func object(_ request: Request, known: [String]) async throws -> [String: JSONScalar] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let data = Data(buffer.readableBytesView)
        let dict: [String: JSONScalar]
        do { dict = try JSONDecoder().decode([String: JSONScalar].self, from: data) } catch {
            let valid = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            throw APIError(.badRequest, valid ? "the body must be a JSON object" : "the body is not valid JSON")
        }
        var out: [String: JSONScalar] = [:]
        for (k, v) in dict {
            guard known.contains(k) else { throw APIError(.badRequest, "unknown field '\(k)' (known: \(known.joined(separator: ", ")))") }
            out[k] = v
        }
        return out
    }

    // MARK: - Access

    /// The caller's token entry, if its role may do `action`: 401 without a valid token, 403 without the role.
    func require(_ request: Request, _ action: ControlAction) throws -> AccessToken {
        let who = try identify(request)
        guard who.role.may(action) else { throw APIError(.forbidden, "\(who.name) (\(who.role.rawValue)) may not \(action.rawValue)") }
        return who
    }

    /// The caller's token entry: 401 without a valid token, 429 when its rate limit is spent.
    /// `queryToken`: a `token` query parameter serves too (a browser's WebSocket sets no header).
    func identify(_ request: Request, queryToken: Bool = false) throws -> AccessToken {
        let token: String
        if let h = request.headers[.authorization], h.hasPrefix("Bearer "), !h.dropFirst(7).isEmpty {
            token = String(h.dropFirst(7))
        } else if queryToken, let q = request.uri.queryParameters.get("token"), !q.isEmpty {
            token = q
        } else {
            throw APIError(.unauthorized, "no bearer token (Authorization: Bearer TOKEN\(queryToken ? ", or ?token=TOKEN" : ""))")
        }
        guard let who = auth.identify(token) else { throw APIError(.unauthorized, "the bearer token is not one of this run's tokens") }
        if let wait = budget.take(who.name) {
            throw APIError(.tooManyRequests, "\(who.name): more than \(String(format: "%g", budget.rate.perSecond)) requests a second (burst \(String(format: "%g", budget.rate.burst))); retry in \(wait) s",
                           retryAfter: wait)
        }
        return who
    }

    /// The loop's latest snapshot; 503 until the loop has published one.
    func snapshot() throws -> LoopSnapshot {
        let s = port.snapshot.read()
        guard s.summary.publishedNs != 0 else { throw APIError(.serviceUnavailable, "the trading loop has not started yet (waiting for the stock directory)") }
        return s
    }

    /// The snapshot once it shows `version` (the loop republishes right after applying a command;
    /// at most 1 s is waited, then the latest is taken).
    func snapshot(atLeast version: UInt64) async -> LoopSnapshot {
        let end = csys_monotonic_ns() + 1_000_000_000
        var s = port.snapshot.read()
        while s.summary.configVersion < version && csys_monotonic_ns() < end {
            try? await Task.sleep(nanoseconds: 100_000)
            s = port.snapshot.read()
        }
        return s
    }

    /// The snapshot's index of `symbol`; 400 naming it when the run does not trade it.
    func instrument(_ context: BasicRequestContext) throws -> Int {
        let symbol = context.parameters.get("symbol") ?? ""
        guard let i = symbols.firstIndex(of: symbol) else {
            throw APIError(.badRequest, "unknown symbol '\(symbol)' (this run trades \(symbols.joined(separator: ", ")))")
        }
        return i
    }

    /// Sends a command; a refusal by the loop is a 400 naming `what`.
    func command(_ code: Int32, locate: UInt16 = 0, _ a0: UInt64 = 0, _ a1: UInt64 = 0, what: String) async throws -> CommandAck {
        let ack: CommandAck
        do { ack = try await link.send(code, locate: locate, a0, a1) } catch {
            throw APIError(error == .busy ? .serviceUnavailable : .gatewayTimeout, "\(what): \(error)")
        }
        // A command the current state refuses (a reset while the switch is off) is a conflict, bad input a 400.
        if let why = ack.refusal { throw APIError(ack.result == UInt64(OMNI_CMDR_NOT_KILLED) ? .conflict : .badRequest, "\(what): not applied: \(why)") }
        return ack
    }

    func params(_ s: LoopSnapshot, _ i: Int) -> InstrumentParams {
        let x = s.instruments[i]
        return InstrumentParams(symbol: symbols[i], quoting: x.quoting, spreadTicks: x.parameters?.spreadTicks, size: x.parameters?.size,
                                skewShares: x.parameters?.skewShares, maxPosition: x.ladderMaxPosition,
                                configVersion: s.summary.configVersion)
    }

    func limits(_ s: LoopSnapshot) -> Limits {
        let pending = overrides.withLock { $0 }
        return Limits(configVersion: s.summary.configVersion, instruments: s.instruments.indices.compactMap { i in
            s.instruments[i].limits.map {
                InstrumentLimitsBody(symbol: symbols[i], maxOrderQty: $0.maxOrderQuantity, maxPosition: max($0.maxLong, $0.maxShort),
                                     override: pending[symbols[i]]?.body)
            }
        })
    }

    func ns(_ ticks: UInt64) -> UInt64 { withUnsafePointer(to: clock) { csys_clock_ns($0, ticks) } }

    /// Push -> applied of every command acknowledged so far, in ns.
    func commandApplied() async -> Percentiles {
        let h = await link.appliedTicks
        return h.totalCount == 0 ? Percentiles(p50Ns: 0, p99Ns: 0, count: 0)
            : Percentiles(p50Ns: ns(h.valueAtPercentile(50)), p99Ns: ns(h.valueAtPercentile(99)), count: h.totalCount)
    }

    // MARK: - Routes

    func routes(_ router: Router<BasicRequestContext>) {
        router.add(middleware: MethodNotAllowed(paths: [
            ("/openapi.json", ["GET"]), ("/v1/health", ["GET"]), ("/v1/status", ["GET"]), ("/v1/strategies", ["GET"]),
            ("/v1/instruments/:symbol/params", ["GET", "PUT"]), ("/v1/instruments/:symbol/quoting", ["POST"]), ("/v1/risk/limits", ["GET", "PUT"]),
            ("/v1/kill", ["POST"]), ("/v1/kill/reset", ["POST"]), ("/v1/positions", ["GET"]), ("/v1/orders", ["GET"]), ("/v1/fills", ["GET"]), ("/v1/pnl", ["GET"]),
            ("/v1/feed", ["GET"]), ("/v1/latency", ["GET"]), ("/v1/quotes", ["GET"]), ("/v1/alerts", ["GET"]), ("/v1/stream", ["GET"]),
            ("/metrics", ["GET"]), ("/", ["GET"]),
        ].map { (segments: $0.0.split(separator: "/"), methods: $0.1) }))
        let openAPI = OpenAPIDocument.json(symbols: symbols)
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: openAPI)))
        }
        // Prometheus' text format; every token may read it (viewer and up), none: 401.
        router.get("/metrics") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            let a = await self.commandApplied()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.text(s, symbols: self.symbols, commandApplied: (a.p50Ns, a.p99Ns, a.count),
                                                                                         server: self.serverCounts()))))
        }
        router.get("/v1/alerts") { req, _ in
            _ = try self.require(req, .read)
            return Self.json(Alerts(alerts: self.alerts.recent))
        }
        // The WebSocket's path without an upgrade (or with one refused): 401 without a token, else
        // 426. The upgrade itself is the stream router's (stream(_:)).
        router.get("/v1/stream") { req, _ in
            _ = try self.identify(req, queryToken: true)
            var r = Self.json(ErrorBody(error: "GET /v1/stream is a WebSocket: connect with Upgrade: websocket"), status: .upgradeRequired)
            r.headers[.upgrade] = "websocket"
            return r
        }
        // The dashboard: a static page, no data in it, so no token; every call it makes sends one.
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Dashboard.html)))
        }
        router.get("/v1/health") { _, _ in
            let s = self.port.snapshot.read()
            return Self.json(Health(status: "ok", loop: s.summary.publishedNs == 0 ? "starting" : "running", configVersion: s.summary.configVersion))
        }
        router.get("/v1/status") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            let net = s.instruments.reduce(Int64(0)) { $0 + $1.realised + $1.unrealised - $1.fees }
            return Self.json(Status(configVersion: s.summary.configVersion, killed: s.summary.killReason != 0,
                                    killReason: KillReason(rawValue: s.summary.killReason)?.name, openOrders: s.summary.openOrders,
                                    fills: s.summary.fills, netPnl: dollars(net), tickToTradeP50Ns: s.summary.tickToTradeP50Ns,
                                    tickToTradeP99Ns: s.summary.tickToTradeP99Ns, feedStale: s.summary.feedStale, gatewayUp: s.summary.gatewayUp))
        }
        router.get("/v1/strategies") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            let names = s.instruments.contains { $0.parameters != nil } ? QuoteParameter.allCases.map(\.name) : [QuoteParameter.maxPosition.name]
            return Self.json(Strategies(configVersion: s.summary.configVersion, strategies: [
                StrategyBody(name: self.strategy, parameters: names,
                             instruments: s.instruments.indices.map { InstrumentQuoting(symbol: self.symbols[$0], quoting: s.instruments[$0].quoting) }),
            ]))
        }
        router.get("/v1/instruments/:symbol/params") { req, ctx in
            _ = try self.require(req, .read)
            let i = try self.instrument(ctx)
            return Self.json(self.params(try self.snapshot(), i))
        }
        router.put("/v1/instruments/:symbol/params") { req, ctx in
            try await self.mutation(req, .trade) { _, symbol in
                symbol = ctx.parameters.get("symbol")
                let i = try self.instrument(ctx)
                let body = try await Self.object(req, known: QuoteParameter.allCases.map(\.name))
                guard !body.isEmpty else { throw APIError(.badRequest, "no parameter given (one or more of \(QuoteParameter.allCases.map(\.name).joined(separator: ", ")))") }
                let s = try self.snapshot()
                var changes: [(QuoteParameter, Int64)] = []
                for p in QuoteParameter.allCases {
                    guard let v = body[p.name] else { continue }
                    guard case .integer(let n) = v else { throw APIError(.badRequest, "\(p.name): expected an integer, found \(v)") }
                    guard p.range.contains(n) else { throw APIError(.badRequest, "\(p.name): \(n) is out of range \(p.range.lowerBound)...\(p.range.upperBound)") }
                    guard p == .maxPosition || s.instruments[i].parameters != nil else {
                        throw APIError(.badRequest, "\(p.name): the strategy \(self.strategy) has no such parameter")
                    }
                    if p == .size, let l = s.instruments[i].limits, n > Int64(l.maxOrderQuantity) {
                        throw APIError(.conflict, "size: \(n) shares is above the risk limit max_order_qty \(l.maxOrderQuantity): risk would refuse every quote")
                    }
                    changes.append((p, n))
                }
                var version: UInt64 = 0
                for (p, n) in changes {
                    version = try await self.command(Int32(OMNI_CMD_SET_PARAM), locate: s.instruments[i].locate, UInt64(p.rawValue), UInt64(bitPattern: n),
                                                     what: "\(self.symbols[i]) \(p.name)").version
                }
                return Self.json(self.params(await self.snapshot(atLeast: version), i))
            }
        }
        router.post("/v1/instruments/:symbol/quoting") { req, ctx in
            try await self.mutation(req, .trade) { _, symbol in
                symbol = ctx.parameters.get("symbol")
                let i = try self.instrument(ctx)
                let body = try await Self.object(req, known: ["quoting"])
                guard case .bool(let on)? = body["quoting"] else { throw APIError(.badRequest, "quoting: expected true or false") }
                let s = try self.snapshot()
                let ack = try await self.command(Int32(OMNI_CMD_QUOTING), locate: s.instruments[i].locate, on ? 1 : 0, what: "\(self.symbols[i]) quoting")
                return Self.json(self.params(await self.snapshot(atLeast: ack.version), i))
            }
        }
        router.get("/v1/risk/limits") { req, _ in
            _ = try self.require(req, .read)
            return Self.json(self.limits(try self.snapshot()))
        }
        router.put("/v1/risk/limits") { req, _ in
            try await self.mutation(req, .setLimits) { who, symbol in
                let body = try await Self.object(req, known: ["symbol", "max_order_qty", "max_position", "config_version", "expires_in_s"])
                guard case .string(let name)? = body["symbol"] else { throw APIError(.badRequest, "symbol: expected the instrument's symbol (a string)") }
                symbol = name
                guard let i = self.symbols.firstIndex(of: name) else {
                    throw APIError(.badRequest, "unknown symbol '\(name)' (this run trades \(self.symbols.joined(separator: ", ")))")
                }
                func integer(_ key: String, _ range: ClosedRange<Int64>) throws -> Int64? {
                    guard let v = body[key] else { return nil }
                    guard case .integer(let n) = v, range.contains(n) else { throw APIError(.badRequest, "\(key): expected an integer in \(range.lowerBound)...\(range.upperBound), found \(v)") }
                    return n
                }
                let qty = try integer("max_order_qty", 1...Int64(UInt32.max))
                let position = try integer("max_position", 0...1_000_000_000)
                let expected = try integer("config_version", 1...Int64.max)
                let expiresIn = try integer("expires_in_s", 1...LimitOverride.longestSeconds)
                guard qty != nil || position != nil else { throw APIError(.badRequest, "no limit given (max_order_qty, max_position)") }
                let s = try self.snapshot()
                if let e = expected, UInt64(e) != s.summary.configVersion {
                    throw APIError(.conflict, "config_version: the limits are at version \(s.summary.configVersion), not \(e): read them again")
                }
                guard let current = s.instruments[i].limits else { throw APIError(.conflict, "\(name): risk has no limits for it") }
                let newQty = qty.map { UInt32($0) } ?? current.maxOrderQuantity
                let newPosition = position ?? max(current.maxLong, current.maxShort)
                let raises = newQty > current.maxOrderQuantity || newPosition > max(current.maxLong, current.maxShort)
                if raises && !who.role.may(.raiseLimits) {
                    throw APIError(.forbidden, "\(who.name) (\(who.role.rawValue)) may not raise a limit: only a risk officer raises one")
                }
                // Whether the change raises depends on the limits now: a conflict with the state, not bad input.
                if raises && expiresIn == nil {
                    throw APIError(.conflict, "expires_in_s: a raise must expire (1...\(LimitOverride.longestSeconds) s); it then reverts by itself")
                }
                if !raises && expiresIn != nil {
                    throw APIError(.conflict, "expires_in_s: only a raise expires; this change lowers or keeps \(name)'s limits")
                }
                let ack = try await self.command(Int32(OMNI_CMD_SET_LIMITS), locate: s.instruments[i].locate, UInt64(newQty), UInt64(newPosition),
                                                 what: "\(name) limits")
                if let expiresIn {
                    self.override(name, locate: s.instruments[i].locate, from: current, forSeconds: expiresIn, by: "\(who.name) (\(who.role.rawValue))")
                    await self.saveOverride(name, raisedQty: newQty, raisedPosition: newPosition)
                }
                return Self.json(self.limits(await self.snapshot(atLeast: ack.version)))
            }
        }
        router.post("/v1/kill") { req, _ in
            try await self.mutation(req, .kill) { who, _ in
                let ack = try await self.command(Int32(OMNI_CMD_KILL), what: "kill")
                let s = await self.snapshot(atLeast: ack.version)
                try await self.recordKillSwitch(engaged: true, who: "\(who.name) (\(who.role.rawValue))", version: ack.version)
                return Self.json(KillState(killed: true, reason: KillReason(rawValue: s.summary.killReason)?.name ?? KillReason.command.name,
                                           configVersion: s.summary.configVersion))
            }
        }
        router.post("/v1/kill/reset") { req, _ in
            try await self.mutation(req, .resetKill) { who, _ in
                let ack = try await self.command(Int32(OMNI_CMD_KILL_RESET), what: "kill reset")
                // As the other mutations: the audit's "after" and the config version are read once the loop has published the reset.
                _ = await self.snapshot(atLeast: ack.version)
                try await self.recordKillSwitch(engaged: false, who: "\(who.name) (\(who.role.rawValue))", version: ack.version)
                return Self.json(KillState(killed: false, reason: nil, configVersion: ack.version))
            }
        }
        router.get("/v1/positions") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            return Self.json(Positions(configVersion: s.summary.configVersion, instruments: s.instruments.indices.map { i in
                let x = s.instruments[i]
                return PositionBody(symbol: self.symbols[i], position: x.position, boughtShares: x.boughtShares, soldShares: x.soldShares,
                                    fills: x.fills, workingBuy: x.workingBuy, workingSell: x.workingSell)
            }))
        }
        router.get("/v1/orders") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            var reasons: [String: UInt64] = [:]
            for c in RiskCheck.allCases { reasons[c.key] = s.refusals[Int(c.rawValue) - 1] }
            let m = s.summary
            self.drainJournal()
            let open = self.blotter.openOrders.map { o in
                OpenOrderBody(symbol: o.symbol, clientOrderId: o.clientOrderID, side: o.side, price: dollars(Int64(o.price)), shares: o.shares, state: o.state)
            }
            return Self.json(Orders(openOrders: m.openOrders, requests: m.requests, refusedByRisk: m.refusedByRisk, notSent: m.notSent,
                                    venueRejected: m.venueRejected, fills: m.fills, rejectsByReason: reasons, open: open,
                                    journalDropped: self.port.journalCounts.dropped, notStored: self.blotter.notStored))
        }
        router.get("/v1/fills") { req, _ in
            _ = try self.require(req, .read)
            self.drainJournal()
            return Self.json(Fills(fills: self.blotter.recentFills.map(FillBody.init)))
        }
        router.get("/v1/pnl") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            var t: (Int64, Int64, Int64) = (0, 0, 0)
            let rows = s.instruments.indices.map { i in
                let x = s.instruments[i]
                t.0 += x.realised; t.1 += x.unrealised; t.2 += x.fees
                return PnLBody(symbol: self.symbols[i], realised: dollars(x.realised), unrealised: dollars(x.unrealised), fees: dollars(x.fees),
                               net: dollars(x.realised + x.unrealised - x.fees))
            }
            return Self.json(PnL(instruments: rows, total: PnLTotal(realised: dollars(t.0), unrealised: dollars(t.1), fees: dollars(t.2),
                                                                      net: dollars(t.0 + t.1 - t.2))))
        }
        router.get("/v1/feed") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            let f = s.summary.feed
            let now = csys_monotonic_ns()
            return Self.json(Feed(lastPacketAgeMs: f.lastPacketNs == 0 ? nil : Double(now > f.lastPacketNs ? now - f.lastPacketNs : 0) / 1e6,
                                  stale: s.summary.feedStale, gatewayUp: s.summary.gatewayUp, packets: f.packets, delivered: f.delivered,
                                  messagesPerSecond: f.messagesPerSecond, gapsOpened: f.gapsOpened, gapsFilled: f.gapsFilled, gapsLost: f.gapsLost))
        }
        router.get("/v1/quotes") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            return Self.json(Quotes(configVersion: s.summary.configVersion, instruments: s.instruments.indices.map { i in
                let x = s.instruments[i]
                return QuoteBody(symbol: self.symbols[i], quoting: x.quoting, bid: priceDollars(x.bid), ask: priceDollars(x.ask), ourBid: priceDollars(x.ourBid),
                                 ourBidShares: x.ourBidShares, ourAsk: priceDollars(x.ourAsk), ourAskShares: x.ourAskShares)
            }))
        }
        router.get("/v1/latency") { req, _ in
            _ = try self.require(req, .read)
            let s = try self.snapshot()
            let applied = await self.commandApplied()
            return Self.json(Latency(tickToTrade: Percentiles(p50Ns: s.summary.tickToTradeP50Ns, p99Ns: s.summary.tickToTradeP99Ns,
                                                              count: s.summary.tickToTradeCount),
                                     commandApplied: applied))
        }
    }
}

/// One value of a request's JSON object, typed for a clear refusal.
enum JSONScalar: Decodable, Equatable, CustomStringConvertible {
    case integer(Int64), number(Double), bool(Bool), string(String), other

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .other }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Int64.self) { self = .integer(n) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .other }
    }

    var description: String {
        switch self {
        case .integer(let n): "\(n)"
        case .number(let d): "\(d)"
        case .bool(let b): "\(b)"
        case .string(let s): "\"\(s)\""
        case .other: "a list, an object or null"
        }
    }
}

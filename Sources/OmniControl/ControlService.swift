import ServiceLifecycle

/// One of the control server's own tasks (the alert watcher, the record keeper) as a Service of
/// its ServiceGroup, beside the HTTP server, so the group's graceful shutdown ends them in order.
struct ControlService: Service, CustomStringConvertible {
    let description: String
    let body: @Sendable () async -> Void

    init(_ name: String, _ body: @escaping @Sendable () async -> Void) { description = name; self.body = body }

    func run() async throws { await body() }
}

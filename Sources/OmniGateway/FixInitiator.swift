import OmniNet
import OmniWire

/// Why a FIX initiator could not start its session, naming the endpoint.
public struct FixConnectError: Error, CustomStringConvertible, Equatable, Sendable {
    public let endpoint: String
    public let problem: String
    public var description: String { "FIX \(endpoint): \(problem)" }
}

/// Our side of a FIX 4.4 session: connects and sends Logon; the caller then polls the session.
public enum FixInitiator {
    /// Connects to host:port within `timeoutMs` and sends Logon. Throws naming the endpoint: a
    /// refused or timed-out connect, no TargetCompID, a HeartBtInt out of range, a store that
    /// cannot be opened.
    public static func connect<App: FixApplication>(host: String = "127.0.0.1", port: UInt16, timeoutMs: Int32 = 2_000,
                                                    config: FixSessionConfig, app: App) throws(FixConnectError) -> FixSession<App> {
        let endpoint = "\(host):\(port)"
        guard config.targetCompID != nil else { throw FixConnectError(endpoint: endpoint, problem: "no TargetCompID configured") }
        guard (0...FixSessionConfig.maxHeartBtInt).contains(config.heartBtInt) else {
            throw FixConnectError(endpoint: endpoint, problem: "HeartBtInt \(config.heartBtInt) s outside 0...\(FixSessionConfig.maxHeartBtInt)")
        }
        let fd: Int32
        do { fd = try TCP.connect(host: host, port: port, timeoutMs: timeoutMs) } catch {
            throw FixConnectError(endpoint: endpoint, problem: error.problem)
        }
        let s = FixSession(fd: fd, config: config, app: app, initiator: true)
        guard s.openStore() else {
            s.disconnect("no store")
            throw FixConnectError(endpoint: endpoint, problem: "cannot open the store in \(config.storeDirectory)")
        }
        if config.resetOnLogon { s.store?.reset() }
        s.sendLogon()
        return s
    }
}

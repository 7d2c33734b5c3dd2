import CSys
import Dispatch
import Glibc
import HummingbirdBcrypt
import HummingbirdTLS
import Logging
import NIOSSL
import OmniConfig
import OmniTrading
import Synchronization

/// Why the control plane did not start.
public struct ControlPlaneError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public var description: String { "control plane: \(problem)" }
}

/// `omni run`'s control plane: the loop's `ControlPort` and the HTTP server over it, started
/// before the loop pins itself, with the server's threads kept off the loop's core.
public final class ControlPlane {
    public let port: ControlPort
    public let server: ControlServer
    /// HOST:PORT it listens on.
    public let endpoint: String

    /// Where `omni run` writes the admin token it makes when no tokens file is given, and where
    /// `omni ctl` looks for one by default: the run's data folder ($TMPDIR/omni-run, or /tmp/omni-run).
    public static var defaultTokenFile: String { RunConfig.dataFolder + "/control-token" }

    init(port: ControlPort, server: ControlServer, endpoint: String) { self.port = port; self.server = server; self.endpoint = endpoint }

    /// Starts the control plane of `cfg` (nil when `control` is off). `hotCores`: the cores the loop
    /// (and a feed thread of its own) will pin themselves to; the calling thread leaves them first
    /// (csys_avoid_core), so the server's threads, which inherit the calling thread's affinity,
    /// never run there. Its lines are log lines ("omni.control").
    public static func start(_ cfg: RunConfig, hotCores: [Int]) throws(ControlPlaneError) -> ControlPlane? {
        guard let listen = cfg.control.listen else { return nil }
        let log = Logger(label: "omni.control")
        let tokens: [AccessToken]
        if let path = cfg.control.tokens {
            do { tokens = try TokenFile.read(path) } catch { throw ControlPlaneError(problem: "control.tokens \(path): \(error)") }
        } else {
            let token = TokenFile.newToken()
            let path = defaultTokenFile
            do { try TokenFile.writePrivate(token + "\n", to: path) } catch { throw ControlPlaneError(problem: "\(error)") }
            tokens = [AccessToken(name: "admin", role: .admin, bcrypt: Bcrypt.hash(token, cost: 10))]
            log.notice("no tokens file: one admin token generated, written to \(path) (mode 0600)", metadata: ["token_file": "\(path)"])
        }
        var affinity = "not pinned: the scheduler places its threads"
        if !hotCores.isEmpty {
            let refused = hotCores.filter { csys_avoid_core(Int32($0)) != 0 } // -EINVAL: the last core left, or not one of ours
            affinity = refused.isEmpty ? "its threads off core \(hotCores.map(String.init).joined(separator: " and "))"
                : "its threads NOT kept off core \(refused.map(String.init).joined(separator: " and ")) (no other core left to them)"
        }
        let port: ControlPort
        do { port = try ControlPort(instruments: cfg.instruments.count) } catch { throw ControlPlaneError(problem: "\(error)") }
        var store: (any ControlStore)?
        if let text = cfg.control.store {
            do { store = try runBlocking { try await ControlStoreAddress.open(text) } } catch { throw ControlPlaneError(problem: "control.store: \(error)") }
        }
        let server = ControlServer(port: port, symbols: cfg.instruments.map(\.symbol), strategy: cfg.strategy.rawValue, tokens: tokens, store: store,
                                   requestRate: cfg.control.requestRate, logger: log)
        let tls = try cfg.control.tlsCert.map { cert throws(ControlPlaneError) in try serverTLS(cert: cert, key: cfg.control.tlsKey ?? "") }
        let bound: UInt16
        do { bound = try runBlocking { try await server.start(host: listen.host, port: listen.port, tls: tls) } } catch {
            try? runBlocking { await server.stop() }
            throw ControlPlaneError(problem: "\(listen): \(error)")
        }
        let endpoint = "\(listen.host):\(bound)"
        log.info("store: \(store?.location ?? "off (nothing kept: no audit, no config versions, no resume)")")
        let serving = "\(tls == nil ? "http" : "https")://\(endpoint) (\(tls == nil ? "" : "TLS: \(cfg.control.tlsCert!); ")dashboard at /, GET /openapi.json, GET /metrics, WebSocket /v1/stream; roles \(Set(tokens.map(\.role.rawValue)).sorted().joined(separator: ", ")); "
            + "\(String(format: "%g", cfg.control.requestRate.perSecond)) requests/s per token, burst \(String(format: "%g", cfg.control.requestRate.burst))), \(affinity)"
        log.info("\(serving)", metadata: ["endpoint": "\(endpoint)"])
        return ControlPlane(port: port, server: server, endpoint: endpoint)
    }

    /// The server's TLS configuration from a certificate chain and its private key (PEM files); a
    /// refusal names the file and what is wrong with it.
    public static func serverTLS(cert: String, key: String) throws(ControlPlaneError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(cert) } catch {
            throw ControlPlaneError(problem: "control.tls_cert \(cert): not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw ControlPlaneError(problem: "control.tls_cert \(cert): no certificate in it") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw ControlPlaneError(problem: "control.tls_key \(key): not a PEM private key (\(error))")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = .tlsv12
        // A key that is not the certificate's is found here, not at the first client's handshake.
        do { _ = try NIOSSLContext(configuration: c) } catch {
            throw ControlPlaneError(problem: "control.tls_cert \(cert) and control.tls_key \(key) do not go together (\(error))")
        }
        return c
    }

    /// Stops the server; the calling thread waits (omni run's main thread, never one of Swift
    /// concurrency's, which the server needs).
    public func stop() {
        let server = server
        try? runBlocking { await server.stop() }
    }
}

/// Runs `body` on Swift concurrency's threads and waits for it on the calling thread, which must
/// not be one of those (a command's main thread): the server's own work needs them.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task.detached {
        do { let v = try await body(); result.withLock { $0 = .success(v) } } catch { result.withLock { $0 = .failure(error) } }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

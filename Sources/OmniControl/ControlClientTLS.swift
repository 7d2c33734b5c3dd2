import NIOCore
import NIOPosix
import NIOSSL

/// How `ControlClient` checks an HTTPS control plane's certificate: against the CA certificates in
/// `caCert` (a PEM file; `omni ctl --cacert`, or $OMNI_CTL_CACERT), else the system's trusted roots.
/// The name or IP address connected to must be one the certificate names.
public struct ControlClientTLS: Sendable, Equatable {
    public var caCert: String?
    public init(caCert: String?) { self.caCert = caCert }
}

/// Gathers a connection's answer until the server closes it (the request says `Connection:
/// close`), or fails it. Touched only on its channel's event loop.
final class AnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>
    var bytes: [UInt8] = []
    var done = false

    init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

    func finish(_ result: Result<[UInt8], any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        bytes += b.readBytes(length: b.readableBytes) ?? []
    }

    func channelInactive(context: ChannelHandlerContext) { finish(.success(bytes)) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A server that closes without TLS's close_notify after the whole answer: the answer stands.
        if let e = error as? NIOSSLError, case .uncleanShutdown = e, !bytes.isEmpty { return }
        finish(.failure(error))
        context.close(promise: nil)
    }
}

extension ControlClient {
    /// One request over TLS on NIO's process-wide threads, waited for on the calling thread (which
    /// must not be one of them): the answer's bytes, or a refusal naming what failed (the CA file,
    /// the connection, the handshake: an unknown CA, a certificate for another name).
    func exchangeTLS(_ request: [UInt8], _ tls: ControlClientTLS) throws(ControlClientError) -> [UInt8] {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        if let ca = tls.caCert {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(ca)
                guard !roots.isEmpty else { throw ControlClientError(problem: "no certificate in it") }
                config.trustRoots = .certificates(roots)
            } catch { throw ControlClientError(problem: "--cacert \(ca): not a readable PEM CA certificate (\(error))") }
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: config) } catch { throw ControlClientError(problem: "TLS: \(error)") }
        // SNI carries names only; for an IP address the certificate is checked against the address.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let serverName: String? = isAddress ? nil : host
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = loop.makePromise(of: [UInt8].self)
        let collector = AnswerCollector(promise: promise)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(timeoutMs)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        let channel: any Channel
        do { channel = try bootstrap.connect(host: host, port: Int(port)).wait() } catch {
            loop.execute { collector.finish(.failure(error)) } // the answer's promise, never to be kept
            throw ControlClientError(problem: "cannot reach the control plane at https://\(host):\(port): \(error) (is omni run running with --control-tls-cert?)")
        }
        let limit = timeoutMs
        let timeout = loop.scheduleTask(in: .milliseconds(Int64(limit))) {
            collector.finish(.failure(ControlClientError(problem: "https://\(self.host):\(self.port): no answer within \(limit) ms")))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        do { return try promise.futureResult.wait() } catch let e as ControlClientError { throw e } catch {
            throw ControlClientError(problem: "https://\(host):\(port): \(error)")
        }
    }
}

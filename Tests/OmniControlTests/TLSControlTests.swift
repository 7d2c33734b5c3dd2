import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
@testable import OmniControl
import SharedTestData
import Synchronization
import Testing

/// The control plane over TLS (HummingbirdTLS, swift-nio-ssl): a CA and a server certificate
/// (for IP 127.0.0.1 and localhost) made with `openssl` in a scratch folder; HTTPS and WSS with the
/// CA succeed, from our client and from curl (a client we did not write); a plain-HTTP request to
/// the TLS port fails; a client without the CA, or trusting another CA, is refused at the
/// handshake. `omni run`'s options and configuration keys, with refusals naming a missing file,
/// and `omni ctl --cacert` / $OMNI_CTL_CACERT. Ports 45500-45999.
@Suite(.serialized) struct TLSControlTests {
    static let openssl = ["/usr/bin/openssl", "/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let curl = ["/usr/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A CA (ca.pem, ca.key), a server certificate it signed (server.pem, server.key) and a second,
    /// unrelated CA (other-ca.pem), in a new folder.
    static func certificates() async throws -> String {
        let dir = TestScratch.directory("tls")
        func openssl(_ args: [String]) async throws {
            let r = try await runToEnd(Self.openssl!, args)
            try #require(r.status == 0, "openssl \(args.joined(separator: " ")): \(r.out)")
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try await openssl(["req", "-x509"] + ec + ["-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).pem", "-days", "2", "-subj", "/CN=omni test \(ca)",
                                                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        try await openssl(["req"] + ec + ["-keyout", "\(dir)/server.key", "-out", "\(dir)/server.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            .write(toFile: dir + "/server.ext", atomically: false, encoding: .utf8)
        try await openssl(["x509", "-req", "-in", "\(dir)/server.csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key", "-CAcreateserial",
                           "-out", "\(dir)/server.pem", "-days", "2", "-extfile", "\(dir)/server.ext"])
        return dir
    }

    /// `client`'s request on a thread of its own (it blocks; the server needs Swift concurrency's threads).
    func call(_ client: ControlClient, _ method: String, _ path: String, body: String? = nil) async -> Result<(status: Int, headers: [String: String], body: String), ControlClientError> {
        await withCheckedContinuation { done in
            Thread { done.resume(returning: Result { () throws(ControlClientError) in try client.request(method, path, body: body) }) }.start()
        }
    }

    @Test(.enabled(if: openssl != nil, "no openssl (Debian's openssl package) to make the certificates"))
    func httpsAndWssWithTheCASucceedPlainHTTPAndAClientWithoutTheCAAreRefused() async throws {
        let dir = try await Self.certificates()
        let tls = try ControlPlane.serverTLS(cert: dir + "/server.pem", key: dir + "/server.key")
        let c = try ControlledLoop()
        try await c.serve(port: UInt16(45_500 + Int(getpid() % 150)), tls: tls) // 45500-45649
        let port = c.httpPort
        func client(_ role: ControlRole, tls: ControlClientTLS?) -> ControlClient {
            ControlClient(host: "127.0.0.1", port: port, token: ControlledLoop.roles[role], tls: tls)
        }
        let withCA = ControlClientTLS(caCert: dir + "/ca.pem")

        // HTTPS with the CA: reads and a change, as over HTTP.
        let status = try await call(client(.viewer, tls: withCA), "GET", "/v1/status").get()
        #expect(status.status == 200 && status.body.contains(#""killed":false"#), "\(status)")
        let set = try await call(client(.trader, tls: withCA), "PUT", "/v1/instruments/AAPL/params", body: #"{"spread_ticks": 4}"#).get()
        #expect(set.status == 200 && set.body.contains(#""spread_ticks":4"#), "\(set)")
        let localhost = ControlClient(host: "localhost", port: port, token: ControlledLoop.roles[.viewer], tls: withCA)
        #expect(try await call(localhost, "GET", "/v1/health").get().status == 200, "by name: SNI and the certificate's DNS name")

        // Plain HTTP to the TLS port: no answer in HTTP.
        switch await call(client(.viewer, tls: nil), "GET", "/v1/status") {
        case .success(let r): Issue.record("plain HTTP answered: \(r)")
        case .failure(let e): print("TLSControlTests: plain HTTP to the TLS port: \(e)")
        }
        // No CA (the system's roots), or another CA: refused at the handshake.
        for (what, tls) in [("the system's roots", ControlClientTLS(caCert: nil)), ("another CA", ControlClientTLS(caCert: dir + "/other-ca.pem"))] {
            switch await call(client(.viewer, tls: tls), "GET", "/v1/status") {
            case .success(let r): Issue.record("a client trusting \(what) was answered: \(r)")
            case .failure(let e): #expect(e.problem.contains("CERTIFICATE_VERIFY_FAILED"), "\(what): \(e)")
            }
        }
        // A missing CA file is named.
        switch await call(client(.viewer, tls: ControlClientTLS(caCert: dir + "/none.pem")), "GET", "/v1/status") {
        case .success(let r): Issue.record("answered without a CA file: \(r)")
        case .failure(let e): #expect(e.problem.contains("--cacert \(dir)/none.pem"), "\(e)")
        }

        // curl, a client we did not write: with the CA 0; without it 60 (peer certificate not verified); plain HTTP fails.
        if let curl = Self.curl {
            let ok = try await runToEnd(curl, ["-sS", "--cacert", dir + "/ca.pem", "https://127.0.0.1:\(port)/v1/health"])
            #expect(ok.status == 0 && ok.out.contains(#""status":"ok""#), "\(ok)")
            let noCA = try await runToEnd(curl, ["-sS", "https://127.0.0.1:\(port)/v1/health"])
            #expect(noCA.status == 60, "\(noCA)")
            let plain = try await runToEnd(curl, ["-sS", "--max-time", "5", "http://127.0.0.1:\(port)/v1/health"])
            #expect(plain.status != 0 && !plain.out.contains(#""status":"ok""#), "\(plain)")
        } else {
            print("TLSControlTests: no curl, its cross-check skipped")
        }

        // WSS: the stream over TLS, with the CA (by name: this client sends the host as SNI, which takes no address).
        var wss = TLSConfiguration.makeClientConfiguration()
        wss.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dir + "/ca.pem"))
        let first = Mutex<String?>(nil)
        _ = try await WebSocketClient.connect(url: "wss://localhost:\(port)/v1/stream?token=\(ControlledLoop.roles[.viewer]!)", tlsConfiguration: wss,
                                              logger: Logger(label: "test.stream")) { inbound, _, _ in
            for try await m in inbound.messages(maxSize: 1 << 20) {
                if case .text(let t) = m { first.withLock { $0 = t }; return }
            }
        }
        #expect(first.withLock { $0 }?.contains(#""type":"#) == true, "a message of the stream over WSS: \(String(describing: first.withLock { $0 }))")
        await c.close()

        // The server's files: a refusal names the file.
        #expect(throws: ControlPlaneError.self) { try ControlPlane.serverTLS(cert: dir + "/none.pem", key: dir + "/server.key") }
        do { _ = try ControlPlane.serverTLS(cert: dir + "/server.pem", key: dir + "/ca.key"); Issue.record("another key accepted") } catch {
            #expect(error.problem.contains("control.tls_cert \(dir)/server.pem and control.tls_key \(dir)/ca.key do not go together"), "\(error)")
        }
        do { _ = try ControlPlane.serverTLS(cert: dir + "/server.key", key: dir + "/server.key"); Issue.record("a key accepted as the certificate") } catch {
            #expect(error.problem.contains("control.tls_cert \(dir)/server.key: not a PEM certificate chain"), "\(error)")
        }
    }

    @Test(.enabled(if: openssl != nil && CtlCommandTests.present, "no openssl, or omni not built at .build/debug/omni"))
    func omniRunServesHTTPSAndOmniCtlReachesItWithItsCA() async throws {
        let dir = try await Self.certificates()
        let omni = CtlCommandTests.omni
        // Both or neither; a missing or unreadable file is named.
        let onlyCert = try await runToEnd(omni, ["run", "--control-tls-cert", dir + "/server.pem", "--seconds", "1"], environment: ["TMPDIR": dir])
        #expect(onlyCert.status != 0 && onlyCert.out.contains("--control-tls-key / control.tls_key missing: the certificate \(dir)/server.pem is given without its private key"),
                "\(onlyCert.out)")
        let missing = try await runToEnd(omni, ["run", "--control-tls-cert", dir + "/none.pem", "--control-tls-key", dir + "/server.key", "--seconds", "1"],
                                         environment: ["TMPDIR": dir])
        #expect(missing.status != 0 && missing.out.contains("--control-tls-cert / control.tls_cert \(dir)/none.pem: No such file or directory"), "\(missing.out)")
        try "x".write(toFile: dir + "/locked.key", atomically: false, encoding: .utf8)
        chmod(dir + "/locked.key", 0)
        if getuid() != 0 { // root reads every file
            let unreadable = try await runToEnd(omni, ["run", "--control-tls-cert", dir + "/server.pem", "--control-tls-key", dir + "/locked.key", "--seconds", "1"],
                                                environment: ["TMPDIR": dir])
            #expect(unreadable.status != 0 && unreadable.out.contains("--control-tls-key / control.tls_key \(dir)/locked.key: not readable"), "\(unreadable.out)")
        }

        // The configuration's keys, against `omni sim`.
        let port = 45_650 + Int(getpid() % 87) * 4 // 45650-45997: control, OUCH, FIX, MoldUDP64
        let (ouch, fix, mold) = (port + 1, port + 2, port + 3)
        try """
        mold: {line_a: "239.192.79.9:\(mold)", line_b: off, retransmit_port: \(mold)}
        ouch: {port: \(ouch)}
        fix: {port: \(fix), store: \(dir)/fix}
        """.write(toFile: dir + "/sim.yaml", atomically: false, encoding: .utf8)
        try """
        venue: {ouch: "127.0.0.1:\(ouch)", fix: "127.0.0.1:\(fix)", fix_store: \(dir)/run-fix}
        feed: {line_a: "239.192.79.9:\(mold)", line_b: off, retransmit: "127.0.0.1:\(mold)"}
        instruments: [{symbol: AAPL}, {symbol: MSFT}]
        control: {listen: "127.0.0.1:\(port)", store: off, tls_cert: \(dir)/server.pem, tls_key: \(dir)/server.key}
        """.write(toFile: dir + "/run.yaml", atomically: false, encoding: .utf8)
        let ctl = CtlCommandTests()
        let sim = try ctl.launch(["sim", "--config", dir + "/sim.yaml", "--seconds", "35"], out: dir + "/sim.log", tmp: dir)
        defer { if sim.isRunning { sim.terminate() }; sim.waitUntilExit() }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let run = try ctl.launch(["run", "--config", dir + "/run.yaml", "--seconds", "25", "--status-every", "60"], out: dir + "/run.log", tmp: dir)
        defer { if run.isRunning { run.interrupt() }; run.waitUntilExit() }
        var line: Substring?
        for _ in 0..<300 where line == nil {
            try await Task.sleep(nanoseconds: 50_000_000)
            line = ctl.log(dir + "/run.log").split(separator: "\n").first { $0.contains(" info omni.control: https://127.0.0.1:\(port) (TLS: \(dir)/server.pem;") }
        }
        try #require(line != nil, "no https control line:\n\(ctl.log(dir + "/run.log"))")
        let token = dir + "/omni-run/control-token"
        let answered = "kill switch off"
        var withCA = try await runToEnd(omni, ["ctl", "status", "--control", "https://127.0.0.1:\(port)", "--cacert", dir + "/ca.pem", "--token-file", token])
        for _ in 0..<100 where withCA.status != 0 { // 503 until the loop has the stock directory
            try await Task.sleep(nanoseconds: 100_000_000)
            withCA = try await runToEnd(omni, ["ctl", "status", "--control", "https://127.0.0.1:\(port)", "--cacert", dir + "/ca.pem", "--token-file", token])
        }
        #expect(withCA.status == 0 && withCA.out.contains(answered), "\(withCA.out)\nomni run:\n\(ctl.log(dir + "/run.log"))")
        let fromEnv = try await runToEnd(omni, ["ctl", "set", "AAPL", "spread_ticks=5", "--control", "https://localhost:\(port)", "--token-file", token],
                                         environment: ["OMNI_CTL_CACERT": dir + "/ca.pem"])
        #expect(fromEnv.status == 0 && fromEnv.out.contains("spread_ticks 5"), "\(fromEnv.out)")
        let noCA = try await runToEnd(omni, ["ctl", "status", "--control", "https://127.0.0.1:\(port)", "--token-file", token], environment: ["OMNI_CTL_CACERT": ""])
        #expect(noCA.status != 0 && noCA.out.contains("CERTIFICATE_VERIFY_FAILED") && !noCA.out.contains(answered), "\(noCA.out)")
        let plain = try await runToEnd(omni, ["ctl", "status", "--control", "127.0.0.1:\(port)", "--token-file", token])
        #expect(plain.status != 0 && !plain.out.contains(answered), "\(plain.out)")
        let caForPlain = try await runToEnd(omni, ["ctl", "status", "--control", "127.0.0.1:\(port)", "--cacert", dir + "/ca.pem", "--token-file", token])
        #expect(caForPlain.status != 0 && caForPlain.out.contains("--cacert \(dir)/ca.pem: only for an https:// control plane"), "\(caForPlain.out)")
    }
}

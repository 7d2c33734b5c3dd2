import OmniVenue
import OmniWire
import OmniNet
import OmniCore
import Foundation
import SharedTestData
import Testing

/// `omni sim` as a subprocess: SIGINT ends the session cleanly; a bad config is refused.
/// Ephemeral TCP ports, multicast on loopback (TTL 1) to groups of its own.
@Suite(.serialized) struct SimCommandTests {
    static let omni = OmniTool.binary
    static let present = OmniTool.present

    func config(_ dir: String) -> String {
        let port = 40_000 + Int(getpid() % 20_000)
        let path = dir + "/venue.yaml"
        try! """
        instruments:
          - {symbol: AAPL, price: 200.00}
          - {symbol: SPY, price: 500.00, band: 5%}
        generator: {intensity: 1, seed: 7}
        mold: {line_a: "239.192.77.1:\(port)", line_b: "239.192.77.2:\(port)", retransmit_port: 0}
        ouch: {port: 0}
        fix: {port: 0, store: \(dir)/fix}
        """.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func launch(_ args: [String], dir: String, name: String = "omni") throws -> (Process, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.omni)
        p.arguments = args
        let out = dir + "/\(name).stdout", err = dir + "/\(name).stderr"
        _ = try? Data().write(to: URL(fileURLWithPath: out))
        _ = try? Data().write(to: URL(fileURLWithPath: err))
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        return (p, out, err)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func wait(_ p: Process, seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < end { usleep(20_000) }
        return !p.isRunning
    }

    @Test(.enabled(if: present, OmniTool.absent)) func sigintEndsTheSession() throws {
        let dir = simTempDir("cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (p, out, err) = try launch(["sim", "--config", config(dir), "--record", dir + "/sim.pcap"], dir: dir)
        let end = Date().addingTimeInterval(20)
        while !read(out).contains("Ctrl-C ends the session.") && p.isRunning && Date() < end { usleep(20_000) }
        #expect(read(out).contains("Ctrl-C ends the session."), "stdout: \(read(out)) stderr: \(read(err))")
        #expect(read(out).contains("2 instruments (AAPL SPY)"))
        #expect(read(out).contains("Cont-Stoikov-Talreja generator, intensity 1.0, seed 7"), "the generator section is reported")
        p.interrupt()
        let ended = wait(p, seconds: 10)
        if !ended { p.terminate(); _ = wait(p, seconds: 5) }
        #expect(ended)
        #expect(!p.isRunning && p.terminationStatus == 0, "stderr: \(read(err))")
        let text = read(out)
        #expect(text.contains("session ended (signal 2)"), "\(text)")
        #expect(text.contains("3 end-of-session"), "\(text)")
        #expect(text.contains(" generator operations;") && !text.contains(" 0 generator operations;"), "the generator ran: \(text)")
        let itch = text.split(separator: "\n").first { $0.contains("ITCH messages") }.map(String.init) ?? ""
        #expect(itch.contains(" line A ") && !itch.contains(" 0 ITCH messages"), "S, R + H per symbol, the generator's flow, then S M, E, C: \(text)")
        let pcap = (try? FileManager.default.attributesOfItem(atPath: dir + "/sim.pcap")[.size] as? Int) ?? 0
        #expect(pcap > 24, "the recording has packets")
    }

    @Test(.enabled(if: present, OmniTool.absent)) func badConfigIsRefusedByName() throws {
        let dir = simTempDir("cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.yaml"
        try "instruments:\n  - {symbol: AAPL, price: 200.00, tick: 0.03}\n".write(toFile: path, atomically: false, encoding: .utf8)
        let (p, _, err) = try launch(["sim", "--config", path], dir: dir)
        #expect(wait(p, seconds: 10))
        #expect(p.terminationStatus != 0)
        #expect(read(err).contains("instruments[0].price"), "\(read(err))")
        #expect(read(err).contains("not a multiple of the tick"), "\(read(err))")
    }

    @Test(.enabled(if: present, OmniTool.absent)) func unknownInterfaceIsRefused() throws {
        let dir = simTempDir("cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (p, _, err) = try launch(["sim", "--config", config(dir), "--interface", "nosuchif0"], dir: dir)
        #expect(wait(p, seconds: 10))
        #expect(p.terminationStatus != 0)
        #expect(read(err).contains("nosuchif0"), "\(read(err))")
    }
}

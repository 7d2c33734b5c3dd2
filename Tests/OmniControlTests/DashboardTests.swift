import Foundation
import HummingbirdBcrypt
import OmniControl
import OmniCore
import OmniVenue
import SharedTestData
import Testing

/// The dashboard (GET /) in headless Chromium (Debian's `chromium`, installed by `make setup`)
/// against `omni run` quoting `omni sim` (subprocesses, ports of their own): screenshots kept in
/// .build/artefacts/dashboard, a viewer's press of the kill button shown as the server's 403, and a
/// risk officer's press stopping the quoting at the venue. The page is driven through its fragment:
/// `#token=T&press=kill` makes the page click its own kill button once its first data has loaded,
/// so the button's real handler sends the request. Without chromium (or omni) it is cancelled
/// (skipped) with the reason named.
@Suite(.serialized) struct DashboardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let artefacts = root + "/.build/artefacts/dashboard"
    static let tokens: [(name: String, role: ControlRole, token: String)] = [("vera", .viewer, "viewer-token"), ("rita", .riskOfficer, "risk-token")]

    /// One headless load of `url`: `--dump-dom` (the DOM after the page's scripts ran) or
    /// `--screenshot=PATH`; 6 s of the page's virtual time (its timers run; fetches are waited for).
    func browse(_ url: String, _ mode: String, scratch: String) async throws -> String {
        let profile = scratch + "/chromium-\(UInt32.random(in: 0...UInt32.max))"
        let r = try await runToEnd(Self.chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                                    "--hide-scrollbars", "--user-data-dir=\(profile)", "--window-size=1440,1300",
                                                    "--virtual-time-budget=6000", mode, url])
        #expect(r.status == 0, "chromium \(mode) \(url): \(r.out.suffix(2_000))")
        return r.out
    }

    @Test func theDashboardShowsTheLoopAndItsKillButtonStopsQuotingAtTheVenue() async throws {
        guard let chromium = Self.chromium else {
            print("DashboardTests SKIPPED: no chromium at /usr/bin/chromium (Debian's chromium package; `make setup` installs it)")
            try Test.cancel("chromium not installed (apt-get install chromium, or make setup), skipping")
        }
        guard CtlCommandTests.present else {
            print("DashboardTests SKIPPED: omni not built at \(CtlCommandTests.omni) (swift build)")
            try Test.cancel("omni not built, skipping")
        }
        print("DashboardTests: \(chromium), screenshots in \(Self.artefacts)")
        try? FileManager.default.removeItem(atPath: Self.artefacts)
        try FileManager.default.createDirectory(atPath: Self.artefacts, withIntermediateDirectories: true)
        let dir = TestScratch.directory("dashboard")
        let base = 43_000 + Int(getpid() % 300) * 3 // 43000-43899: this test's range
        let (ouch, fix, mold) = (base, base + 1, base + 2)
        try """
        mold: {line_a: "239.192.79.3:\(mold)", line_b: off, retransmit_port: \(mold)}
        ouch: {port: \(ouch)}
        fix: {port: \(fix), store: \(dir)/fix}
        """.write(toFile: dir + "/sim.yaml", atomically: false, encoding: .utf8)
        let tokensFile = "tokens:\n" + Self.tokens.map { "  - {name: \($0.name), role: \($0.role.rawValue), bcrypt: \"\(Bcrypt.hash($0.token, cost: 4))\"}" }
            .joined(separator: "\n")
        try tokensFile.write(toFile: dir + "/tokens.yaml", atomically: false, encoding: .utf8)
        try """
        venue: {ouch: "127.0.0.1:\(ouch)", fix: "127.0.0.1:\(fix)", fix_store: \(dir)/run-fix}
        feed: {line_a: "239.192.79.3:\(mold)", line_b: off, retransmit: "127.0.0.1:\(mold)"}
        instruments: [{symbol: AAPL}, {symbol: MSFT}]
        control: {listen: "127.0.0.1:0", tokens: \(dir)/tokens.yaml, store: off}
        """.write(toFile: dir + "/run.yaml", atomically: false, encoding: .utf8)
        let ctl = CtlCommandTests()
        let sim = try ctl.launch(["sim", "--config", dir + "/sim.yaml", "--seconds", "120"], out: dir + "/sim.log", tmp: dir)
        defer { if sim.isRunning { sim.terminate() }; sim.waitUntilExit() }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let run = try ctl.launch(["run", "--config", dir + "/run.yaml", "--seconds", "60", "--status-every", "60"], out: dir + "/run.log", tmp: dir)
        defer { if run.isRunning { run.interrupt() }; run.waitUntilExit() }
        let control = try #require(try await ctl.controlEndpoint(log: dir + "/run.log"), "no control line:\n\(ctl.log(dir + "/run.log"))")
        let parts = control.split(separator: ":")
        let viewer = ControlClient(host: String(parts[0]), port: UInt16(parts[1])!, token: "viewer-token")
        func get(_ path: String) -> String { (try? viewer.request("GET", path).body) ?? "" }
        func waitFor(_ what: String, seconds: Double = 20, _ done: () -> Bool) async throws {
            let end = Date().addingTimeInterval(seconds)
            while !done() {
                guard Date() < end else { Issue.record("timed out: \(what)\n\(get("/v1/status"))"); return }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        try await waitFor("both instruments quoted at the venue") { get("/v1/status").contains(#""open_orders":4"#) }
        try await Task.sleep(nanoseconds: 2_000_000_000) // some market and PnL to show

        // The page itself needs no token; its data calls do.
        let page = try ControlClient(host: String(parts[0]), port: UInt16(parts[1])!, token: nil).request("GET", "/")
        #expect(page.status == 200 && page.body.contains("<button id=\"kill\""), "GET /: \(page.status)")

        let url = "http://\(control)/"
        _ = try await browse(url + "#token=risk-token&symbol=AAPL", "--screenshot=\(Self.artefacts)/dashboard.png", scratch: dir)
        let loaded = try await browse(url + "#token=risk-token&symbol=AAPL", "--dump-dom", scratch: dir)
        #expect(loaded.contains(#"data-loaded="yes""#), "the page loaded its data:\n\(loaded.suffix(3_000))")
        #expect(loaded.contains(#"<td class="bid">best bid</td>"#) && loaded.contains(#"<td class="ours">"#), "the ladder shows the touch and our quote")
        #expect(loaded.contains("<td>AAPL</td>") && loaded.contains("<td>MSFT</td>"), "positions and limits list both instruments")
        #expect(loaded.contains("tick-to-trade") && loaded.contains("<rect"), "latency bars drawn")

        // A viewer's press: the server's 403, shown as it is; nothing applied.
        let refused = try await browse(url + "#token=viewer-token&press=kill", "--dump-dom", scratch: dir)
        #expect(refused.contains(#"data-status="403""#) && refused.contains("403 Forbidden: vera (viewer) may not kill"), "\(refused.suffix(3_000))")
        _ = try await browse(url + "#token=viewer-token&press=kill", "--screenshot=\(Self.artefacts)/dashboard-viewer-kill-403.png", scratch: dir)
        #expect(get("/v1/status").contains(#""killed":false"#), "a viewer's press applies nothing")

        // The risk officer's press: the kill switch on, every order canceled at the venue, nothing sent after.
        let pressed = try await browse(url + "#token=risk-token&press=kill", "--dump-dom", scratch: dir)
        #expect(pressed.contains(#"data-status="200""#) && pressed.contains("KILL SWITCH ON (command)"), "\(pressed.suffix(3_000))")
        try await waitFor("every order canceled at the venue") { get("/v1/status").contains(#""open_orders":0"#) }
        let status = get("/v1/status")
        #expect(status.contains(#""killed":true"#) && status.contains(#""kill_reason":"command""#), "\(status)")
        func requests() -> String { get("/v1/orders").split(separator: ",").first { $0.contains(#""requests""#) }.map(String.init) ?? "?" }
        let before = requests()
        try await Task.sleep(nanoseconds: 1_000_000_000)
        #expect(requests() == before, "nothing sent while the switch is on: \(before), then \(requests())")
        let quotes = get("/v1/quotes")
        #expect(!quotes.contains("our_bid\"") && !quotes.contains("our_ask\""), "no quote of ours left: \(quotes)")
        _ = try await browse(url + "#token=risk-token&symbol=AAPL", "--screenshot=\(Self.artefacts)/dashboard-killed.png", scratch: dir)

        // SIGTERM ends the run where the test process leaves it unblocked; otherwise it ends at --seconds (60 s:
        // the pages above take about 15 s on a quiet host, several times that on a busy one).
        run.terminate()
        let end = Date().addingTimeInterval(100)
        while run.isRunning && Date() < end { try await Task.sleep(nanoseconds: 50_000_000) }
        if run.isRunning { Issue.record("omni run did not end at --seconds"); run.interrupt() }
        run.waitUntilExit()
        let text = ctl.log(dir + "/run.log")
        #expect(text.contains("KILL SWITCH ON: command") && text.contains("open orders 0 left at the end"), "\(text)")
        for shot in ["dashboard.png", "dashboard-viewer-kill-403.png", "dashboard-killed.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: Self.artefacts + "/" + shot)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(shot): \(size) bytes")
            print("DashboardTests: screenshot \(Self.artefacts)/\(shot) (\(size) bytes)")
        }
    }

    /// The page's parameter form and quoting buttons, pressed by the page's own handlers (the
    /// fragment fills the form and names the button), against the trading loop over the
    /// in-process venue, where only our orders rest: what the venue holds is read from its own book
    /// with the loop paused. A trader's change moves our bid and offer at the venue to the new
    /// distance from the mid with the new size (the other instrument untouched); a viewer's press
    /// is shown as the server's 403 and changes nothing; stop quoting leaves the venue holding none
    /// of the instrument's orders, start quoting puts them back. Screenshots in
    /// .build/artefacts/dashboard-params.
    @Test func theDashboardsParameterFormChangesOurQuotesAtTheVenue() async throws {
        guard Self.chromium != nil else {
            print("DashboardTests SKIPPED: no chromium at /usr/bin/chromium (Debian's chromium package; `make setup` installs it)")
            try Test.cancel("chromium not installed (apt-get install chromium, or make setup), skipping")
        }
        let artefacts = Self.root + "/.build/artefacts/dashboard-params"
        try? FileManager.default.removeItem(atPath: artefacts)
        try FileManager.default.createDirectory(atPath: artefacts, withIntermediateDirectories: true)
        let dir = TestScratch.directory("dashboard-params")
        let c = try ControlledLoop()
        try await c.serve(port: UInt16(45_000 + Int(getpid() % 200))) // 45000-45199: this test's range
        let (aapl, msft) = (ControlledLoop.specs[0], ControlledLoop.specs[1])
        try await c.wait("both instruments quoted at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        /// The venue's best order on `side` of `locate` (only ours rest there), read with the loop paused.
        func venue(_ locate: UInt16, _ side: Side) -> (price: UInt32, shares: UInt64)? {
            c.entry.venue.book(locate)?.depth(side).first.map { ($0.price, $0.shares) }
        }
        func atVenue(_ what: String, _ check: () -> Bool) async throws {
            for _ in 0..<100 {
                c.pause()
                let ok = check()
                c.resume()
                if ok { return }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            c.pause()
            Issue.record("not at the venue within 2 s: \(what): AAPL \(String(describing: venue(1, .bid))) / \(String(describing: venue(1, .ask))), MSFT \(String(describing: venue(2, .bid))) / \(String(describing: venue(2, .ask)))")
            c.resume()
        }
        let ref = (aapl: aapl.referencePrice, msft: msft.referencePrice)
        try await atVenue("2 ticks from the mid, 100 shares") {
            venue(1, .bid)?.price == ref.aapl - 200 && venue(1, .ask)?.price == ref.aapl + 200 && venue(1, .bid)?.shares == 100
        }
        let url = "http://127.0.0.1:\(c.httpPort)/"
        _ = try await browse(url + "#token=trader-token&symbol=AAPL", "--screenshot=\(artefacts)/dashboard-params-before.png", scratch: dir)

        // A viewer's press: the server's 403 as it is; nothing changes at the venue.
        let refused = try await browse(url + "#token=viewer-token&symbol=AAPL&spread_ticks=9&press=params", "--dump-dom", scratch: dir)
        #expect(refused.contains(#"id="params-result" data-status="403""#) && refused.contains("403 Forbidden: viewer (viewer) may not trade (change NOT applied)"),
                "\(refused.suffix(3_000))")
        try await Task.sleep(nanoseconds: 100_000_000)
        try await atVenue("a viewer's press applies nothing") { venue(1, .bid)?.price == ref.aapl - 200 && venue(1, .ask)?.price == ref.aapl + 200 }

        // A trader's press: spread_ticks 6 and size 250 for AAPL through the page's form.
        let changed = try await browse(url + "#token=trader-token&symbol=AAPL&spread_ticks=6&size=250&press=params", "--dump-dom", scratch: dir)
        #expect(changed.contains(#"id="params-result" data-status="200""#) && changed.contains("AAPL: spread_ticks 6, size 250, config version 3"),
                "\(changed.suffix(3_000))")
        try await atVenue("AAPL 6 ticks from the mid, 250 shares, each side; MSFT as it was") {
            venue(1, .bid).map { $0 == (ref.aapl - 600, 250) } == true && venue(1, .ask).map { $0 == (ref.aapl + 600, 250) } == true
                && venue(2, .bid).map { $0 == (ref.msft - 200, 100) } == true && venue(2, .ask).map { $0 == (ref.msft + 200, 100) } == true
        }
        let shown = try await browse(url + "#token=trader-token&symbol=AAPL", "--dump-dom", scratch: dir)
        #expect(shown.contains(#"<td id="now-spread_ticks">6</td>"#) && shown.contains(#"<td id="now-size">250</td>"#), "the page shows the new values")
        _ = try await browse(url + "#token=trader-token&symbol=AAPL", "--screenshot=\(artefacts)/dashboard-params-changed.png", scratch: dir)

        // Stop quoting AAPL from the page: the venue holds none of its orders; MSFT goes on. Start: back, as set.
        let off = try await browse(url + "#token=trader-token&symbol=AAPL&press=quoting-off", "--dump-dom", scratch: dir)
        #expect(off.contains(#"id="params-result" data-status="200""#) && off.contains("AAPL: quoting off, config version 4"), "\(off.suffix(3_000))")
        try await atVenue("no AAPL order of ours at the venue, MSFT still quoted") {
            venue(1, .bid) == nil && venue(1, .ask) == nil && venue(2, .bid) != nil && venue(2, .ask) != nil
        }
        _ = try await browse(url + "#token=trader-token&symbol=AAPL", "--screenshot=\(artefacts)/dashboard-quoting-off.png", scratch: dir)
        let on = try await browse(url + "#token=trader-token&symbol=AAPL&press=quoting-on", "--dump-dom", scratch: dir)
        #expect(on.contains(#"id="params-result" data-status="200""#) && on.contains("AAPL: quoting on, config version 5"), "\(on.suffix(3_000))")
        try await atVenue("AAPL quoted again at 6 ticks, 250 shares") {
            venue(1, .bid).map { $0 == (ref.aapl - 600, 250) } == true && venue(1, .ask).map { $0 == (ref.aapl + 600, 250) } == true
        }
        await c.close()
        for shot in ["dashboard-params-before.png", "dashboard-params-changed.png", "dashboard-quoting-off.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: artefacts + "/" + shot)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(shot): \(size) bytes")
            print("DashboardTests: screenshot \(artefacts)/\(shot) (\(size) bytes)")
        }
    }
}

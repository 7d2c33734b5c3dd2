import OmniWire
import OmniNet
import OmniCore
import OmniVenue
import Testing

@Suite struct SimConfigTests {
    @Test func defaultVenueIsTheDocumentedOne() {
        let c = SimConfig()
        let prices = Dictionary(uniqueKeysWithValues: c.instruments.map { ($0.symbol.description, $0.referencePrice) })
        #expect(prices["AAPL"] == 2_000_000)
        #expect(prices["MSFT"] == 4_000_000)
        #expect(prices["SPY"] == 5_000_000)
        #expect(c.instruments.count >= 5)
        #expect(c.instruments.allSatisfy { $0.bandBasisPoints == 1000 && $0.tick == 100 })
        #expect(c.fixPort == 9878 && c.ouchPort == 9879 && c.fixSenderCompID == "OMNI")
        #expect(c.lineA == SimGroup(address: "239.192.0.1", port: 30001))
        #expect(c.lineB == SimGroup(address: "239.192.0.2", port: 30001))
        #expect(c.retransmitPort == 30002)
        #expect(c.interface == "127.0.0.1")
        #expect(c.generator == SimGeneratorConfig(intensity: 1, seed: 1) && c.record == nil)
        #expect(c.cancelOnDisconnect && c.ouchHost == "127.0.0.1" && c.fixHost == "127.0.0.1")
    }

    @Test func fullConfigParses() throws {
        let c = try SimConfig(yaml: """
        instruments:
          - symbol: ABC
            price: 12.3456
            tick: 0.0001
            lot: 100
            band: 5%
          - {symbol: XYZ, price: 50}
        generator: {intensity: 2.5, seed: 77}
        mold:
          session: TEST000001
          line_a: 239.10.0.1:4000
          line_b: off
          retransmit_port: 0
          interface: lo
          max_packet: 1200
        ouch: {port: 0, host: 0.0.0.0}
        fix: {port: 0, host: 127.0.0.2, sender_comp_id: VENUE, store: /tmp/x}
        record: out.pcap
        cancel_on_disconnect: false
        """)
        #expect(c.instruments.count == 2)
        #expect(c.instruments[0].symbol.description == "ABC" && c.instruments[0].referencePrice == 123_456)
        #expect(c.instruments[0].tick == 1 && c.instruments[0].lot == 100 && c.instruments[0].bandBasisPoints == 500)
        #expect(c.instruments[1].locate == 2 && c.instruments[1].referencePrice == 500_000 && c.instruments[1].bandBasisPoints == 1000)
        #expect(c.generator == SimGeneratorConfig(intensity: 2.5, seed: 77))
        #expect(c.session == "TEST000001" && c.lineA == SimGroup(address: "239.10.0.1", port: 4000) && c.lineB == nil)
        #expect(c.retransmitPort == 0 && c.interface == "lo" && c.maxPacketBytes == 1200)
        #expect(c.ouchPort == 0 && c.fixPort == 0 && c.fixSenderCompID == "VENUE" && c.fixStore == "/tmp/x")
        #expect(c.record == "out.pcap")
        #expect(!c.cancelOnDisconnect && c.ouchHost == "0.0.0.0" && c.fixHost == "127.0.0.2")
    }

    @Test func partialConfigKeepsDefaults() throws {
        let c = try SimConfig(yaml: "ouch:\n  port: 7000\n")
        #expect(c.ouchPort == 7000 && c.fixPort == 9878 && c.instruments.count == InstrumentSpec.defaults.count)
        let empty = try SimConfig(yaml: "")
        #expect(empty.ouchPort == 9879)
        #expect(try SimConfig(yaml: "generator: off\n").generator == nil)
    }

    /// Each bad file is refused with the key it is about and a word of the problem.
    @Test(arguments: [
        ("venue: {}", "venue", "unknown key"),
        ("instruments: []", "instruments", "empty"),
        ("instruments: {symbol: A}", "instruments", "expected a list"),
        ("instruments:\n  - {price: 10}", "instruments[0]", "missing key 'symbol'"),
        ("instruments:\n  - {symbol: AAPL}", "instruments[0]", "missing key 'price'"),
        ("instruments:\n  - {symbol: AAPL, price: 10}\n  - {symbol: B, price: abc}", "instruments[1].price", "positive price"),
        ("instruments:\n  - {symbol: AAPL, price: 10.00001}", "instruments[0].price", "at most 4 decimals"),
        ("instruments:\n  - {symbol: AAPL, price: -5}", "instruments[0].price", "positive price"),
        ("instruments:\n  - {symbol: AAPL, price: 10.005}", "instruments[0].price", "not a multiple of the tick"),
        ("instruments:\n  - {symbol: AAPL, price: 10}\n  - {symbol: AAPL, price: 20}", "instruments[1].symbol", "already listed"),
        ("instruments:\n  - {symbol: TOOLONGSYM, price: 10}", "instruments[0].symbol", "1 to 8"),
        ("instruments:\n  - {symbol: AAPL, price: 10, band: 150%}", "instruments[0].band", "at most 100"),
        ("instruments:\n  - {symbol: AAPL, price: 10, lot: 0}", "instruments[0].lot", "integer in 1...1000000"),
        ("instruments:\n  - {symbol: AAPL, price: 10, colour: red}", "instruments[0].colour", "unknown key"),
        ("generator: {intensity: -1}", "generator.intensity", "above 0"),
        ("generator: {intensity: lots}", "generator.intensity", "above 0"),
        ("generator: {seed: x}", "generator.seed", "integer"),
        ("mold: {line_a: 10.0.0.1:30001}", "mold.line_a", "not a multicast group"),
        ("mold: {line_b: 239.1.1.1}", "mold.line_b", "ADDRESS:PORT"),
        ("mold: {line_a: 239.1.1.1:5000, line_b: 239.1.1.1:5000}", "mold.line_b", "same group"),
        ("mold: {retransmit_port: 70000}", "mold.retransmit_port", "0...65535"),
        ("mold: {session: ABCDEFGHIJK}", "mold.session", "1 to 10"),
        ("ouch: {port: http}", "ouch.port", "integer"),
        ("ouch: {port: 9000}\nfix: {port: 9000}", "fix.port", "same port"),
        ("fix: {sender_comp_id: ''}", "fix.sender_comp_id", "printable"),
        ("fix: [1, 2]", "fix", "expected a mapping"),
        ("fix: {host: localhost}", "fix.host", "dotted IPv4"),
        ("ouch: {host: 1.2.3}", "ouch.host", "dotted IPv4"),
        ("cancel_on_disconnect: maybe", "cancel_on_disconnect", "true or false"),
        ("instruments: [\n", "(file)", "not valid YAML"),
        // D15: a second block silently replaced the first; a ladder of 858 M levels took 10 GB.
        ("fix: {port: 1}\nfix: {store: /x}", "fix", "given twice"),
        ("instruments:\n  - {symbol: AAPL, price: 10, price: 20}", "instruments[0].price", "given twice"),
        ("instruments:\n  - {symbol: AAPL, price: 429496.7295, tick: 0.0001}", "instruments[0].tick", "price levels"),
        ("limits: {ladder_levels: 100}\ninstruments:\n  - {symbol: AAPL, price: 200}", "instruments[0].tick", "more than limits.ladder_levels (100)"),
        ("limits: {connections: 0}", "limits.connections", "integer in 1...65536"),
        ("limits: {sockets: 3}", "limits.sockets", "unknown key"),
        ("instruments:\n  - {symbol: AAPL, price: 10, max_shares: 0}", "instruments[0].max_shares", "integer in 1..."),
        ("instruments:\n  - {symbol: AAPL, price: 10, max_value: -3}", "instruments[0].max_value", "positive amount"),
    ])
    func badConfigIsRejected(_ yaml: String, _ key: String, _ problem: String) {
        do {
            _ = try SimConfig(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.description.contains(problem), "\(error)")
            #expect(error.description.hasPrefix("config \(key):"))
        }
    }

    @Test func errorsNameTheLine() {
        do {
            _ = try SimConfig(yaml: "ouch:\n  port: 1\ngenerator:\n  seed: nope\n")
            Issue.record("accepted")
        } catch {
            #expect(error.key == "generator.seed")
            #expect(error.line == 4)
            #expect(error.description.hasSuffix("(line 4)"))
        }
    }

    @Test func unreadableFileIsNamed() {
        do {
            _ = try SimConfig(contentsOf: "/nonexistent/venue.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.key == "(file)" && error.description.contains("/nonexistent/venue.yaml"))
        }
    }
}
